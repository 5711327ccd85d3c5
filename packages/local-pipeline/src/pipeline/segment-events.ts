/**
 * Reads the bodies of Segment's HTTP Tracking API (what analytics-node and every Segment
 * library send) into SegmentEvents, saying exactly what is wrong with anything else.
 */
import { randomUUID } from 'node:crypto'
import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import { isRecord } from './json'
import { BatchContext } from './batch-context'
import { MAX_EVENT_DEPTH, structureProblem } from './event-structure'
import { MAX_BATCH_EVENTS, MAX_EVENT_BYTES, jsonBytes, limitText } from './ingest-limits'

export { MAX_EVENT_DEPTH }

export const EVENT_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const
export type EventType = (typeof EVENT_TYPES)[number]

const isEventType = (value: unknown): value is EventType =>
  typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value)

export type ParsedEvent = { ok: true; event: SegmentEvent } | { ok: false; reason: string }

/**
 * An id as Segment's API takes it: a string as sent, a number as its decimal string (`0` included).
 * Anything else cannot be an id.
 */
function idOf(value: unknown, name: string): { id?: string } | { problem: string } {
  if (value === undefined || value === null) return {}
  if (typeof value === 'string') return value.trim() === '' ? {} : { id: value }
  if (typeof value === 'number' && Number.isFinite(value)) return { id: String(value) }
  return { problem: `"${name}" must be a string or a number (got ${describe(value)})` }
}

const describe = (value: unknown) =>
  Array.isArray(value) ? 'an array' : value === null ? 'null' : `${typeof value} ${JSON.stringify(value)}`

/** `timestamp` (and the like): an ISO 8601 string as sent, or absent; a number would be a guess. */
function timestampOf(value: unknown, name: string): { value?: string } | { problem: string } {
  if (value === undefined || value === null || value === '') return {}
  if (typeof value === 'string') return { value }
  return {
    problem: `"${name}" must be an ISO 8601 string such as "2024-05-06T07:08:09.000Z" (got ${describe(value)})`
  }
}

/** What a call must be, checked: its type and ids as they will be delivered. */
type CheckedCall =
  | { ok: true; type: EventType; userId?: string; anonymousId?: string; messageId?: string; timestamp?: string }
  | { ok: false; reason: string }

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
  const userId = idOf(body.userId, 'userId')
  if ('problem' in userId) return { ok: false, reason: userId.problem }
  const anonymousId = idOf(body.anonymousId, 'anonymousId')
  if ('problem' in anonymousId) return { ok: false, reason: anonymousId.problem }
  if (userId.id === undefined && anonymousId.id === undefined) {
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
  const messageId = idOf(body.messageId, 'messageId')
  if ('problem' in messageId) return { ok: false, reason: messageId.problem }
  const timestamp = timestampOf(body.timestamp, 'timestamp')
  if ('problem' in timestamp) return { ok: false, reason: timestamp.problem }
  const problem = structureProblem({ value: body, depth: 1 })
  if (problem) return { ok: false, reason: problem }
  return {
    ok: true,
    type,
    userId: userId.id,
    anonymousId: anonymousId.id,
    messageId: messageId.id,
    timestamp: timestamp.value
  }
}

const tooLarge = (bytes: number, inherited?: number): string =>
  `the event is ${bytes.toLocaleString('en-US')} bytes` +
  (inherited === undefined
    ? ''
    : ` with the batch's context it inherits (${inherited.toLocaleString('en-US')} bytes)`) +
  `; Segment takes at most ${limitText(MAX_EVENT_BYTES)} per event: send less in its traits, properties or context`

/**
 * The event as it is delivered: the call as sent, with what Segment's API fills in (messageId,
 * timestamp, receivedAt) filled in too; nothing that was sent is changed or dropped.
 */
function eventOf(body: Record<string, unknown>, call: CheckedCall & { ok: true }, context?: JSONObject): SegmentEvent {
  const now = new Date().toISOString()
  return {
    ...body,
    type: call.type,
    ...(call.userId !== undefined && { userId: call.userId }),
    ...(call.anonymousId !== undefined && { anonymousId: call.anonymousId }),
    messageId: call.messageId ?? randomUUID(),
    timestamp: call.timestamp ?? now,
    receivedAt: now,
    ...(context !== undefined && { context })
  }
}

/** One call's body (`type` from the route, such as /v1/track, or from the call), at most MAX_EVENT_BYTES. */
export function parseEvent(body: unknown, routeType?: EventType): ParsedEvent {
  if (!isRecord(body)) return { ok: false, reason: 'a Segment call must be a JSON object' }
  const call = checkCall(body, routeType)
  if (!call.ok) return call
  const bytes = jsonBytes(body)
  if (bytes > MAX_EVENT_BYTES) return { ok: false, reason: tooLarge(bytes) }
  return { ok: true, event: eventOf(body, call) }
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
function takeCall(item: unknown, index: number, shared?: BatchContext): { event: SegmentEvent } | { reason: string } {
  if (index >= MAX_BATCH_EVENTS) {
    return {
      reason: `a batch takes at most ${MAX_BATCH_EVENTS.toLocaleString('en-US')} calls, as Segment's does; send this one in another batch`
    }
  }
  if (!isRecord(item)) return { reason: 'a Segment call must be a JSON object' }
  const call = checkCall(item)
  if (!call.ok) return call
  const bytes = jsonBytes(item)
  if (!shared) return bytes > MAX_EVENT_BYTES ? { reason: tooLarge(bytes) } : { event: eventOf(item, call) }
  const inherited = shared.inherit(item.context as JSONObject | undefined, bytes, MAX_EVENT_BYTES)
  if ('problem' in inherited) return { reason: inherited.problem }
  if (inherited.bytes > MAX_EVENT_BYTES) return { reason: tooLarge(inherited.bytes, shared.bytes) }
  return { event: eventOf(item, call, inherited.context) }
}

/**
 * `POST /v1/batch`: `{ batch: [calls], context? }`. The batch's context is merged into each call's
 * (the call's own keys win) as Segment does, and counts in each call's size; BatchContext says
 * what that merge costs. Calls past MAX_BATCH_EVENTS, and calls that cannot be used, are refused
 * one by one with their index and the reason; the others are taken.
 */
export function parseBatch(body: unknown): {
  events: SegmentEvent[]
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
  const rejected: Array<{ index: number; reason: string }> = []
  body.batch.forEach((item: unknown, index) => {
    const taken = takeCall(item, index, shared)
    if ('reason' in taken) rejected.push({ index, reason: taken.reason })
    else events.push(taken.event)
  })
  return { events, rejected, contextKeysCopied: shared?.keysCopied ?? 0 }
}

/** Input a client must fix; the server answers it with 400 and this message. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly status = 400
  ) {
    super(message)
    this.name = 'InputError'
  }
}
