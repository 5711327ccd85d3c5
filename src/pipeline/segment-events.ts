/**
 * Reads the bodies of Segment's HTTP Tracking API (what analytics-node and every Segment
 * library send) into SegmentEvents, saying exactly what is wrong with anything else.
 */
import { randomUUID } from 'node:crypto'
import type { SegmentEvent } from '@segment/actions-core'
import { isRecord } from '../destinations/ortto/client/json'

export const EVENT_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const
export type EventType = (typeof EVENT_TYPES)[number]

export const isEventType = (value: unknown): value is EventType =>
  typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value)

export type ParsedEvent = { ok: true; event: SegmentEvent } | { ok: false; reason: string }

const hasId = (value: unknown) =>
  (typeof value === 'string' && value.trim() !== '') || (typeof value === 'number' && Number.isFinite(value))

/**
 * One call's body. `type` comes from the route (`/v1/track`) or, inside a batch, from the item.
 * What Segment's API would fill in (messageId, timestamp, receivedAt) is filled in here too.
 */
export function parseEvent(body: unknown, routeType?: EventType): ParsedEvent {
  if (!isRecord(body)) return { ok: false, reason: 'a Segment call must be a JSON object' }
  const type = routeType ?? body.type
  if (!isEventType(type)) {
    return { ok: false, reason: `"type" must be one of ${EVENT_TYPES.join(', ')} (got ${JSON.stringify(type)})` }
  }
  if (routeType && body.type !== undefined && body.type !== routeType) {
    return { ok: false, reason: `"type" is ${JSON.stringify(body.type)} but the call was sent to /v1/${routeType}` }
  }
  if (!hasId(body.userId) && !hasId(body.anonymousId)) {
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
  const now = new Date().toISOString()
  const event = {
    ...body,
    type,
    messageId: typeof body.messageId === 'string' && body.messageId !== '' ? body.messageId : randomUUID(),
    timestamp: typeof body.timestamp === 'string' && body.timestamp !== '' ? body.timestamp : now,
    receivedAt: now
  } as SegmentEvent
  return { ok: true, event }
}

/** `POST /v1/batch`: `{ batch: [calls], context?, integrations? }`; shared context fills each call's. */
export function parseBatch(body: unknown): {
  events: SegmentEvent[]
  rejected: Array<{ index: number; reason: string }>
} {
  if (!isRecord(body) || !Array.isArray(body.batch)) {
    throw new InputError('a batch call must be a JSON object with a "batch" array')
  }
  const shared = isRecord(body.context) ? body.context : undefined
  const events: SegmentEvent[] = []
  const rejected: Array<{ index: number; reason: string }> = []
  body.batch.forEach((item: unknown, index) => {
    const withContext =
      shared && isRecord(item) ? { ...item, context: { ...shared, ...(item.context as object) } } : item
    const parsed = parseEvent(withContext)
    if (parsed.ok) events.push(parsed.event)
    else rejected.push({ index, reason: parsed.reason })
  })
  return { events, rejected }
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
