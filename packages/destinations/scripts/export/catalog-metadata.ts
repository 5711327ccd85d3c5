/**
 * The parts of a catalog metadata payload (what `generate:metadata-payload` writes and Segment
 * publishes) that the export compares, and the reading of such a file.
 */
import { readFileSync } from 'node:fs'
import { isRecord } from '../../src/destinations/ortto/client/json'
import { ExportRefusal } from './refusal'

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** `true`, `false`, or the `{conditions: [...]}` of a conditionally required field. */
export type Required = boolean | { conditions?: Json[] }

export interface FieldMetadata {
  label?: string
  description?: string
  type?: string
  required?: Required
  default?: Json
  [property: string]: unknown
}

export interface ActionMetadata {
  title?: string
  description?: string
  hidden?: boolean
  defaultSubscription?: string | null
  hooks?: Json
  fields: Record<string, FieldMetadata>
  [property: string]: unknown
}

export interface PresetMetadata {
  name: string
  partnerAction?: string
  subscribe?: string | null
  mapping?: Json
  [property: string]: unknown
}

export interface CatalogMetadata {
  slug?: string
  mode?: string
  name?: string
  description?: string | null
  authentication?: { scheme?: string; fields?: Record<string, FieldMetadata> } | null
  audienceConfig?: { audienceFields?: Record<string, FieldMetadata>; [property: string]: unknown } | null
  actions: Record<string, ActionMetadata>
  presets: PresetMetadata[]
}

/** Reads a catalog metadata file, refusing anything without the shape the comparison relies on. */
export function readCatalogMetadata(file: string): CatalogMetadata {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (error) {
    throw new ExportRefusal(
      `Cannot read the catalog metadata ${file}: ${error instanceof Error ? error.message : String(error)}.`,
      'Pass --catalog with a metadata.json as generate:metadata-payload writes it.'
    )
  }
  const actions = isRecord(parsed) ? parsed.actions : undefined
  const wellFormed =
    isRecord(parsed) &&
    isRecord(actions) &&
    Object.values(actions).every((action) => isRecord(action) && isRecord(action.fields)) &&
    Array.isArray(parsed.presets)
  if (!wellFormed) {
    throw new ExportRefusal(
      `${file} is not a catalog metadata payload: it needs an "actions" object whose actions have "fields", and a "presets" list.`,
      'Pass --catalog with a metadata.json as generate:metadata-payload writes it.'
    )
  }
  return parsed as CatalogMetadata
}
