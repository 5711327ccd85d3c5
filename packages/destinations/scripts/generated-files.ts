/**
 * The files Segment's CLI derives from a destination definition, written the way it writes them:
 *   - `generated-types.ts` at the folder's top: `Settings` (and `AudienceSettings` when the
 *     destination has audience fields), as `generate:types` writes it;
 *   - each action's `generated-types.ts`: its `Payload`, then the types of each of its hooks
 *     (`OnMappingSaveInputs`, `OnMappingSaveOutputs`), each block with its own banner;
 *   - `metadata.json`, the catalog payload `generate:metadata-payload` writes.
 * Used by `npm run generate` for our folders and by `npm run check:monorepo` on the copy it lays
 * out, so both compare against the same thing.
 */
import path from 'node:path'
import { fieldsToJsonSchema } from '@segment/actions-core'
import type { DestinationDefinition, InputField } from '@segment/actions-core'
import { compile } from 'json-schema-to-typescript'
import type { JSONSchema } from 'json-schema-to-typescript'
import { catalogMetadata } from './metadata'

const BANNER = '// Generated file. DO NOT MODIFY IT BY HAND.'

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

/** One interface with its banner, as the CLI's generateTypes returns it (ending in a newline). */
async function typesBlock(name: string, fields: Record<string, unknown>): Promise<string> {
  const schema = stripTitlesAndEnums(fieldsToJsonSchema(fields as Record<string, InputField>, { tsType: true }))
  return `${BANNER}\n\n${await compile(schema, name, { bannerComment: '', format: false })}`
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1)

/** Unformatted file texts by absolute path; callers format them with their Prettier settings. */
export async function generatedFiles<S>(
  destination: DestinationDefinition<S>,
  destinationDir: string
): Promise<Map<string, string>> {
  const files = new Map<string, string>()
  let top = await typesBlock('Settings', destination.authentication?.fields ?? {})
  const audienceFields = (destination as { audienceFields?: Record<string, unknown> }).audienceFields
  if (audienceFields) top += await typesBlock('AudienceSettings', audienceFields)
  files.set(path.join(destinationDir, 'generated-types.ts'), top)

  for (const [slug, action] of Object.entries(destination.actions)) {
    let text = await typesBlock('Payload', action.fields)
    for (const [hookName, hook] of Object.entries(action.hooks ?? {})) {
      if (!hook) continue
      if (hook.inputFields) text += await typesBlock(`${capitalized(hookName)}Inputs`, hook.inputFields)
      if (hook.outputTypes) text += await typesBlock(`${capitalized(hookName)}Outputs`, hook.outputTypes)
    }
    files.set(path.join(destinationDir, slug, 'generated-types.ts'), text)
  }

  files.set(path.join(destinationDir, 'metadata.json'), JSON.stringify(catalogMetadata(destination), null, 2))
  return files
}
