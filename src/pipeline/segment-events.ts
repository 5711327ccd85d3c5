/**
 * Reads the bodies of Segment's HTTP Tracking API (what analytics-node and every Segment
 * library send) into SegmentEvents, saying exactly what is wrong with anything else.
 */
import { randomUUID } from 'node:crypto'
import type { SegmentEvent } from '@segment/actions-core'
import { isRecord } from '../destinations/ortto/client/json'

export const EVENT_TYPES = ['identify', 'track', 'page', 'screen', 'group', 'alias'] as const
export type EventType = (typeof EVENT_TYPES)[number]

const isEventType = (value: unknown): value is EventType =>
  typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value)

export type ParsedEvent = { ok: true; event: SegmentEvent } | { ok: false; reason: string }

/**
 * Deepest nesting an event may have (the event object is depth 1, its `traits` depth 2…).
 * actions-core walks events recursively and overflows its stack past about 2,000 levels (an
 * array nested 3,000 deep, 6 kB, failed a whole batch); 100 is far inside that and far beyond
 * what real traits and properties need.
 */
export const MAX_EVENT_DEPTH = 100

/** A key actions-core cannot carry: its mapping copies objects with Object.assign, which drops it. */
const LOST_KEY = '__proto__'

/** A node of the walk below: an object or array, how deep it sits, and how it was reached. */
interface Node {
  value: object
  depth: number
  parent?: Node
  key?: string | number
}

function pathOf(node: Node): string {
  let path = ''
  for (let at: Node | undefined = node; at?.parent !== undefined; at = at.parent) {
    path = typeof at.key === 'number' ? `[${at.key}]${path}` : `.${String(at.key)}${path}`
  }
  return path.replace(/^\./, '') || 'its top'
}

/**
 * What no delivery could carry faithfully, found in one pass without recursion (so an event
 * nested deep enough to break a recursive walk is still measured): too deep, or a `__proto__` key.
 * Only objects and arrays are visited, and a path is spelled out only for the message.
 */
function structureProblem(event: Record<string, unknown>): string | undefined {
  const stack: Node[] = [{ value: event, depth: 1 }]
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (node.depth > MAX_EVENT_DEPTH) {
      return `the event is nested more than ${MAX_EVENT_DEPTH} levels deep (at ${pathOf(node)}); flatten its traits, properties or context`
    }
    const { value, depth } = node
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i]
        if (typeof item === 'object' && item !== null)
          stack.push({ value: item, depth: depth + 1, parent: node, key: i })
      }
      continue
    }
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue
      if (key === LOST_KEY) {
        const where = pathOf({ value, depth, parent: node, key })
        return `${where} is a key named "${LOST_KEY}", which Segment's action runtime drops when it maps the event; rename it`
      }
      const item: unknown = (value as Record<string, unknown>)[key]
      if (typeof item === 'object' && item !== null) stack.push({ value: item, depth: depth + 1, parent: node, key })
    }
  }
  return undefined
}

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

/**
 * One call's body. `type` comes from the route (`/v1/track`) or, inside a batch, from the item.
 * What Segment's API would fill in (messageId, timestamp, receivedAt) is filled in here too;
 * nothing that was sent is changed or dropped without saying so.
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
  const problem = structureProblem(body)
  if (problem) return { ok: false, reason: problem }

  const now = new Date().toISOString()
  const event = {
    ...body,
    type,
    ...(userId.id !== undefined && { userId: userId.id }),
    ...(anonymousId.id !== undefined && { anonymousId: anonymousId.id }),
    messageId: messageId.id ?? randomUUID(),
    timestamp: timestamp.value ?? now,
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
