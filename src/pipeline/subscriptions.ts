/**
 * The mappings the pipeline delivers with: the destination's presets, or a JSON file in the shape
 * Segment stores subscriptions. Matching an event to a subscription uses Segment's own FQL
 * library (the one actions-core's onSubscription uses), never a hand-written type check.
 */
import { readFileSync } from 'node:fs'
import { defaultValues, type DestinationDefinition, type JSONObject } from '@segment/actions-core'
import { parseFql, validate } from '@segment/destination-subscriptions'
import type { SegmentEvent } from '@segment/actions-core'
import { isRecord } from '../destinations/ortto/client/json'

interface Subscription {
  name: string
  partnerAction: string
  subscribe: string
  mapping: JSONObject
}

export interface MatchableSubscription extends Subscription {
  matches: (event: SegmentEvent) => boolean
}

export class MappingFileError extends Error {
  constructor(file: string, problem: string) {
    super(
      `Mapping file ${file}: ${problem}. It must hold a JSON array of ` +
        '{"partnerAction": "trackActivity" | "upsertContact", "subscribe": "<FQL>", "mapping": {…}}.'
    )
    this.name = 'MappingFileError'
  }
}

function matcher(subscribe: string): ((event: SegmentEvent) => boolean) | string {
  const parsed = parseFql(subscribe)
  if ('error' in parsed && parsed.error) return parsed.error.message
  return (event) => validate(parsed, event)
}

function withMatcher(subscription: Subscription): MatchableSubscription {
  const matches = matcher(subscription.subscribe)
  if (typeof matches === 'string') throw new Error(`Invalid subscription "${subscription.subscribe}": ${matches}`)
  return { ...subscription, matches }
}

/**
 * The settings `Destination.onBatch` takes to deliver through this one subscription: Segment's
 * runtime passes subscriptions inside the settings.
 */
export function withSubscription(settings: unknown, { partnerAction, subscribe, mapping }: Subscription): JSONObject {
  return { ...(settings as JSONObject), subscriptions: [{ partnerAction, subscribe, mapping }] }
}

/** The presets, each with its action's default mapping (what Segment creates on install). */
export function presetSubscriptions<S>(definition: DestinationDefinition<S>): MatchableSubscription[] {
  return (definition.presets ?? []).map((preset) =>
    withMatcher({
      name: preset.name ?? preset.partnerAction,
      partnerAction: preset.partnerAction,
      subscribe: 'subscribe' in preset ? preset.subscribe : '',
      mapping: preset.mapping ?? {}
    })
  )
}

/**
 * Reads a mapping file. Each entry's `mapping` is laid over its action's default values, so a file
 * only needs what differs from the presets.
 */
export function loadMappingFile<S>(file: string, definition: DestinationDefinition<S>): MatchableSubscription[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new MappingFileError(file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`)
  }
  let entries: unknown
  try {
    entries = JSON.parse(text)
  } catch (error) {
    throw new MappingFileError(file, `is not JSON (${(error as Error).message})`)
  }
  if (!Array.isArray(entries) || entries.length === 0) throw new MappingFileError(file, 'is not a non-empty array')
  return entries.map((entry: unknown, index) => {
    const where = `entry ${index}`
    if (!isRecord(entry)) throw new MappingFileError(file, `${where} is not an object`)
    const { partnerAction, subscribe, mapping, name } = entry
    if (typeof partnerAction !== 'string' || !Object.hasOwn(definition.actions, partnerAction)) {
      // Hidden actions (old keys kept for saved mappings) are accepted but not offered.
      const known = Object.entries(definition.actions)
        .filter(([, action]) => !action.hidden)
        .map(([key]) => key)
        .join(', ')
      throw new MappingFileError(
        file,
        `${where} has partnerAction ${JSON.stringify(partnerAction)}; use one of ${known}`
      )
    }
    if (typeof subscribe !== 'string') throw new MappingFileError(file, `${where} has no "subscribe" FQL string`)
    if (mapping !== undefined && !isRecord(mapping))
      throw new MappingFileError(file, `${where} has a "mapping" that is not an object`)
    const matches = matcher(subscribe)
    if (typeof matches === 'string') throw new MappingFileError(file, `${where} has an invalid "subscribe": ${matches}`)
    return {
      name: typeof name === 'string' ? name : `${partnerAction} #${index}`,
      partnerAction,
      subscribe,
      mapping: { ...defaultValues(definition.actions[partnerAction].fields), ...(mapping as JSONObject | undefined) },
      matches
    }
  })
}
