/**
 * Reads the bodies of Segment's HTTP Tracking API (what analytics-node and every Segment
 * library send) into SegmentEvents, saying exactly what is wrong with anything else.
 */
import { randomUUID } from 'node:crypto'
import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import { InputError } from './http/errors'
import { isRecord } from './json'
import { BatchContext, InheritedContexts } from './batch-context'
import { MAX_EVENT_DEPTH, walkEvent } from './event-structure'
import { MAX_BATCH_EVENTS, MAX_EVENT_BYTES, jsonBytes, limitText } from './ingest-limits'

export { MAX_EVENT_DEPTH }

export const EVENT_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const
export type EventType = (typeof EVENT_TYPES)[number]

const isEventType = (value: unknown): value is EventType =>
  typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value)

/** A call to /v1/<type>: its event, with where it came from (TakenItem) and when; or why it was refused. */
export type ParsedEvent =
  { ok: true; event: SegmentEvent; item: TakenItem; receivedAt: string } | { ok: false; reason: string }

/**
 * An id as Segment's API takes it: a string as sent, a number as its decimal string (`0` included);
 * undefined when there is none (absent, null, blank). (Ingest reads a few of these per call: they
 * make no objects.)
 */
function idValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined
}

/** Why `value` cannot be an id (anything but a string, a number, null or absent), or undefined. */
function idProblem(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null || typeof value === 'string') return undefined
  if (typeof value === 'number' && Number.isFinite(value)) return undefined
  return `"${name}" must be a string or a number (got ${describe(value)})`
}

const describe = (value: unknown) =>
  Array.isArray(value) ? 'an array' : value === null ? 'null' : `${typeof value} ${JSON.stringify(value)}`

/** `timestamp` (and the like): an ISO 8601 string as sent, or undefined when absent, null or empty. */
const timestampValue = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined

/** Why `value` cannot be a timestamp (anything but a string, null or absent: a number would be a guess). */
function timestampProblem(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null || typeof value === 'string') return undefined
  return `"${name}" must be an ISO 8601 string such as "2024-05-06T07:08:09.000Z" (got ${describe(value)})`
}

/**
 * What a call must be, checked: its type as it will be delivered, and a bound of its size (at least
 * its JSON's bytes: walkEvent), which spares measuring a call far inside the limit.
 */
type CheckedCall = { ok: true; type: EventType; sizeBound: number } | { ok: false; reason: string }

/**
 * Everything about one call but its size and what it inherits from a batch: its type (from the
 * route, such as /v1/track, or from the call), ids, event name, the shape of traits, properties and
 * context, and nothing nested that no delivery could carry.
 */
function checkCall(body: Record<string, unknown>, routeType?: EventType): CheckedCall {
  const type = routeType ?? body.type
  if (!isEventType(type)) {
    return { ok: false, reason: `"type" must be one of ${EVENT_TYPES.join(', ')} (got ${JSON.stringify(type)})` }
  }
  if (routeType && body.type !== undefined && body.type !== routeType) {
    return { ok: false, reason: `"type" is ${JSON.stringify(body.type)} but the call was sent to /v1/${routeType}` }
  }
  const problem = idProblem(body.userId, 'userId') ?? idProblem(body.anonymousId, 'anonymousId')
  if (problem) return { ok: false, reason: problem }
  if (idValue(body.userId) === undefined && idValue(body.anonymousId) === undefined) {
    return { ok: false, reason: `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type} call needs a userId or an anonymousId` }
  }
  if (type === 'track' && (typeof body.event !== 'string' || body.event.trim() === '')) {
    return { ok: false, reason: 'a track call needs a non-empty "event" name' }
  }
  for (const key of ['traits', 'properties', 'context'] as const) {
    if (body[key] !== undefined && !isRecord(body[key])) {
      return { ok: false, reason: `"${key}" must be an object` }
    }
  }
  const later = idProblem(body.messageId, 'messageId') ?? timestampProblem(body.timestamp, 'timestamp')
  if (later) return { ok: false, reason: later }
  const walked = walkEvent({ value: body, depth: 1 })
  if ('problem' in walked) return { ok: false, reason: walked.problem }
  return { ok: true, type, sizeBound: walked.sizeBound }
}

const tooLarge = (bytes: number, inherited?: number): string =>
  `the event is ${bytes.toLocaleString('en-US')} bytes` +
  (inherited === undefined
    ? ''
    : ` with the batch's context it inherits (${inherited.toLocaleString('en-US')} bytes)`) +
  `; Segment takes at most ${limitText(MAX_EVENT_BYTES)} per event: send less in its traits, properties or context`

/**
 * The event as it is delivered: the call as sent, with what Segment's API fills in (messageId,
 * timestamp, receivedAt) filled in too; nothing that was sent is changed or dropped. `messageId` is
 * the one to give a call that has none (a new one is made when it is not given): the spool keeps
 * it, so that a restart rebuilds the same event from the call's text.
 */
function eventOf(
  body: Record<string, unknown>,
  type: EventType,
  receivedAt: string,
  context?: JSONObject,
  messageId?: string
): SegmentEvent {
  // Assigned in this order, keys it adds come after the call's own, as an object literal puts them.
  const event: SegmentEvent = { ...body, type }
  const userId = idValue(body.userId)
  if (userId !== undefined) event.userId = userId
  const anonymousId = idValue(body.anonymousId)
  if (anonymousId !== undefined) event.anonymousId = anonymousId
  event.messageId = idValue(body.messageId) ?? messageId ?? randomUUID()
  event.timestamp = timestampValue(body.timestamp) ?? receivedAt
  event.receivedAt = receivedAt
  if (context !== undefined) event.context = context
  return event
}

/** Where an event taken in came from in its call's body, and the messageId made for it when the call had none. */
export interface TakenItem {
  /** Its index in the batch; 0 for a call to /v1/<type>. */
  index: number
  messageId?: string
}

const takenItem = (index: number, body: Record<string, unknown>, event: SegmentEvent): TakenItem =>
  idValue(body.messageId) === undefined ? { index, messageId: event.messageId } : { index }

/** Which call it was, by the route it came by: one event (/v1/<type>), or a batch (/v1/batch). */
export type CallKind = EventType | 'batch'

export const isCallKind = (value: unknown): value is CallKind => value === 'batch' || isEventType(value)

/**
 * The events a call gave, rebuilt from its body (as parsed) and what ingest added to them (the
 * spool keeps calls so, not each event). Each comes out as ingest made it, the batch's context
 * shared as it was then. Nothing is checked again: these were taken in.
 */
export function rebuildEvents(
  kind: CallKind,
  body: Record<string, unknown>,
  receivedAt: string,
  items: readonly TakenItem[]
): SegmentEvent[] {
  if (kind !== 'batch') return items.map(({ messageId }) => eventOf(body, kind, receivedAt, undefined, messageId))
  const calls = body.batch as Array<Record<string, unknown>>
  const shared = isRecord(body.context) ? (body.context as JSONObject) : undefined
  const contexts = shared && new InheritedContexts(shared)
  return items.map(({ index, messageId }) => {
    const call = calls[index]
    const context = contexts?.of(call.context as JSONObject | undefined)
    return eventOf(call, call.type as EventType, receivedAt, context, messageId)
  })
}

/** One call's body (`type` from the route, such as /v1/track, or from the call), at most MAX_EVENT_BYTES. */
export function parseEvent(body: unknown, routeType?: EventType): ParsedEvent {
  if (!isRecord(body)) return { ok: false, reason: 'a Segment call must be a JSON object' }
  const call = checkCall(body, routeType)
  if (!call.ok) return call
  const bytes = call.sizeBound <= MAX_EVENT_BYTES ? call.sizeBound : jsonBytes(body)
  if (bytes > MAX_EVENT_BYTES) return { ok: false, reason: tooLarge(bytes) }
  const receivedAt = new Date().toISOString()
  const event = eventOf(body, call.type, receivedAt)
  return { ok: true, event, item: takenItem(0, body, event), receivedAt }
}

/**
 * Why the pipeline would refuse `body` as a call of a batch without a context, or undefined when
 * it would take it. `bytes` is its size when the caller has it already.
 */
export function callProblem(body: unknown, bytes?: number): string | undefined {
  if (!isRecord(body)) return 'a Segment call must be a JSON object'
  const call = checkCall(body)
  if (!call.ok) return call.reason
  const size = bytes ?? jsonBytes(body)
  return size > MAX_EVENT_BYTES ? tooLarge(size) : undefined
}

/** One call of a batch: the event, or why it is refused. */
function takeCall(
  item: unknown,
  index: number,
  receivedAt: string,
  shared?: BatchContext
): { event: SegmentEvent } | { reason: string } {
  if (index >= MAX_BATCH_EVENTS) {
    return {
      reason: `a batch takes at most ${MAX_BATCH_EVENTS.toLocaleString('en-US')} calls, as Segment's does; send this one in another batch`
    }
  }
  if (!isRecord(item)) return { reason: 'a Segment call must be a JSON object' }
  const call = checkCall(item)
  if (!call.ok) return call
  const bounded = call.sizeBound <= MAX_EVENT_BYTES
  let bytes = bounded ? call.sizeBound : jsonBytes(item)
  if (!shared) {
    return bytes > MAX_EVENT_BYTES ? { reason: tooLarge(bytes) } : { event: eventOf(item, call.type, receivedAt) }
  }
  let inherited = shared.inherit(item.context as JSONObject | undefined, bytes, MAX_EVENT_BYTES)
  if (bounded && !('problem' in inherited) && inherited.bytes > MAX_EVENT_BYTES) {
    // Over the limit by the bound: measured, to be sure (nothing was copied for it).
    bytes = jsonBytes(item)
    inherited = shared.inherit(item.context as JSONObject | undefined, bytes, MAX_EVENT_BYTES)
  }
  if ('problem' in inherited) return { reason: inherited.problem }
  if (inherited.bytes > MAX_EVENT_BYTES) return { reason: tooLarge(inherited.bytes, shared.bytes) }
  return { event: eventOf(item, call.type, receivedAt, inherited.context) }
}

/**
 * `POST /v1/batch`: `{ batch: [calls], context? }`. The batch's context is merged into each call's
 * (the call's own keys win) as Segment does, and counts in each call's size; BatchContext says
 * what that merge costs. Calls past MAX_BATCH_EVENTS, and calls that cannot be used, are refused
 * one by one with their index and the reason; the others are taken.
 */
export function parseBatch(body: unknown): {
  events: SegmentEvent[]
  /** Per event taken, where it came from in the batch (rebuildEvents makes it again from that). */
  items: TakenItem[]
  /** The events' receivedAt: one for the whole call. */
  receivedAt: string
  rejected: Array<{ index: number; reason: string }>
  /** Context keys copied to merge the batch's context into calls that have their own (0 when none). */
  contextKeysCopied: number
} {
  if (!isRecord(body) || !Array.isArray(body.batch)) {
    throw new InputError('a batch call must be a JSON object with a "batch" array')
  }
  if (body.context !== undefined && !isRecord(body.context)) {
    throw new InputError('the batch\'s "context" must be an object, which is merged into the context of each call')
  }
  const shared = body.context === undefined ? undefined : new BatchContext(body.context as JSONObject)
  const events: SegmentEvent[] = []
  const items: TakenItem[] = []
  const rejected: Array<{ index: number; reason: string }> = []
  const receivedAt = new Date().toISOString()
  body.batch.forEach((item: unknown, index) => {
    const taken = takeCall(item, index, receivedAt, shared)
    if ('reason' in taken) rejected.push({ index, reason: taken.reason })
    else {
      events.push(taken.event)
      items.push(takenItem(index, item as Record<string, unknown>, taken.event))
    }
  })
  return { events, items, receivedAt, rejected, contextKeysCopied: shared?.keysCopied ?? 0 }
}
