/**
 * Produces every file derived from the destination definitions (Ortto (Actions) and Ortto (Audiences)):
 *   - the `generated-types.ts` files and `metadata.json` Segment's CLI writes (generated-files.ts);
 *   - the field tables (FIELD_TABLES_FILE: docs/fields.md), between the `generated:` markers.
 *
 * `node dist/scripts/generate.js` (in this package) writes them; `--check` writes nothing and exits 1 when any
 * is stale, which `npm test` runs. It runs as plain node (not under jest) because
 * json-schema-to-typescript loads Prettier 3 with a dynamic import jest's VM cannot do.
 */
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import * as prettier from 'prettier'
import type { DestinationDefinition } from '@segment/actions-core'
import ortto from '../src/destinations/ortto'
import orttoAudiences from '../src/destinations/ortto-audiences'
import { generatedFiles } from './generated-files'
import { fieldTables } from './field-tables'

/** This package (the script runs from dist/scripts/), and the repository it sits in. */
const PACKAGE_ROOT = path.resolve(__dirname, '..', '..')
const REPOSITORY = path.resolve(PACKAGE_ROOT, '..', '..')
/** The file the field tables are written into, between their markers: moving them is this line. */
const FIELD_TABLES_FILE = path.join(REPOSITORY, 'docs', 'fields.md')

/** Each destination: its folder, and the markers its tables go between. */
const DESTINATIONS: Array<{ definition: DestinationDefinition<unknown>; folder: string; marker: string }> = [
  { definition: ortto as DestinationDefinition<unknown>, folder: 'ortto', marker: 'fields' },
  {
    definition: orttoAudiences as DestinationDefinition<unknown>,
    folder: 'ortto-audiences',
    marker: 'audiences-fields'
  }
]

const markStart = (marker: string) => `<!-- generated:${marker} start (npm run generate) -->`
const markEnd = (marker: string) => `<!-- generated:${marker} end -->`

function withTables(page: string, marker: string, tables: string): string {
  const [startMark, endMark] = [markStart(marker), markEnd(marker)]
  const start = page.indexOf(startMark)
  const end = page.indexOf(endMark)
  if (start < 0 || end < start) {
    const where = path.relative(REPOSITORY, FIELD_TABLES_FILE)
    throw new Error(`${where} must contain the markers\n${startMark}\n${endMark}\nwhere the field tables go.`)
  }
  return `${page.slice(0, start + startMark.length)}\n\n${tables}\n${page.slice(end)}`
}

async function expectedFiles(): Promise<Map<string, string>> {
  const files = new Map<string, string>()
  let page = await readFile(FIELD_TABLES_FILE, 'utf8')
  for (const { definition, folder, marker } of DESTINATIONS) {
    const dir = path.join(PACKAGE_ROOT, 'src/destinations', folder)
    for (const [file, text] of await generatedFiles(definition, dir)) files.set(file, text)
    page = withTables(page, marker, fieldTables(definition))
  }
  files.set(FIELD_TABLES_FILE, page)

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
    stale.push(path.relative(REPOSITORY, file))
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
