/**
 * Checks a mapping file (`ORTTO_MAPPINGS`) as Segment's mapping editor checks a mapping when it is
 * saved, and lists every problem at once. A pure function of the file's text and the destinations:
 * `npm start` refuses to start on any problem; a reload can keep the mappings it runs and log them.
 */
import type { JSONObject } from '@segment/actions-core'
import { defaultValues } from '@segment/actions-core'
import { isRecord } from '../json'
import type { PipelineDestination } from '../destinations'
import { checkFql } from './fql'
import { mappingProblems } from './mapping'
import { didYouMean } from './nearest'
import { quoted } from './problems'
import type { MappingProblem } from './problems'

export { formatProblem, formatProblems } from './problems'
export type { MappingProblem } from './problems'

/** A subscription of the file that passed every check, its mapping laid over its action's defaults. */
interface CheckedSubscription {
  name: string
  partnerAction: string
  subscribe: string
  mapping: JSONObject
  destination: PipelineDestination
}

/** The file's subscriptions, or every problem found in it (never both). */
type MappingCheck = { subscriptions: CheckedSubscription[] } | { problems: MappingProblem[] }

/** The keys of a subscription in the shape Segment stores it. */
const ENTRY_KEYS = ['name', 'partnerAction', 'subscribe', 'mapping']

/** Every action key a mapping may name; hidden ones (old keys kept for saved mappings) included. */
const actionKeys = (destinations: readonly PipelineDestination[]) =>
  destinations.flatMap(({ definition }) => Object.keys(definition.actions))

/** The keys offered to a user: hidden actions are taken but not offered. */
const visibleActionKeys = (destinations: readonly PipelineDestination[]) =>
  destinations.flatMap(({ definition }) =>
    Object.entries(definition.actions)
      .filter(([, action]) => !action.hidden)
      .map(([key]) => key)
  )

/** The whole file's shape, for problems that leave nothing to check entry by entry. */
const fileShape = (destinations: readonly PipelineDestination[]) =>
  `a JSON array of {"name": "…", "partnerAction": ${visibleActionKeys(destinations)
    .map((key) => `"${key}"`)
    .join(' | ')}, "subscribe": "<FQL>", "mapping": {…}}`

/** JSON.parse's message, with its position told as a line and column. */
function jsonProblem(text: string, error: Error): string {
  const at = /at position (\d+)/.exec(error.message)
  if (!at) return error.message
  const before = text.slice(0, Number(at[1]))
  const line = before.split('\n').length
  const column = before.length - before.lastIndexOf('\n')
  return error.message.replace(at[0], `at line ${line}, column ${column}`)
}

/** Checks one entry; its subscription when it has no problem. */
function checkEntry(
  entry: unknown,
  index: number,
  destinations: readonly PipelineDestination[],
  report: (problem: Omit<MappingProblem, 'file' | 'index'>) => void
): CheckedSubscription | undefined {
  if (!isRecord(entry)) {
    report({
      path: [],
      message: `must be an object, {"partnerAction": …, "subscribe": …}, not ${quoted(entry)}`
    })
    return undefined
  }
  const { name, partnerAction, subscribe, mapping } = entry
  const named = typeof name === 'string' ? { name } : {}
  const at = (path: string[], message: string, extra: Partial<MappingProblem> = {}) =>
    report({ ...named, path, message, ...extra })
  let problems = 0
  const problem: typeof at = (...args) => {
    problems++
    at(...args)
  }

  for (const key of Object.keys(entry).filter((key) => !ENTRY_KEYS.includes(key))) {
    problem([key], `unknown key${didYouMean(key, ENTRY_KEYS, '')}: an entry takes ${ENTRY_KEYS.join(', ')}`)
  }
  if (name !== undefined && typeof name !== 'string') problem(['name'], `must be a string, not ${quoted(name)}`)

  const keys = actionKeys(destinations)
  const destination =
    typeof partnerAction === 'string'
      ? destinations.find(({ definition }) => Object.prototype.hasOwnProperty.call(definition.actions, partnerAction))
      : undefined
  const offered = visibleActionKeys(destinations).join(', ')
  if (partnerAction === undefined) problem(['partnerAction'], `is missing: add the action's key, one of ${offered}`)
  else if (!destination) {
    const problemOf = (word: string) => `"${word}" is not an action${didYouMean(word, keys, `: use one of ${offered}`)}`
    const wrongType = `must be a string, one of ${offered}, not ${quoted(partnerAction)}`
    problem(['partnerAction'], typeof partnerAction === 'string' ? problemOf(partnerAction) : wrongType)
  }

  if (typeof subscribe !== 'string') {
    const what = subscribe === undefined ? 'is missing' : 'must be a string'
    problem(['subscribe'], `${what}: write the trigger in FQL, e.g. "type = \\"track\\""`)
  } else {
    for (const fql of checkFql(subscribe)) problem(['subscribe'], fql.message, fql.column ? { column: fql.column } : {})
  }

  if (mapping !== undefined && !isRecord(mapping)) {
    problem(['mapping'], `must be an object of field keys and values, not ${quoted(mapping)}`)
  } else if (destination && typeof partnerAction === 'string') {
    const action = destination.definition.actions[partnerAction]
    for (const found of mappingProblems(partnerAction, action, mapping ?? {})) {
      problem(found.path, found.message, { field: found.field })
    }
  }
  if (problems > 0 || !destination || typeof partnerAction !== 'string' || typeof subscribe !== 'string')
    return undefined
  const fields = destination.definition.actions[partnerAction].fields
  return {
    name: typeof name === 'string' ? name : `${partnerAction} #${index}`,
    partnerAction,
    subscribe,
    mapping: { ...defaultValues(fields), ...(mapping as JSONObject | undefined) },
    destination
  }
}

/**
 * Checks the text of mapping file `file` against the destinations' actions: every entry, every
 * key, all at once. Each entry's action names its destination (action keys are unique across the
 * package); its `mapping` is laid over the action's default values, so a file only needs what
 * differs from the presets.
 */
export function checkMappingFile(
  file: string,
  text: string,
  destinations: readonly PipelineDestination[]
): MappingCheck {
  const whole = (message: string): MappingCheck => ({ problems: [{ file, path: [], message }] })
  let entries: unknown
  try {
    entries = JSON.parse(text)
  } catch (error) {
    return whole(`is not JSON (${jsonProblem(text, error as Error)}); it must hold ${fileShape(destinations)}`)
  }
  if (!Array.isArray(entries) || entries.length === 0) {
    return whole(`is not a non-empty array; it must hold ${fileShape(destinations)}`)
  }
  const problems: MappingProblem[] = []
  const subscriptions = entries.map((entry: unknown, index) =>
    checkEntry(entry, index, destinations, (problem) => problems.push({ file, index, ...problem }))
  )
  if (problems.length > 0) return { problems }
  return { subscriptions: subscriptions as CheckedSubscription[] }
}
