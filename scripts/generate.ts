/**
 * Produces every file derived from the destination definition:
 *   - the `generated-types.ts` files and `metadata.json` Segment's CLI writes (generated-files.ts);
 *   - the field tables in README.md (between the `generated:` markers).
 *
 * `node dist/scripts/generate.js` writes them; `--check` writes nothing and exits 1 when any
 * is stale, which `npm test` runs. It runs as plain node (not under jest) because
 * json-schema-to-typescript loads Prettier 3 with a dynamic import jest's VM cannot do.
 */
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import * as prettier from 'prettier'
import destination from '../src/destinations/ortto'
import { generatedFiles } from './generated-files'
import { readmeTables } from './readme-tables'

const ROOT = path.resolve(__dirname, '..', '..')
const DESTINATION_DIR = path.join(ROOT, 'src/destinations/ortto')
const README = path.join(ROOT, 'README.md')

const MARK_START = '<!-- generated:fields start (npm run generate) -->'
const MARK_END = '<!-- generated:fields end -->'

async function readmeWithTables(): Promise<string> {
  const current = await readFile(README, 'utf8')
  const start = current.indexOf(MARK_START)
  const end = current.indexOf(MARK_END)
  if (start < 0 || end < start) {
    throw new Error(`README.md must contain the markers\n${MARK_START}\n${MARK_END}\nwhere the field tables go.`)
  }
  return `${current.slice(0, start + MARK_START.length)}\n\n${readmeTables(destination)}\n${current.slice(end)}`
}

async function expectedFiles(): Promise<Map<string, string>> {
  const files = await generatedFiles(destination, DESTINATION_DIR)
  files.set(README, await readmeWithTables())

  // Formatted with the repository's own Prettier settings, so `prettier --check` agrees.
  for (const [file, text] of files) {
    const options = (await prettier.resolveConfig(file)) ?? {}
    files.set(file, await prettier.format(text, { ...options, filepath: file }))
  }
  return files
}

async function readOrEmpty(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch {
    return ''
  }
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check')
  const stale: string[] = []
  for (const [file, text] of await expectedFiles()) {
    if ((await readOrEmpty(file)) === text) continue
    stale.push(path.relative(ROOT, file))
    if (!check) await writeFile(file, text)
  }
  if (check && stale.length > 0) {
    console.error(`Generated files are stale: ${stale.join(', ')}.\nRun \`npm run generate\` and commit the result.`)
    process.exit(1)
  }
  console.log(
    check ? 'Generated files are up to date.' : stale.length ? `Wrote ${stale.join(', ')}.` : 'Nothing to update.'
  )
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
