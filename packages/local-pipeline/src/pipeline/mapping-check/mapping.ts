/**
 * The checks of one subscription's `mapping` against its action, as Segment's mapping editor makes
 * them when a mapping is saved: every key a field (or the action's hook), every directive one
 * actions-core knows, every plain value of its field's type, the batch settings in range, and
 * every required field mapped once the file's mapping is laid over the action's defaults.
 */
import { defaultValues } from '@segment/actions-core'
import type { ActionDefinition, InputField } from '@segment/actions-core'
import { MAX_OBJECTS_PER_REQUEST } from 'actions-ortto'
import { isRecord } from '../json'
import { directiveProblems, holdsDirective } from './directives'
import { describeValue, literalProblems } from './literals'
import { didYouMean } from './nearest'
import { quoted } from './problems'

interface FieldProblem {
  /** From the entry: `mapping`, the field's key, then keys inside its value. */
  path: string[]
  field: string
  message: string
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any action of any destination
type AnyAction = ActionDefinition<any, any, any, any, any>
type Fields = Record<string, InputField>

/** Batch sizes Ortto takes when a field sets no bounds: at most 500 objects per request. */
const BATCH_SIZE_RANGE = { minimum: 1, maximum: MAX_OBJECTS_PER_REQUEST }

/** Problems of a value given for a field: its directives (actions-core's check), else its plain parts. */
function fieldValueProblems(key: string, field: InputField, value: unknown): FieldProblem[] {
  const at = (path: string[], message: string): FieldProblem => ({
    path: ['mapping', key, ...path],
    field: key,
    message
  })
  const directives = directiveProblems(value)
  if (directives.length > 0) return directives.map((problem) => at(problem.path, problem.message))
  // batch_size has its own range (Ortto's limit when the field sets none), its type included.
  if (key === 'batch_size') return batchSizeProblems(field, value)
  return literalProblems(field, value).map((problem) => at(problem.path, problem.message))
}

/** `batch_size`: a whole number within the field's bounds, or 1..500 when it sets none. */
function batchSizeProblems(field: InputField, value: unknown): FieldProblem[] {
  if (holdsDirective(value) || value === null || value === '') return []
  const minimum = field.minimum ?? BATCH_SIZE_RANGE.minimum
  const maximum = field.maximum ?? BATCH_SIZE_RANGE.maximum
  if (Number.isInteger(value) && (value as number) >= minimum && (value as number) <= maximum) return []
  const why = field.maximum === undefined ? ` (Ortto takes at most ${MAX_OBJECTS_PER_REQUEST} objects per request)` : ''
  const message = `must be a whole number from ${minimum} to ${maximum}${why}, not ${describeValue(value)}`
  return [{ path: ['mapping', 'batch_size'], field: 'batch_size', message }]
}

/** `onMappingSave: {inputs, outputs}`: the hook's input fields and output types, with plain values. */
function hookProblems(action: AnyAction, hookName: string, value: unknown): FieldProblem[] {
  const hook = (action.hooks as Record<string, { inputFields?: Fields; outputTypes?: Fields } | undefined>)[hookName]
  const at = (path: string[], message: string): FieldProblem => ({
    path: ['mapping', hookName, ...path],
    field: hookName,
    message
  })
  if (!isRecord(value)) return [at([], `must be an object, {"inputs": {…}}, not ${describeValue(value)}`)]
  return Object.entries(value).flatMap(([part, given]) => {
    const fields = part === 'inputs' ? hook?.inputFields : part === 'outputs' ? hook?.outputTypes : undefined
    if (!fields)
      return [at([part], `unknown key${didYouMean(part, ['inputs', 'outputs'])}: ${hookName} takes inputs and outputs`)]
    if (!isRecord(given)) return [at([part], `must be an object, not ${describeValue(given)}`)]
    const missing = Object.entries(fields)
      .filter(([key, field]) => field.required === true && (given[key] === undefined || given[key] === null))
      .map(([key]) => at([part, key], `is required by the ${hookName} hook: give it a value`))
    const keys = Object.entries(given).flatMap(([key, item]) => {
      if (!Object.prototype.hasOwnProperty.call(fields, key)) {
        const known = Object.keys(fields).join(', ')
        return [
          at([part, key], `not one of the hook's ${part}${didYouMean(key, Object.keys(fields))}: it takes ${known}`)
        ]
      }
      if (holdsDirective(item))
        return [at([part, key], 'hook values are plain values, not directives: write the value itself')]
      return literalProblems(fields[key], item).map((problem) => at([part, key, ...problem.path], problem.message))
    })
    return [...missing, ...keys]
  })
}

/** Whether a field is certainly absent from every payload: not mapped, or mapped to null or "". */
const certainlyAbsent = (value: unknown) => value === undefined || value === null || value === ''

/** Whether a `required: {conditions}` is met for every event, as far as plain values tell. */
function certainlyRequired(required: InputField['required'], mapping: Record<string, unknown>): boolean {
  if (required === true) return true
  if (!required || typeof required !== 'object') return false
  // As actions-core's schema reads a condition; one it cannot be sure of (a directive, a key inside an object) is not met.
  const known = required.conditions.map((condition) => {
    if (condition.type === 'syncMode' || !('fieldKey' in condition) || condition.fieldKey.includes('.')) return false
    const value = mapping[condition.fieldKey]
    if (holdsDirective(value)) return false
    if (condition.value === undefined) return certainlyAbsent(value) === (condition.operator === 'is')
    // A condition on a value holds only when the field is there.
    if (certainlyAbsent(value)) return false
    const values: unknown[] = Array.isArray(condition.value) ? condition.value : [condition.value]
    return values.includes(value) === (condition.operator === 'is')
  })
  return required.match === 'any' ? known.some(Boolean) : known.every(Boolean)
}

/** Required fields left out of every event once the mapping is laid over the defaults. */
function requiredProblems(fields: Fields, merged: Record<string, unknown>): FieldProblem[] {
  return Object.entries(fields)
    .filter(([key, field]) => certainlyAbsent(merged[key]) && certainlyRequired(field.required, merged))
    .map(([key, field]) => {
      const when = field.required === true ? '' : ` when ${describeConditions(field.required)}`
      const value = merged[key]
      if (value === undefined) return { path: ['mapping', key], field: key, message: `is required${when}: map it` }
      const fix =
        field.default === undefined ? 'map it' : `remove it to use its default, ${JSON.stringify(field.default)}`
      const message = `is required${when}, and ${quoted(value)} leaves it out of every event: ${fix}`
      return { path: ['mapping', key], field: key, message }
    })
}

function describeConditions(required: InputField['required']): string {
  if (!required || typeof required !== 'object') return ''
  return required.conditions
    .map((condition) => {
      const key = 'fieldKey' in condition ? condition.fieldKey : 'the sync mode'
      if (condition.value === undefined) return `${key} ${condition.operator === 'is' ? 'is' : 'is not'} left out`
      return `${key} ${condition.operator === 'is' ? 'is' : 'is not'} ${JSON.stringify(condition.value)}`
    })
    .join(required.match === 'any' ? ' or ' : ' and ')
}

/** Every problem of a subscription's `mapping` for action `actionKey`. */
export function mappingProblems(
  actionKey: string,
  action: AnyAction,
  mapping: Record<string, unknown>
): FieldProblem[] {
  const fields = action.fields as Fields
  const hooks = Object.keys(action.hooks ?? {})
  const keyProblems = Object.entries(mapping).flatMap(([key, value]): FieldProblem[] => {
    if (hooks.includes(key)) return hookProblems(action, key, value)
    if (!Object.prototype.hasOwnProperty.call(fields, key)) {
      const hint = didYouMean(
        key,
        [...Object.keys(fields), ...hooks],
        `: its fields are ${Object.keys(fields).join(', ')}`
      )
      const noHook = key === 'onMappingSave' ? `: ${actionKey} has no onMappingSave hook; remove it` : hint
      return [{ path: ['mapping', key], field: key, message: `not a field of ${actionKey}${noHook}` }]
    }
    return fieldValueProblems(key, fields[key], value)
  })
  return [...keyProblems, ...requiredProblems(fields, { ...defaultValues(fields), ...mapping })]
}
