/** Segment's HTTP Tracking API: one call to /v1/<type>, or /v1/batch, taken into delivery. */
import type * as http from 'node:http'
import type { DeliveryPipeline } from '../delivery'
import { parseBatch, parseEvent, type EventType, type ParsedEvent } from '../segment-events'
import { MAX_BATCH_BYTES, MAX_EVENT_BYTES, limitText } from '../ingest-limits'
import { InputError } from './errors'
import { readJsonBody } from './json-io'

/**
 * Segment calls (/v1/*): those taken in, the events they carried that were taken in and those
 * refused with a reason, and calls refused whole (4xx or 503, nothing taken in).
 */
export interface IngestCounts {
  calls: number
  events: number
  rejectedEvents: number
  refusedCalls: number
}

export const BATCH_LIMIT = `a batch takes at most ${limitText(MAX_BATCH_BYTES)}, Segment's limit: split it into smaller batches`
const CALL_LIMIT = `one call takes at most ${limitText(MAX_EVENT_BYTES)}, Segment's limit: send less in its traits, properties or context`

/** Takes one call in; what it answers is the 200 body. Counts move only once the call is taken. */
export async function takeIn(
  req: http.IncomingMessage,
  call: EventType | 'batch',
  delivery: DeliveryPipeline,
  counts: IngestCounts
): Promise<unknown> {
  // Full: 503 before the body is read and parsed (a caller may come back many times before there is room).
  delivery.assertRoom()
  const { value: body, bytes } =
    call === 'batch'
      ? await readJsonBody(req, MAX_BATCH_BYTES, BATCH_LIMIT)
      : await readJsonBody(req, MAX_EVENT_BYTES, CALL_LIMIT)
  const { events, rejected, items, receivedAt } = call === 'batch' ? parseBatch(body) : single(parseEvent(body, call))
  if (events.length === 0) {
    const reason =
      rejected.length === 0
        ? 'the batch is empty'
        : call === 'batch'
          ? `no call in the batch could be used: ${describeRejected(rejected)}`
          : rejected[0].reason
    throw new InputError(reason)
  }
  // The spool keeps the call's body as it came, and what ingest added to its events.
  const { unsubscribed } = await delivery.enqueue(events, { kind: call, body: bytes, receivedAt, items })
  counts.calls++
  counts.events += events.length
  counts.rejectedEvents += rejected.length
  return { success: true, accepted: events.length, unsubscribed, rejected }
}

/** One parsed call in the shape of a parsed batch. */
export const single = (parsed: ParsedEvent) =>
  parsed.ok
    ? { events: [parsed.event], rejected: [], items: [parsed.item], receivedAt: parsed.receivedAt }
    : { events: [], rejected: [{ index: 0, reason: parsed.reason }], items: [], receivedAt: '' }

const describeRejected = (rejected: Array<{ index: number; reason: string }>) =>
  rejected
    .slice(0, 5)
    .map(({ index, reason }) => `#${index}: ${reason}`)
    .join('; ') + (rejected.length > 5 ? `; and ${rejected.length - 5} more` : '')
