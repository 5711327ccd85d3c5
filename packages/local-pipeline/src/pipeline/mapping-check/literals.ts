/**
 * Plain values in a mapping (no directive) are known before any event: each must have its field's
 * type. actions-core's payload validation would coerce some (`"100"` for a number, `"true"` for a
 * boolean) and drop others without a word (an unknown key of an object with declared properties),
 * so types are checked strictly here; formats (`date-time`, a `datetime` field's dates) are left
 * to actions-core's own validator, the one delivery uses.
 */
import { fieldsToJsonSchema, validateSchema } from '@segment/actions-core'
import type { InputField } from '@segment/actions-core'
import { isDirectiveObject } from './directives'
import { didYouMean } from './nearest'
import { quoted } from './problems'

/** An action's field, a property of an object field, or a hook's input. */
type FieldDefinition = Pick<
  InputField,
  'type' | 'multiple' | 'choices' | 'format' | 'properties' | 'additionalProperties' | 'minimum' | 'maximum'
> &
  Partial<Pick<InputField, 'label'>>

interface LiteralProblem {
  /** Keys inside the field's value, down to the offending one. */
  path: string[]
  message: string
}

/** `the string "yes"`, `the number 3`, `an array`: what a value is, for a message. */
export function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'an array'
  if (value === null) return 'null'
  if (typeof value === 'object') return 'an object'
  return `the ${typeof value} ${quoted(value)}`
}

const TYPE_WORDS: Record<InputField['type'], string> = {
  string: 'a string',
  text: 'a string',
  password: 'a string',
  number: 'a number',
  integer: 'a whole number',
  datetime: 'a date and time (a string such as "2024-05-01T12:00:00Z", or a number of seconds)',
  boolean: 'true or false',
  object: 'an object'
}

function hasType(type: InputField['type'], value: unknown): boolean {
  switch (type) {
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
    case 'integer':
      return Number.isInteger(value)
    case 'boolean':
      return typeof value === 'boolean'
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value)
    case 'datetime':
      return typeof value === 'string' || typeof value === 'number'
    default:
      return typeof value === 'string'
  }
}

/** Whether actions-core's validator takes `value` in the field's format (`date-time`, `email`…, or `datetime`'s dates). */
function hasFormat(field: FieldDefinition, value: unknown): boolean {
  if (typeof value !== 'string' || (field.format === undefined && field.type !== 'datetime')) return true
  const schema = fieldsToJsonSchema({
    value: { label: 'value', description: '', type: field.type, format: field.format }
  })
  return validateSchema({ value }, schema, { throwIfInvalid: false })
}

const choiceValues = (field: FieldDefinition) =>
  (field.choices ?? []).map((choice) => (typeof choice === 'string' ? choice : choice.value))

/** Null or "" leave a field out of the payload (actions-core removes them): never a wrong type. */
const leavesOut = (value: unknown) => value === null || value === ''

/** A field's `minimum` and `maximum`: of a number, or, as actions-core reads them, of a string's length. */
function boundsProblem({ minimum, maximum }: FieldDefinition, value: unknown): string | undefined {
  const size = typeof value === 'string' ? value.length : typeof value === 'number' ? value : undefined
  if (size === undefined) return undefined
  const unit = typeof value === 'string' ? ' characters' : ''
  if (minimum !== undefined && size < minimum) return `must be at least ${minimum}${unit}, not ${size}`
  if (maximum !== undefined && size > maximum) return `must be at most ${maximum}${unit}, not ${size}`
  return undefined
}

/** Problems of one item of a field (each item, for a `multiple` field). */
function itemProblems(field: FieldDefinition, value: unknown, path: string[]): LiteralProblem[] {
  if (leavesOut(value) || isDirectiveObject(value)) return []
  if (!hasType(field.type, value)) {
    return [{ path, message: `must be ${TYPE_WORDS[field.type]}, not ${describeValue(value)}` }]
  }
  const choices = choiceValues(field)
  if (choices.length > 0 && !choices.includes(value as string | number)) {
    const shown = choices.map((choice) => JSON.stringify(choice)).join(', ')
    const hint = typeof value === 'string' ? didYouMean(value, choices.map(String)) : ''
    return [{ path, message: `must be one of ${shown}, not ${quoted(value)}${hint}` }]
  }
  if (!hasFormat(field, value)) {
    const format = field.type === 'datetime' ? 'date and time' : field.format
    return [{ path, message: `${quoted(value)} is not a valid ${format}: write one, or map it with @path` }]
  }
  const bounds = boundsProblem(field, value)
  if (bounds) return [{ path, message: bounds }]
  return field.type === 'object' && field.properties ? propertyProblems(field, value as object, path) : []
}

/** The keys of an object with declared properties: each known, each of its property's type. */
function propertyProblems(field: FieldDefinition, value: object, path: string[]): LiteralProblem[] {
  const properties = field.properties ?? {}
  const known = Object.keys(properties)
  return Object.entries(value).flatMap(([key, item]) => {
    if (Object.prototype.hasOwnProperty.call(properties, key))
      return literalProblems(properties[key], item, [...path, key])
    if (field.additionalProperties) return []
    const hint = didYouMean(key, known, '')
    return [
      {
        path: [...path, key],
        message: `unknown key${hint}: ${field.label ?? 'this field'} takes ${known.join(', ')}, and drops any other key`
      }
    ]
  })
}

/**
 * What is wrong with a field's value, as far as it is known before an event: a directive is
 * known only once mapped; plain values, and the plain parts of an object, must fit the field.
 */
export function literalProblems(field: FieldDefinition, value: unknown, path: string[] = []): LiteralProblem[] {
  if (field.multiple && Array.isArray(value))
    return value.flatMap((item, i) => itemProblems(field, item, [...path, String(i)]))
  return itemProblems(field, value, path)
}
