/** POST /dry-run: what each matching subscription would make of events, with nothing sent. */
import type * as http from 'node:http'
import type { DryRun } from '../dry-run'
import { MAX_BATCH_BYTES } from '../ingest-limits'
import { isRecord } from '../json'
import { EVENT_TYPES, parseBatch, parseEvent } from '../segment-events'
import { InputError } from './errors'
import { BATCH_LIMIT, single } from './ingest-route'
import { readJson } from './json-io'

/** The body of /v1/batch, or one event of any type with its "type". */
export async function dryRunAnswer(req: http.IncomingMessage, dryRun: Pick<DryRun<unknown>, 'plan'>): Promise<unknown> {
  const body = await readJson(req, MAX_BATCH_BYTES, BATCH_LIMIT)
  const isBatch = isRecord(body) && body.batch !== undefined
  if (!isBatch && !(isRecord(body) && body.type !== undefined)) {
    throw new InputError(
      `POST /dry-run takes one Segment event with its "type" (${EVENT_TYPES.join(', ')}), or {"batch": [events]} as /v1/batch does`
    )
  }
  const { events, rejected } = isBatch ? parseBatch(body) : single(parseEvent(body))
  const refused = new Set(rejected.map((r) => r.index))
  const indexes = Array.from({ length: events.length + rejected.length }, (_, i) => i).filter((i) => !refused.has(i))
  const planned = await dryRun.plan(events, indexes)
  return { dryRun: true, sent: 0, events: planned, rejected }
}
