/**
 * The spool's lines. Each is `<crc32 of the JSON, 8 hex digits> <JSON>\n`, so a line is checked on
 * its own and a person can read the file with `cut -d' ' -f2- | jq`. A segment file holds, in order:
 *
 * - `{"t":"spool","version":2}`, its first line (files of version 1, which had no `c`, `x` or `f`
 *   lines, are read too);
 * - `{"t":"s","i":0,"subscription":{name, destination, partnerAction, subscribe, mapping}}`: a
 *   subscription, declared once per file before the first event owed to it (events refer to it by `i`);
 * - `{"t":"c","n":0,"r":"batch","at":"…","e":[[index,[0,1]],[index,[0],"messageId"],…],"b":{…}}`: a
 *   call as it came (`b`, its body's own text; `r`, its kind: `batch` or an event type), received at
 *   `at`, whose events taken in are numbered from `n` on in the order of `e`: each the call at `index`
 *   of the batch (0 for a single call), owed to the subscriptions listed, with the messageId ingest
 *   made for it when the call had none. A restart rebuilds each event from these as ingest made it;
 * - `{"t":"x","i":0,"c":{…}}`: a context shared by events of `e` lines below, written once;
 * - `{"t":"e","n":0,"s":[0,1],"e":{…},"x":0}`: event `n` of the file, as it was taken in, owed to the
 *   subscriptions `s`; with `x`, its `context` is the context `x` (compaction writes these);
 * - `{"t":"a","d":[n,i,n,i,…]}`: deliveries whose end is recorded (delivered, or in the dead-letter
 *   file), as pairs of event and subscription;
 * - `{"t":"f","d":[n,i,k,…]}`: deliveries that failed retryably, as triples of event, subscription
 *   and the attempts made so far (the last triple of a delivery counts).
 */
import { crc32 } from 'node:zlib'
import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import { isCallKind, type CallKind } from '../../segment-events'
import { isRecord } from '../../json'

const SPOOL_FORMAT_VERSION = 2
const READABLE_VERSIONS = [1, 2]

/** A subscription as the spool keeps it: enough to deliver an event again after a restart. */
export interface SpooledSubscription {
  name: string
  /** The folder of the destination it runs on (`ortto`, `ortto-audiences`). */
  destination: string
  partnerAction: string
  subscribe: string
  mapping: JSONObject
}

/** An event of a `c` line: its index in the call, its subscriptions in the file, the messageId made for it. */
export type CallEntry = [index: number, subscriptions: number[]] | [index: number, subscriptions: number[], string]

export type SpoolRecord =
  | { t: 'spool'; version: number }
  | { t: 's'; i: number; subscription: SpooledSubscription }
  | { t: 'c'; n: number; r: CallKind; at: string; e: CallEntry[]; b: Record<string, unknown> }
  | { t: 'x'; i: number; c: JSONObject }
  | { t: 'e'; n: number; s: number[]; e: SegmentEvent; x?: number }
  | { t: 'a'; d: number[] }
  | { t: 'f'; d: number[] }

/** What goes into a file in one write: text, and bodies as they came (never copied into a string). */
export type Chunk = string | Buffer

const hex = (value: number): string => value.toString(16).padStart(8, '0')

/** One line for a record whose JSON is already written. */
const line = (json: string): string => `${hex(crc32(json))} ${json}\n`

export const headerLine = (): string => line(`{"t":"spool","version":${SPOOL_FORMAT_VERSION}}`)

export const subscriptionLine = (i: number, subscription: SpooledSubscription): string =>
  line(JSON.stringify({ t: 's', i, subscription }))

export const contextLine = (i: number, context: JSONObject): string =>
  line(`{"t":"x","i":${i},"c":${JSON.stringify(context)}}`)

/** An event's line; with `contextIndex`, its context is written as a placeholder that the context `x` replaces. */
export const eventLine = (
  n: number,
  subscriptions: readonly number[],
  event: SegmentEvent,
  contextIndex?: number
): string =>
  line(
    contextIndex === undefined
      ? `{"t":"e","n":${n},"s":[${subscriptions.join(',')}],"e":${JSON.stringify(event)}}`
      : `{"t":"e","n":${n},"s":[${subscriptions.join(',')}],"x":${contextIndex},"e":${JSON.stringify({ ...event, context: 0 })}}`
  )

const CR = 0x0d
const LF = 0x0a
const SPACE = 0x20

/**
 * A call's line, with its body's bytes as they came. JSON text holds a line break only as
 * whitespace between tokens (never inside a string), so a body with some has them made spaces.
 */
export function callLine(n: number, kind: CallKind, at: string, entries: readonly CallEntry[], body: Buffer): Chunk[] {
  let bytes = body
  if (body.includes(LF) || body.includes(CR)) {
    bytes = Buffer.from(body)
    for (let i = 0; i < bytes.length; i++) if (bytes[i] === LF || bytes[i] === CR) bytes[i] = SPACE
  }
  const head = `{"t":"c","n":${n},"r":${JSON.stringify(kind)},"at":${JSON.stringify(at)},"e":${JSON.stringify(entries)},"b":`
  const tail = '}'
  const sum = crc32(tail, crc32(bytes, crc32(head)))
  return [`${hex(sum)} ${head}`, bytes, `${tail}\n`]
}

export const ackLine = (pairs: readonly number[]): string => line(`{"t":"a","d":[${pairs.join(',')}]}`)

export const attemptsLine = (triples: readonly number[]): string => line(`{"t":"f","d":[${triples.join(',')}]}`)

/** A line read back: its record, or why it is not one. */
type ReadLine = { ok: true; record: SpoolRecord } | { ok: false; problem: string }

const CHECKSUM = /^[0-9a-f]{8} $/

/** One line of a file (without its newline), its checksum checked against its bytes. */
export function readLine(bytes: Buffer): ReadLine {
  if (bytes.length < 9 || !CHECKSUM.test(bytes.toString('latin1', 0, 9))) {
    return { ok: false, problem: 'it does not start with an 8-digit checksum and a space' }
  }
  const json = bytes.subarray(9)
  if (bytes.toString('latin1', 0, 8) !== hex(crc32(json))) {
    return { ok: false, problem: 'its checksum does not match its content' }
  }
  let record: unknown
  try {
    record = JSON.parse(json.toString('utf8'))
  } catch {
    return { ok: false, problem: 'its checksum matches but it is not JSON' }
  }
  const problem = shapeProblem(record)
  return problem ? { ok: false, problem } : { ok: true, record: record as SpoolRecord }
}

const isIndex = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0
const isIndexList = (value: unknown): value is number[] => Array.isArray(value) && value.every(isIndex)

/** Whether each entry of a `c` line names a call its body has. */
function callEntriesFit(record: Record<string, unknown>): boolean {
  const { e: entries, b: body, r: kind } = record
  if (!Array.isArray(entries) || !isRecord(body)) return false
  const calls = kind === 'batch' ? body.batch : undefined
  if (kind === 'batch' && (!Array.isArray(calls) || !(body.context === undefined || isRecord(body.context)))) {
    return false
  }
  return entries.every((entry: unknown) => {
    if (!Array.isArray(entry) || entry.length < 2 || entry.length > 3) return false
    const [index, subscriptions, messageId] = entry as unknown[]
    if (!isIndex(index) || !isIndexList(subscriptions)) return false
    if (messageId !== undefined && typeof messageId !== 'string') return false
    return calls === undefined ? index === 0 : isRecord((calls as unknown[])[index])
  })
}

function shapeProblem(record: unknown): string | undefined {
  if (!isRecord(record)) return 'it is not a JSON object'
  switch (record.t) {
    case 'spool':
      return READABLE_VERSIONS.includes(record.version as number)
        ? undefined
        : `it is a spool of version ${JSON.stringify(record.version)}, and this pipeline reads versions ${READABLE_VERSIONS.join(' and ')}`
    case 's': {
      const s = record.subscription
      const fine =
        isIndex(record.i) &&
        isRecord(s) &&
        ['name', 'destination', 'partnerAction', 'subscribe'].every((key) => typeof s[key] === 'string') &&
        isRecord(s.mapping)
      return fine ? undefined : 'it is not a well-formed subscription'
    }
    case 'c':
      return isIndex(record.n) && isCallKind(record.r) && typeof record.at === 'string' && callEntriesFit(record)
        ? undefined
        : 'it is not a well-formed call'
    case 'x':
      return isIndex(record.i) && isRecord(record.c) ? undefined : 'it is not a well-formed context'
    case 'e':
      return isIndex(record.n) &&
        isIndexList(record.s) &&
        isRecord(record.e) &&
        (record.x === undefined || isIndex(record.x))
        ? undefined
        : 'it is not a well-formed event'
    case 'a':
      return isIndexList(record.d) && record.d.length % 2 === 0
        ? undefined
        : 'it is not a well-formed list of recorded ends'
    case 'f':
      return isIndexList(record.d) && record.d.length % 3 === 0 ? undefined : 'it is not a well-formed list of attempts'
    default:
      return `it has an unknown kind ${JSON.stringify(record.t)}`
  }
}
