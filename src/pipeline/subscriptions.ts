/**
 * The mappings the pipeline delivers with: each destination's presets (or, for one without
 * presets, each action with its default trigger and mapping), or a JSON file in the shape Segment
 * stores subscriptions. Matching an event to a subscription uses Segment's own FQL library (the
 * one actions-core's onSubscription uses), never a hand-written type check, after the
 * destination's own rule of which events reach it (destinations.ts).
 */
import { readFileSync } from 'node:fs'
import { defaultValues, type JSONObject } from '@segment/actions-core'
import { parseFql, validate } from '@segment/destination-subscriptions'
import type { SegmentEvent } from '@segment/actions-core'
import { isRecord } from '../destinations/ortto/client/json'
import type { PipelineDestination } from './destinations'

interface Subscription {
  name: string
  partnerAction: string
  subscribe: string
  mapping: JSONObject
}

export interface MatchableSubscription extends Subscription {
  /** The destination the subscription belongs to: its action runs there, and only the events it takes match. */
  destination: PipelineDestination
  matches: (event: SegmentEvent) => boolean
}

/** Every action a mapping can name (hidden ones, old keys kept for saved mappings, are taken but not offered). */
const visibleActions = (destinations: readonly PipelineDestination[]) =>
  destinations
    .flatMap(({ definition }) => Object.entries(definition.actions))
    .filter(([, action]) => !action.hidden)
    .map(([key]) => key)

export class MappingFileError extends Error {
  constructor(file: string, problem: string, destinations: readonly PipelineDestination[]) {
    const actions = visibleActions(destinations)
      .map((key) => `"${key}"`)
      .join(' | ')
    super(
      `Mapping file ${file}: ${problem}. It must hold a JSON array of ` +
        `{"partnerAction": ${actions}, "subscribe": "<FQL>", "mapping": {…}}.`
    )
    this.name = 'MappingFileError'
  }
}

function matcher(subscribe: string): ((event: SegmentEvent) => boolean) | string {
  const parsed = parseFql(subscribe)
  if ('error' in parsed && parsed.error) return parsed.error.message
  return (event) => validate(parsed, event)
}

function withMatcher(subscription: Subscription, destination: PipelineDestination): MatchableSubscription {
  const matches = matcher(subscription.subscribe)
  if (typeof matches === 'string') throw new Error(`Invalid subscription "${subscription.subscribe}": ${matches}`)
  return { ...subscription, destination, matches: (event) => destination.takes(event) && matches(event) }
}

/**
 * The settings `Destination.onBatch` takes to deliver through this one subscription: Segment's
 * runtime passes subscriptions inside the settings.
 */
export function withSubscription(settings: unknown, { partnerAction, subscribe, mapping }: Subscription): JSONObject {
  return { ...(settings as JSONObject), subscriptions: [{ partnerAction, subscribe, mapping }] }
}

/**
 * A destination's presets, each with its action's default mapping (what Segment creates on
 * install); for a destination without presets (Ortto (Audiences)), each visible action with its
 * default trigger and the default values of its fields, as adding that mapping in Segment gives.
 */
export function presetSubscriptions(destination: PipelineDestination): MatchableSubscription[] {
  const { presets, actions } = destination.definition
  const subscriptions: Subscription[] =
    presets && presets.length > 0
      ? presets.map((preset) => ({
          name: preset.name ?? preset.partnerAction,
          partnerAction: preset.partnerAction,
          subscribe: 'subscribe' in preset ? preset.subscribe : '',
          mapping: preset.mapping ?? {}
        }))
      : Object.entries(actions)
          .filter(([, action]) => !action.hidden && action.defaultSubscription)
          .map(([key, action]) => ({
            name: action.title,
            partnerAction: key,
            subscribe: action.defaultSubscription ?? '',
            mapping: defaultValues(action.fields)
          }))
  return subscriptions.map((subscription) => withMatcher(subscription, destination))
}

/** The subscriptions of every destination, in order: what the pipeline starts with when no mapping file is given. */
export const allPresetSubscriptions = (destinations: readonly PipelineDestination[]): MatchableSubscription[] =>
  destinations.flatMap(presetSubscriptions)

/**
 * Reads a mapping file. Each entry's action names its destination (action keys are unique across
 * the package), and its `mapping` is laid over the action's default values, so a file only needs
 * what differs from the presets.
 */
export function loadMappingFile(file: string, destinations: readonly PipelineDestination[]): MatchableSubscription[] {
  const refuse = (problem: string) => new MappingFileError(file, problem, destinations)
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw refuse(`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`)
  }
  let entries: unknown
  try {
    entries = JSON.parse(text)
  } catch (error) {
    throw refuse(`is not JSON (${(error as Error).message})`)
  }
  if (!Array.isArray(entries) || entries.length === 0) throw refuse('is not a non-empty array')
  return entries.map((entry: unknown, index) => {
    const where = `entry ${index}`
    if (!isRecord(entry)) throw refuse(`${where} is not an object`)
    const { partnerAction, subscribe, mapping, name } = entry
    const destination =
      typeof partnerAction === 'string'
        ? destinations.find(({ definition }) => Object.hasOwn(definition.actions, partnerAction))
        : undefined
    if (typeof partnerAction !== 'string' || !destination) {
      // Hidden actions (old keys kept for saved mappings) are accepted but not offered.
      const known = visibleActions(destinations).join(', ')
      throw refuse(`${where} has partnerAction ${JSON.stringify(partnerAction)}; use one of ${known}`)
    }
    if (typeof subscribe !== 'string') throw refuse(`${where} has no "subscribe" FQL string`)
    if (mapping !== undefined && !isRecord(mapping)) throw refuse(`${where} has a "mapping" that is not an object`)
    const invalid = matcher(subscribe)
    if (typeof invalid === 'string') throw refuse(`${where} has an invalid "subscribe": ${invalid}`)
    const fields = destination.definition.actions[partnerAction].fields
    return withMatcher(
      {
        name: typeof name === 'string' ? name : `${partnerAction} #${index}`,
        partnerAction,
        subscribe,
        mapping: { ...defaultValues(fields), ...(mapping as JSONObject | undefined) }
      },
      destination
    )
  })
}
