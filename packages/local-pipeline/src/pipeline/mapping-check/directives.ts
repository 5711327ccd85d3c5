/**
 * Directives (`@path`, `@template`, `@if`…) are checked by actions-core's own mapping validation,
 * the one its `transform` runs before every event: a mapping it refuses would fail each event at
 * delivery. Its errors carry their place in the message (`/@if/then has an invalid directive:
 * @tempat.`); they are read back into a path and a message here.
 */
import validateMapping from '@segment/actions-core/mapping-kit/validate'
import { messageOf } from '../error-message'
import { didYouMean } from './nearest'

interface DirectiveProblem {
  /** The keys inside the field's value, down to the offending one. */
  path: string[]
  message: string
}

/**
 * The directives actions-core documents. The installed version decides which of them exist
 * (KNOWN_DIRECTIVES asks it); these names only serve to suggest one for a misspelt directive.
 */
const DOCUMENTED_DIRECTIVES = [
  '@path',
  '@template',
  '@if',
  '@case',
  '@replace',
  '@arrayPath',
  '@json',
  '@flatten',
  '@merge',
  '@transform',
  '@literal',
  '@excludeWhenNull',
  '@liquid'
]

/** The messages of an error of validate: one, or each of an aggregate (iterable). */
function messagesOf(error: unknown): string[] {
  if (error !== null && typeof error === 'object' && Symbol.iterator in error) {
    return [...(error as Iterable<unknown>)].flatMap(messagesOf)
  }
  return [messageOf(error)]
}

const UNKNOWN_DIRECTIVE = /^has an invalid directive: (.+)$/

/** Whether the installed actions-core knows `name` as a directive. */
function knows(name: string): boolean {
  try {
    validateMapping({ [name]: null })
    return true
  } catch (error) {
    return !messagesOf(error).some((message) => message.includes('has an invalid directive'))
  }
}

export const KNOWN_DIRECTIVES: readonly string[] = DOCUMENTED_DIRECTIVES.filter(knows)

/** Reads `/a/b should be a string but it is a number.` as its path and its message. */
function problemOf(message: string): DirectiveProblem {
  const match = /^\/(.*?) ((?:should|shouldn't|has) .*?)\.?$/s.exec(message)
  if (!match) return { path: [], message }
  const path = match[1] === '' ? [] : match[1].split('/')
  const unknown = UNKNOWN_DIRECTIVE.exec(match[2])
  if (unknown) {
    const name = unknown[1]
    const hint = didYouMean(name, KNOWN_DIRECTIVES, `: use one of ${KNOWN_DIRECTIVES.join(', ')}`)
    return { path, message: `unknown directive ${name}${hint}` }
  }
  const mixed = match[2].startsWith('should only have one @-prefixed key')
  return { path, message: mixed ? `${match[2]}: a directive object holds its @-key alone` : match[2] }
}

/** What actions-core's mapping validation finds wrong with one field's value (nothing for a plain value). */
export function directiveProblems(value: unknown): DirectiveProblem[] {
  try {
    validateMapping(value)
    return []
  } catch (error) {
    return messagesOf(error).map(problemOf)
  }
}

/** Whether `value` is a directive object (one with an @-key), as actions-core tells them apart. */
export const isDirectiveObject = (value: unknown): boolean =>
  value !== null &&
  typeof value === 'object' &&
  !Array.isArray(value) &&
  Object.keys(value).some((key) => key.startsWith('@'))

/** Whether `value` holds a directive anywhere: its result is known only once an event is mapped. */
export function holdsDirective(value: unknown): boolean {
  if (isDirectiveObject(value)) return true
  return value !== null && typeof value === 'object' && Object.values(value).some(holdsDirective)
}
