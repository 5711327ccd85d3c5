import dayjs from 'dayjs'
import { ORTTO_NAMESPACE } from '../constants'
import type {
  ActivityInput,
  ActivityObject,
  AudienceRef,
  ContactInput,
  ContactObject,
  LocationInput,
  OrttoLocation
} from '../types'
import { invalidEvent } from './failures'
import { ipv4ForWire } from './ip-address'
import { hasOwn, isRecord, nonBlank } from './json'
import type { Failure } from './failures'

/**
 * Turns one mapped payload into the object Ortto reads, or says why it must not be sent.
 * Bodies are built key by key, so mapping-only fields (enable_batching, batch_size,
 * audience_update_mode) never reach the wire, and the payload itself is never mutated.
 */
export type Prepared<T> = ToSend<T> | ToSkip | Invalid

interface ToSend<T> {
  kind: 'send'
  object: T
}

/** Acknowledged without a request (an event Ortto itself sent). */
interface ToSkip {
  kind: 'skip'
  reason: string
}

interface Invalid {
  kind: 'invalid'
  failure: Failure
}

/** The first `count` own entries of an object, for a copy that starts the way the original does. */
function firstEntries(value: Record<string, unknown>, count: number): Array<[string, unknown]> {
  const entries: Array<[string, unknown]> = []
  for (const key in value) {
    if (entries.length === count) break
    if (hasOwn(value, key)) entries.push([key, value[key]])
  }
  return entries
}

/**
 * `value` without keys that are the empty string (Ortto has no field to put them in), at every
 * depth of nested objects but not inside arrays, as Segment's own Ortto build does; at the top
 * (`top`) also without undefined values and without the key `topKeyLeftOut`. The object itself
 * comes back when nothing needs leaving out (the usual case: one pass, no allocation); it is
 * never modified.
 */
function withoutEmptyKeys(
  value: Record<string, unknown>,
  top: boolean,
  topKeyLeftOut?: string
): Record<string, unknown> {
  let copy: Array<[string, unknown]> | undefined
  let seen = 0
  for (const key in value) {
    if (!hasOwn(value, key)) continue
    const entry = value[key]
    const leaveOut = key === '' || (top && (entry === undefined || key === topKeyLeftOut))
    const cleaned = !leaveOut && isRecord(entry) ? withoutEmptyKeys(entry, false) : entry
    if (copy === undefined && (leaveOut || cleaned !== entry)) copy = firstEntries(value, seen)
    if (copy !== undefined && !leaveOut) copy.push([key, cleaned])
    seen++
  }
  // fromEntries defines own properties, so a "__proto__" name stays a name.
  return copy === undefined ? value : Object.fromEntries(copy)
}

/**
 * Traits or properties as sent: empty-string keys (and `keyLeftOut`, when given) left out, and
 * nothing at all when none is left.
 */
function keyValues(value: unknown, keyLeftOut?: string): Record<string, unknown> | undefined {
  if (!isRecord(value)) return undefined
  const cleaned = withoutEmptyKeys(value, true, keyLeftOut)
  for (const key in cleaned) if (hasOwn(cleaned, key)) return cleaned
  return undefined
}

function location(value: LocationInput | null | undefined): OrttoLocation | undefined {
  if (!value) return undefined
  const result: OrttoLocation = {}
  const country = nonBlank(value.country)
  const state = nonBlank(value.state)
  const city = nonBlank(value.city)
  const postCode = nonBlank(value.post_code)
  if (country) result.country = country
  if (state) result.state = state
  if (city) result.city = city
  if (postCode) result.post_code = postCode
  return country || state || city || postCode ? result : undefined
}

/** Already UTC ISO 8601 with milliseconds (what Segment's libraries send), its fields captured. */
const CANONICAL_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{3}Z$/

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

const isLeapYear = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)

const daysIn = (year: number, month: number) => (month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1])

/** ISO 8601 without an offset: a date, or a date and a time. */
const WITHOUT_OFFSET = /^(\d{4}-\d{2}-\d{2})(?:[Tt ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?$/

/**
 * A timestamp without an offset is UTC, whatever time zone the host runs in (dayjs, like Date,
 * would read it in the host's zone): it gets the "Z" it left out.
 */
function withUtcOffset(value: string): string {
  const m = WITHOUT_OFFSET.exec(value)
  return m ? `${m[1]}T${m[2] ?? '00:00:00'}Z` : value
}

/** UTC ISO 8601 with milliseconds, whatever offset the timestamp arrived in (none means UTC). */
function utcTimestamp(value: string): string | undefined {
  // Fast path (the hot path, measured): a canonical string whose fields name a real instant is
  // already what dayjs would give, and parsing a Date costs more than the rest of the event.
  const m = CANONICAL_UTC.exec(value)
  if (m) {
    const year = Number(m[1])
    const month = Number(m[2])
    const day = Number(m[3])
    const real = month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month)
    if (real && Number(m[4]) <= 23 && Number(m[5]) <= 59 && Number(m[6]) <= 59) return value
  }
  const parsed = dayjs(withUtcOffset(value))
  return parsed.isValid() ? parsed.toISOString() : undefined
}

/**
 * Writes the contact keys of a payload into `object` (a fresh object the caller owns), or returns
 * why the event cannot be sent. Filling one object, rather than spreading a contact into an
 * activity, keeps the hot path cheap (a spread here cost more than all the rest together).
 * `traitLeftOut` names a trait that is not sent (it told the caller something, not Ortto).
 */
function fillContact(
  object: ContactObject,
  payload: ContactInput,
  audience: AudienceRef | undefined,
  traitLeftOut?: string
) {
  const userId = nonBlank(payload.user_id)
  const anonymousId = nonBlank(payload.anonymous_id)
  if (!userId && !anonymousId) {
    return invalidEvent(
      'The event has neither a User ID nor an Anonymous ID; Ortto needs at least one to find the contact. ' +
        'Map user_id or anonymous_id to a non-empty value.'
    )
  }
  if (userId) object.user_id = userId
  if (anonymousId) object.anonymous_id = anonymousId
  // Only an address Ortto takes; any other leaves the key off, never the event.
  const ip = ipv4ForWire(payload.ip)
  if (ip) object.ip = ip
  const where = location(payload.location)
  if (where) object.location = where
  const traits = keyValues(payload.traits, traitLeftOut)
  if (traits) object.traits = traits
  const rawTimestamp = nonBlank(payload.timestamp)
  if (rawTimestamp) {
    const timestamp = utcTimestamp(rawTimestamp)
    if (!timestamp) {
      return invalidEvent('The Timestamp is not a valid ISO 8601 date-time; map it to a value such as $.timestamp.')
    }
    object.timestamp = timestamp
  }
  const messageId = nonBlank(payload.message_id)
  if (messageId) object.message_id = messageId
  if (audience) object.audience = audience
  return undefined
}

export function prepareContact(
  payload: ContactInput,
  audience: AudienceRef | undefined,
  traitLeftOut?: string
): Prepared<ContactObject> {
  const object: ContactObject = {}
  const failure = fillContact(object, payload, audience, traitLeftOut)
  return failure ? { kind: 'invalid', failure } : { kind: 'send', object }
}

export function prepareActivity(payload: ActivityInput, audience: AudienceRef | undefined): Prepared<ActivityObject> {
  const namespace = nonBlank(payload.namespace)
  if (namespace?.trim().toLowerCase() === ORTTO_NAMESPACE) {
    return {
      kind: 'skip',
      reason: `Not sent: the event came from Ortto itself (namespace "${ORTTO_NAMESPACE}"); sending it back would loop.`
    }
  }
  const event = nonBlank(payload.event)
  if (!event) {
    return {
      kind: 'invalid',
      failure: invalidEvent('The Event name is blank; Ortto needs a name for every activity. Map event to $.event.')
    }
  }
  const object = {} as ActivityObject
  const failure = fillContact(object, payload, audience)
  if (failure) return { kind: 'invalid', failure }
  object.event = event
  const properties = keyValues(payload.properties)
  if (properties) object.properties = properties
  if (namespace) object.namespace = namespace
  return { kind: 'send', object }
}
