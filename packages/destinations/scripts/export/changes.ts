/**
 * What a user of the catalog entry sees change: every difference between today's published
 * catalog payload and ours, property by property (labels, descriptions, defaults, formats,
 * hidden actions, presets…), as lines for the PR description.
 */
import { isDeepStrictEqual } from 'node:util'
import { isRecord } from '../../src/destinations/ortto/client/json'
import type { CatalogMetadata, FieldMetadata } from './catalog-metadata'
import { code, value } from './markdown'

export interface UserChange {
  /** What changed, e.g. "`trackActivity` › field `ip`". */
  where: string
  change: string
}

type Record_ = Record<string, unknown>

const union = (a: string[], b: string[]) => [...a, ...b.filter((key) => !a.includes(key))]

function propertyChanges(where: string, before: Record_, after: Record_, skip: string[] = []): UserChange[] {
  return union(Object.keys(before), Object.keys(after))
    .filter((property) => !skip.includes(property) && !isDeepStrictEqual(before[property], after[property]))
    .map((property) => ({ where, change: `${property}: ${value(before[property])} → ${value(after[property])}` }))
}

/** Differences at the leaves of two JSON values, named by their dotted path. */
function leafChanges(where: string, before: unknown, after: unknown, at: string[] = []): UserChange[] {
  if (isRecord(before) && isRecord(after)) {
    return union(Object.keys(before), Object.keys(after)).flatMap((key) =>
      leafChanges(where, before[key], after[key], [...at, key])
    )
  }
  if (isDeepStrictEqual(before ?? null, after ?? null)) return []
  return [{ where, change: `${at.join('.') || 'value'}: ${value(before)} → ${value(after)}` }]
}

function keyedChanges(
  where: (key: string) => string,
  noun: string,
  before: Record<string, FieldMetadata>,
  after: Record<string, FieldMetadata>
): UserChange[] {
  return union(Object.keys(before), Object.keys(after)).flatMap((key) => {
    if (!after[key]) return [{ where: where(key), change: `${noun} removed` }]
    if (!before[key]) {
      const required =
        after[key].required === true ? ', required' : after[key].required ? ', conditionally required' : ''
      return [{ where: where(key), change: `new ${noun} ${value(after[key].label)}${required}` }]
    }
    return propertyChanges(where(key), before[key], after[key])
  })
}

export function userChanges(today: CatalogMetadata, proposed: CatalogMetadata): UserChange[] {
  const changes: UserChange[] = []
  const top = (metadata: CatalogMetadata): Record_ => ({
    name: metadata.name,
    slug: metadata.slug,
    mode: metadata.mode,
    description: metadata.description ?? undefined
  })
  changes.push(...propertyChanges('destination', top(today), top(proposed)))
  changes.push(
    ...keyedChanges(
      (key) => `setting ${code(key)}`,
      'setting',
      today.authentication?.fields ?? {},
      proposed.authentication?.fields ?? {}
    )
  )
  changes.push(...leafChanges('audience config', today.audienceConfig ?? null, proposed.audienceConfig ?? null))

  for (const key of union(Object.keys(today.actions), Object.keys(proposed.actions))) {
    const [before, after] = [today.actions[key], proposed.actions[key]]
    const where = `action ${code(key)}`
    if (!after) {
      changes.push({ where, change: `removed (was ${value(before.title)})` })
      continue
    }
    if (!before) {
      const shown = after.hidden ? 'hidden (not offered for new mappings)' : 'offered for new mappings'
      changes.push({ where, change: `new action ${value(after.title)}, ${shown}` })
      continue
    }
    changes.push(...propertyChanges(where, before, after, ['fields', 'hooks']))
    changes.push(...leafChanges(`${where} hooks`, before.hooks ?? null, after.hooks ?? null))
    changes.push(
      ...keyedChanges((field) => `${code(key)} › field ${code(field)}`, 'field', before.fields, after.fields)
    )
  }

  for (const name of union(
    today.presets.map((preset) => preset.name),
    proposed.presets.map((preset) => preset.name)
  )) {
    const before = today.presets.find((preset) => preset.name === name)
    const after = proposed.presets.find((preset) => preset.name === name)
    const where = `preset ${code(name)}`
    if (!after) changes.push({ where, change: 'removed' })
    else if (!before) changes.push({ where, change: `new, creating a ${code(after.partnerAction ?? '?')} mapping` })
    else changes.push(...propertyChanges(where, before, after))
  }
  return changes
}
