import { failure } from './failures'
import type { Failure } from './failures'
import { isRecord } from './json'

/**
 * Reads Ortto's answer to a 2xx batch request into one verdict per object sent. Ortto answers
 * 200 when it took every object, or 207 with `{"errors": [{"index", "status", "message"}]}`,
 * where `index` is the object's position in the array sent. The body is not trusted: whatever
 * its shape, this never throws and every object gets exactly one verdict.
 *
 * - Objects listed in `errors` fail with the entry's status and message.
 * - Objects not listed succeeded, when the list can be read and every entry points at one of
 *   them.
 * - When that cannot be known (a 207 with no readable list, or entries that name no sent
 *   object), unlisted objects are reported as unconfirmed and retryable: never as delivered.
 *   Retrying them is safe, since Ortto upserts contacts and drops repeated activities.
 */

export type Verdict = { ok: true } | { ok: false; failure: Failure; entry?: unknown }

interface ErrorEntry {
  status: unknown
  message: unknown
  raw: Record<string, unknown>
}

const UNCONFIRMED_STATUS = 502
const MAX_MESSAGE_LENGTH = 500

function orttoReason(value: unknown): string {
  if (value === undefined || value === null || value === '') return 'Ortto gave no reason'
  // Values here came out of JSON.parse, so JSON.stringify cannot fail on them.
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text.slice(0, MAX_MESSAGE_LENGTH)
}

/** A per-object status is usable when it is an HTTP error status (4xx or 5xx). */
function usableStatus(status: unknown): number | undefined {
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599 ? status : undefined
}

function entryFailure(entry: ErrorEntry): Failure {
  const reason = orttoReason(entry.message)
  const status = usableStatus(entry.status)
  if (status === undefined) {
    const given = entry.status === undefined ? 'none given' : JSON.stringify(entry.status)
    return failure(UNCONFIRMED_STATUS, `Ortto rejected this event without a usable status (${given}): ${reason}`)
  }
  return failure(status, `Ortto rejected this event (${status}): ${reason}`)
}

/**
 * @param status    the HTTP status of the answer (2xx)
 * @param body      the answer parsed as JSON, `undefined` when it was empty or not JSON
 * @param sentCount how many objects the request carried
 */
export function readBatchAnswer(status: number, body: unknown, sentCount: number): Verdict[] {
  const list: unknown = isRecord(body) ? body.errors : undefined
  const isMultiStatus = status === 207

  if (!Array.isArray(list)) {
    if (!isMultiStatus) return Array.from({ length: sentCount }, () => ({ ok: true }))
    const why = body === undefined ? 'a body that is not JSON' : 'no list of errors'
    return unconfirmedAll(sentCount, `Ortto answered 207 (some events failed) with ${why}`)
  }

  const byIndex = new Map<number, ErrorEntry>()
  let unattributed = 0
  for (const raw of list as unknown[]) {
    const index = isRecord(raw) ? raw.index : undefined
    if (!isRecord(raw) || typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= sentCount) {
      unattributed++
      continue
    }
    // A repeated index keeps its first entry: one object, one verdict.
    if (!byIndex.has(index)) byIndex.set(index, { status: raw.status, message: raw.message, raw })
  }

  const unlisted: Verdict =
    unattributed === 0
      ? { ok: true }
      : {
          ok: false,
          failure: failure(
            UNCONFIRMED_STATUS,
            `Ortto reported ${unattributed} error(s) that name no event of this request, so this event's delivery cannot be confirmed`
          )
        }

  return Array.from({ length: sentCount }, (_, i) => {
    const entry = byIndex.get(i)
    return entry ? { ok: false, failure: entryFailure(entry), entry: entry.raw } : unlisted
  })
}

function unconfirmedAll(sentCount: number, why: string): Verdict[] {
  const verdict: Verdict = {
    ok: false,
    failure: failure(UNCONFIRMED_STATUS, `${why}, so this event's delivery cannot be confirmed`)
  }
  return Array.from({ length: sentCount }, () => verdict)
}
