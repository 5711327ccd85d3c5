/**
 * Produces every file derived from the destination definition:
 *   - `generated-types.ts` for the settings, each action's payload and the shared hook;
 *   - `src/destinations/ortto/metadata.json`, the catalog payload Segment's tooling reads;
 *   - the field tables in README.md (between the `generated:` markers).
 *
 * `node dist/scripts/generate.js` writes them; `--check` writes nothing and exits 1 when any
 * is stale, which `npm test` runs. It runs as plain node (not under jest) because
 * json-schema-to-typescript loads Prettier 3 with a dynamic import jest's VM cannot do.
 */
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fieldsToJsonSchema, type InputField } from '@segment/actions-core'
import { compile, type JSONSchema } from 'json-schema-to-typescript'
import * as prettier from 'prettier'
import destination from '../src/destinations/ortto'
import { associateAudienceHook } from '../src/destinations/ortto/hooks/associate-audience'
import { catalogMetadata } from './metadata'
import { readmeTables } from './readme-tables'

const ROOT = path.resolve(__dirname, '..', '..')
const DESTINATION_DIR = path.join(ROOT, 'src/destinations/ortto')
const BANNER = '// Generated file. DO NOT MODIFY IT BY HAND.'
const README = path.join(ROOT, 'README.md')

/**
 * Like the upstream CLI: titles and enums are dropped before compiling, or every field would
 * become an exported type alias of its own.
 */
function stripTitlesAndEnums(schema: JSONSchema): JSONSchema {
  if (Array.isArray(schema)) return schema.map(stripTitlesAndEnums)
  if (typeof schema !== 'object' || schema === null) return schema
  const result: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'title' || key === 'enum') continue
    result[key] = typeof value === 'object' && value !== null ? stripTitlesAndEnums(value as JSONSchema) : value
  }
  return result
}

async function interfaceFor(name: string, fields: Record<string, InputField>): Promise<string> {
  const schema = stripTitlesAndEnums(fieldsToJsonSchema(fields, { tsType: true }))
  return compile(schema, name, { bannerComment: '', format: false })
}

async function typesFile(interfaces: Array<[string, Record<string, InputField>]>): Promise<string> {
  const compiled = await Promise.all(interfaces.map(([name, fields]) => interfaceFor(name, fields)))
  return `${BANNER}\n\n${compiled.join('\n')}`
}

/** Hook outputs are declared as `outputTypes`; they compile like input fields. */
function outputFields(): Record<string, InputField> {
  const fields: Record<string, InputField> = {}
  for (const [key, output] of Object.entries(associateAudienceHook.outputTypes ?? {})) {
    fields[key] = { ...output, type: output.type as InputField['type'] }
  }
  return fields
}

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
  const files = new Map<string, string>()
  const auth = destination.authentication?.fields ?? {}
  files.set(
    path.join(DESTINATION_DIR, 'generated-types.ts'),
    await typesFile([['Settings', auth as Record<string, InputField>]])
  )
  for (const [slug, action] of Object.entries(destination.actions)) {
    files.set(path.join(DESTINATION_DIR, slug, 'generated-types.ts'), await typesFile([['Payload', action.fields]]))
  }
  files.set(
    path.join(DESTINATION_DIR, 'hooks', 'generated-types.ts'),
    await typesFile([
      ['OnMappingSaveInputs', (associateAudienceHook.inputFields ?? {}) as Record<string, InputField>],
      ['OnMappingSaveOutputs', outputFields()]
    ])
  )
  files.set(path.join(DESTINATION_DIR, 'metadata.json'), JSON.stringify(catalogMetadata(destination), null, 2))
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
