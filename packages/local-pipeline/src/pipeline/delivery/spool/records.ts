/**
 * The spool's lines. Each is `<crc32 of the JSON, 8 hex digits> <JSON>\n`, so a line is checked on
 * its own and a person can read the file with `cut -d' ' -f2- | jq`. A segment file holds, in order:
 *
 * - `{"t":"spool","version":1}`, its first line;
 * - `{"t":"s","i":0,"subscription":{name, destination, partnerAction, subscribe, mapping}}`: a
 *   subscription, declared once per file before the first event owed to it (events refer to it by `i`);
 * - `{"t":"e","n":0,"s":[0,1],"e":{…}}`: event `n` of the file, as it was taken in, owed to the
 *   subscriptions `s`;
 * - `{"t":"a","d":[n,i,n,i,…]}`: deliveries whose end is recorded (delivered, or in the dead-letter
 *   file), as pairs of event and subscription.
 */
import { crc32 } from 'node:zlib'
import type { JSONObject, SegmentEvent } from '@segment/actions-core'

const SPOOL_FORMAT_VERSION = 1

/** A subscription as the spool keeps it: enough to deliver an event again after a restart. */
export interface SpooledSubscription {
  name: string
  /** The folder of the destination it runs on (`ortto`, `ortto-audiences`). */
  destination: string
  partnerAction: string
  subscribe: string
  mapping: JSONObject
}

export type SpoolRecord =
  | { t: 'spool'; version: number }
  | { t: 's'; i: number; subscription: SpooledSubscription }
  | { t: 'e'; n: number; s: number[]; e: SegmentEvent }
  | { t: 'a'; d: number[] }

const hex = (value: number): string => value.toString(16).padStart(8, '0')

/** One line for a record whose JSON is already written. */
const line = (json: string): string => `${hex(crc32(json))} ${json}\n`

export const headerLine = (): string => line(`{"t":"spool","version":${SPOOL_FORMAT_VERSION}}`)

export const subscriptionLine = (i: number, subscription: SpooledSubscription): string =>
  line(JSON.stringify({ t: 's', i, subscription }))

export const eventLine = (n: number, subscriptions: readonly number[], event: SegmentEvent): string =>
  line(`{"t":"e","n":${n},"s":[${subscriptions.join(',')}],"e":${JSON.stringify(event)}}`)

export const ackLine = (pairs: readonly number[]): string => line(`{"t":"a","d":[${pairs.join(',')}]}`)

/** A line read back: its record, or why it is not one. */
type ReadLine = { ok: true; record: SpoolRecord } | { ok: false; problem: string }

export function readLine(text: string): ReadLine {
  const match = /^([0-9a-f]{8}) (.*)$/s.exec(text)
  if (!match) return { ok: false, problem: 'it does not start with an 8-digit checksum and a space' }
  const [, sum, json] = match
  if (sum !== hex(crc32(json))) return { ok: false, problem: 'its checksum does not match its content' }
  let record: unknown
  try {
    record = JSON.parse(json)
  } catch {
    return { ok: false, problem: 'its checksum matches but it is not JSON' }
  }
  const problem = shapeProblem(record)
  return problem ? { ok: false, problem } : { ok: true, record: record as SpoolRecord }
}

const isIndex = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

function shapeProblem(record: unknown): string | undefined {
  if (!isObject(record)) return 'it is not a JSON object'
  switch (record.t) {
    case 'spool':
      return record.version === SPOOL_FORMAT_VERSION
        ? undefined
        : `it is a spool of version ${JSON.stringify(record.version)}, and this pipeline reads version ${SPOOL_FORMAT_VERSION}`
    case 's': {
      const s = record.subscription
      const fine =
        isIndex(record.i) &&
        isObject(s) &&
        ['name', 'destination', 'partnerAction', 'subscribe'].every((key) => typeof s[key] === 'string') &&
        isObject(s.mapping)
      return fine ? undefined : 'it is not a well-formed subscription'
    }
    case 'e':
      return isIndex(record.n) && Array.isArray(record.s) && record.s.every(isIndex) && isObject(record.e)
        ? undefined
        : 'it is not a well-formed event'
    case 'a':
      return Array.isArray(record.d) && record.d.length % 2 === 0 && record.d.every(isIndex)
        ? undefined
        : 'it is not a well-formed list of recorded ends'
    default:
      return `it has an unknown kind ${JSON.stringify(record.t)}`
  }
}
