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
import type { PipelineDestination } from './destinations'
import { checkMappingFile, formatProblems } from './mapping-check'
import type { MappingProblem } from './mapping-check'

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

/** A mapping file that cannot be used, with every problem found in it; its message lists them all. */
export class MappingFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: MappingProblem[]
  ) {
    super(formatProblems(file, problems))
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
 * The subscriptions of a mapping file's text, ready to match events, or every problem found in it
 * (mapping-check): what a start takes, and what a reload can take without touching the running ones.
 */
export function readMappingFile(
  file: string,
  text: string,
  destinations: readonly PipelineDestination[]
): { subscriptions: MatchableSubscription[] } | { problems: MappingProblem[] } {
  const checked = checkMappingFile(file, text, destinations)
  if ('problems' in checked) return checked
  return {
    subscriptions: checked.subscriptions.map(({ destination, ...subscription }) =>
      withMatcher(subscription, destination)
    )
  }
}

/** The problem of a mapping file that cannot be read at all. */
export function unreadableProblem(file: string, error: unknown): MappingProblem {
  const code = (error as NodeJS.ErrnoException).code ?? String(error)
  return { file, path: [], message: `cannot be read (${code}): check the path ORTTO_MAPPINGS gives` }
}

/**
 * Reads and checks a mapping file; any problem refuses it, with every problem listed. With the
 * subscriptions, the bytes they were read from (their hash is the version in force).
 */
export function readCheckedMappingFile(
  file: string,
  destinations: readonly PipelineDestination[]
): { subscriptions: MatchableSubscription[]; bytes: Buffer } {
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (error) {
    throw new MappingFileError(file, [unreadableProblem(file, error)])
  }
  const read = readMappingFile(file, bytes.toString('utf8'), destinations)
  if ('problems' in read) throw new MappingFileError(file, read.problems)
  return { subscriptions: read.subscriptions, bytes }
}

/** Reads and checks a mapping file; any problem refuses it, with every problem listed. */
export const loadMappingFile = (file: string, destinations: readonly PipelineDestination[]): MatchableSubscription[] =>
  readCheckedMappingFile(file, destinations).subscriptions
