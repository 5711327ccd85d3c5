/**
 * Backward compatibility of our catalog payload against the one Segment publishes today. Saved
 * mappings name an action by key and hold values per field key, so a key that disappears, a
 * field that becomes required or a value that stops validating breaks them; defaults and presets
 * only shape mappings made from now on.
 */
import { isDeepStrictEqual } from 'node:util'
import type { ActionMetadata, CatalogMetadata, FieldMetadata, PresetMetadata, Required } from './catalog-metadata'
import { code, keys, value } from './markdown'

export type Verdict = 'compatible' | 'changed' | 'breaking'

export interface CompatibilityRow {
  check: 'action key' | 'field keys' | 'required fields' | 'defaults' | 'field validation' | 'presets' | 'settings'
  subject: string
  today: string
  proposed: string
  verdict: Verdict
  note: string
}

export interface CompatibilityReport {
  rows: CompatibilityRow[]
  /** The rows that break something already saved, as sentences. */
  breaking: string[]
}

const union = (a: string[], b: string[]) => [...a, ...b.filter((key) => !a.includes(key))]

/** 0: optional, 1: required under conditions, 2: always required. */
function requiredRank(required: Required | undefined): number {
  if (required === true) return 2
  return typeof required === 'object' && required !== null ? 1 : 0
}

function requiredList(fields: Record<string, FieldMetadata>): string {
  const required = Object.entries(fields).filter(([, field]) => requiredRank(field.required) > 0)
  if (!required.length) return 'none'
  return required
    .map(([key, field]) => (requiredRank(field.required) === 1 ? `${code(key)} (conditional)` : code(key)))
    .join(', ')
}

const worst = (verdicts: Verdict[]): Verdict =>
  verdicts.includes('breaking') ? 'breaking' : verdicts.includes('changed') ? 'changed' : 'compatible'

function actionKeyRow(key: string, today?: ActionMetadata, proposed?: ActionMetadata): CompatibilityRow {
  const shown = (action?: ActionMetadata) => (!action ? 'absent' : action.hidden ? 'hidden' : 'offered')
  const row = { check: 'action key' as const, subject: code(key), today: shown(today), proposed: shown(proposed) }
  if (!today) return { ...row, verdict: 'compatible', note: 'new: no mapping is saved under it yet' }
  if (!proposed) return { ...row, verdict: 'breaking', note: 'removed: mappings saved under it stop working' }
  if (!today.hidden && proposed.hidden) {
    return {
      ...row,
      verdict: 'compatible',
      note: 'kept, hidden: saved mappings keep working; new mappings cannot pick it'
    }
  }
  if (today.hidden && !proposed.hidden)
    return { ...row, verdict: 'compatible', note: 'kept, now offered for new mappings' }
  return { ...row, verdict: 'compatible', note: 'kept' }
}

function fieldKeysRow(action: string, today: ActionMetadata, proposed: ActionMetadata): CompatibilityRow {
  const before = Object.keys(today.fields)
  const after = Object.keys(proposed.fields)
  const removed = before.filter((key) => !after.includes(key))
  const added = after.filter((key) => !before.includes(key))
  const notes = [removed.length ? `removed: ${keys(removed)} (saved mappings set them)` : `all ${before.length} kept`]
  if (added.length) notes.push(`added: ${keys(added)}`)
  return {
    check: 'field keys',
    subject: code(action),
    today: `${before.length} keys`,
    proposed: `${after.length} keys`,
    verdict: removed.length ? 'breaking' : added.length ? 'changed' : 'compatible',
    note: notes.join('; ')
  }
}

function requiredRow(action: string, today: ActionMetadata, proposed: ActionMetadata): CompatibilityRow {
  const keysOf = union(Object.keys(today.fields), Object.keys(proposed.fields))
  const stricter: string[] = []
  const looser: string[] = []
  const reworded: string[] = []
  for (const key of keysOf) {
    if (!proposed.fields[key]) continue // a removed field is the field keys row's finding
    const [before, after] = [today.fields[key]?.required, proposed.fields[key].required]
    const [rankBefore, rankAfter] = [requiredRank(before), requiredRank(after)]
    if (rankAfter > rankBefore) stricter.push(key)
    else if (rankAfter < rankBefore) looser.push(key)
    else if (rankAfter === 1 && !isDeepStrictEqual(before, after)) reworded.push(key)
  }
  const notes: string[] = []
  if (stricter.length) notes.push(`newly required: ${keys(stricter)}`)
  if (reworded.length) notes.push(`conditions changed: ${keys(reworded)}`)
  if (looser.length) notes.push(`no longer required: ${keys(looser)}`)
  return {
    check: 'required fields',
    subject: code(action),
    today: requiredList(today.fields),
    proposed: requiredList(proposed.fields),
    verdict: stricter.length ? 'breaking' : reworded.length || looser.length ? 'changed' : 'compatible',
    note: notes.length ? notes.join('; ') : 'no new required field'
  }
}

function defaultsRow(action: string, today: ActionMetadata, proposed: ActionMetadata): CompatibilityRow {
  const changed = Object.keys(today.fields).filter(
    (key) => proposed.fields[key] && !isDeepStrictEqual(today.fields[key].default, proposed.fields[key].default)
  )
  return {
    check: 'defaults',
    subject: code(action),
    today: changed.length ? changed.map((key) => `${code(key)}: ${value(today.fields[key].default)}`).join('; ') : '—',
    proposed: changed.length
      ? changed.map((key) => `${code(key)}: ${value(proposed.fields[key].default)}`).join('; ')
      : '—',
    verdict: changed.length ? 'changed' : 'compatible',
    note: changed.length ? 'new mappings only: saved mappings keep the values they hold' : 'unchanged'
  }
}

/** How a field's accepted values moved: a stricter rule breaks saved mappings, a looser one does not. */
function validationChanges(key: string, before: FieldMetadata, after: FieldMetadata): Array<[Verdict, string]> {
  const found: Array<[Verdict, string]> = []
  const what = (property: string) => `${code(key)} ${property} ${value(before[property])} → ${value(after[property])}`
  if (before.type !== after.type) found.push(['breaking', what('type')])
  if ((before.multiple ?? false) !== (after.multiple ?? false)) found.push(['breaking', what('multiple')])
  if (!isDeepStrictEqual(before.format ?? null, after.format ?? null)) {
    found.push([after.format == null ? 'changed' : 'breaking', what('format')])
  }
  if ((before.allowNull ?? false) !== (after.allowNull ?? false)) {
    found.push([after.allowNull ? 'changed' : 'breaking', what('allowNull')])
  }
  // Choices are `{label, value}` objects or plain values; `undefined` means any value is accepted.
  const choiceValues = (field: FieldMetadata): unknown[] | undefined =>
    Array.isArray(field.choices)
      ? (field.choices as unknown[]).map((choice) =>
          typeof choice === 'object' && choice !== null ? (choice as { value?: unknown }).value : choice
        )
      : undefined
  const [choicesBefore, choicesAfter] = [choiceValues(before), choiceValues(after)]
  if (!isDeepStrictEqual(choicesBefore, choicesAfter)) {
    const accepts = (choices: unknown[], choice: unknown) => choices.some((other) => isDeepStrictEqual(other, choice))
    const narrowed =
      choicesAfter !== undefined &&
      (choicesBefore === undefined || choicesBefore.some((choice) => !accepts(choicesAfter, choice)))
    found.push([narrowed ? 'breaking' : 'changed', what('choices')])
  }
  return found
}

function validationRow(action: string, today: ActionMetadata, proposed: ActionMetadata): CompatibilityRow {
  const found = Object.keys(today.fields)
    .filter((key) => proposed.fields[key])
    .flatMap((key) => validationChanges(key, today.fields[key], proposed.fields[key]))
  const verdict = worst(found.map(([v]) => v))
  return {
    check: 'field validation',
    subject: code(action),
    today: 'type, format, choices, allowNull, multiple',
    proposed: found.length ? `${found.length} changed` : 'unchanged',
    verdict,
    note: found.length
      ? found.map(([v, text]) => `${text} (${v === 'breaking' ? 'stricter' : 'looser'})`).join('; ')
      : 'unchanged'
  }
}

function settingsRow(subject: string, today: Record<string, FieldMetadata>, proposed: Record<string, FieldMetadata>) {
  const removed = Object.keys(today).filter((key) => !proposed[key])
  const added = Object.keys(proposed).filter((key) => !today[key])
  const newlyRequired = Object.keys(proposed).filter(
    (key) => requiredRank(proposed[key].required) > requiredRank(today[key]?.required)
  )
  const otherwise = Object.keys(proposed).filter((key) => today[key] && !isDeepStrictEqual(today[key], proposed[key]))
  const notes: string[] = []
  if (removed.length) notes.push(`removed: ${keys(removed)}`)
  if (newlyRequired.length) notes.push(`newly required: ${keys(newlyRequired)} (saved instances lack a value)`)
  if (added.length) notes.push(`added: ${keys(added)}`)
  if (otherwise.length) notes.push(`label, description or type changed: ${keys(otherwise)}`)
  const row: CompatibilityRow = {
    check: 'settings',
    subject,
    today: `${keys(Object.keys(today))}; required: ${requiredList(today)}`,
    proposed: `${keys(Object.keys(proposed))}; required: ${requiredList(proposed)}`,
    verdict: removed.length || newlyRequired.length ? 'breaking' : notes.length ? 'changed' : 'compatible',
    note: notes.length ? notes.join('; ') : 'unchanged'
  }
  return row
}

const presetText = (preset?: PresetMetadata) =>
  preset
    ? `${code(preset.partnerAction ?? '?')} on ${preset.subscribe ? code(preset.subscribe) : 'no trigger'}`
    : 'absent'

function presetRows(today: CatalogMetadata, proposed: CatalogMetadata): CompatibilityRow[] {
  const names = union(
    today.presets.map((preset) => preset.name),
    proposed.presets.map((preset) => preset.name)
  )
  return names.map((name) => {
    const before = today.presets.find((preset) => preset.name === name)
    const after = proposed.presets.find((preset) => preset.name === name)
    const dangling = after?.partnerAction !== undefined && !proposed.actions[after.partnerAction]
    const differing =
      before && after ? Object.keys({ ...before, ...after }).filter((k) => !isDeepStrictEqual(before[k], after[k])) : []
    const note = dangling
      ? `points at ${code(after.partnerAction ?? '')}, which is no action of the destination`
      : !before
        ? 'new: offered when a destination instance is created'
        : !after
          ? 'removed: instances created from it keep their mappings'
          : differing.length
            ? `${keys(differing)} changed: new destination instances only; existing ones keep their mappings`
            : 'unchanged'
    return {
      check: 'presets' as const,
      subject: code(name),
      today: presetText(before),
      proposed: presetText(after),
      verdict: dangling
        ? ('breaking' as const)
        : differing.length || !before || !after
          ? ('changed' as const)
          : ('compatible' as const),
      note
    }
  })
}

export function compareCompatibility(today: CatalogMetadata, proposed: CatalogMetadata): CompatibilityReport {
  const rows: CompatibilityRow[] = []
  rows.push(settingsRow('settings', today.authentication?.fields ?? {}, proposed.authentication?.fields ?? {}))
  if (today.audienceConfig || proposed.audienceConfig) {
    rows.push(
      settingsRow(
        'audience fields',
        today.audienceConfig?.audienceFields ?? {},
        proposed.audienceConfig?.audienceFields ?? {}
      )
    )
  }
  for (const key of union(Object.keys(today.actions), Object.keys(proposed.actions))) {
    const [before, after] = [today.actions[key], proposed.actions[key]]
    rows.push(actionKeyRow(key, before, after))
    if (!before || !after) continue
    rows.push(
      fieldKeysRow(key, before, after),
      requiredRow(key, before, after),
      defaultsRow(key, before, after),
      validationRow(key, before, after)
    )
  }
  rows.push(...presetRows(today, proposed))
  const breaking = rows
    .filter((row) => row.verdict === 'breaking')
    .map((row) => `${row.check} of ${row.subject}: ${row.note}`)
  return { rows, breaking }
}
