import { isIPv4 } from 'node:net'
import { AUDIENCE_MODES, MAX_ACTIVITY_BYTES, MAX_TEXT_LENGTH, ORTTO_NAMESPACE, type AudienceMode } from './contract'
import { isRecord, type JsonObject } from './json'

/**
 * Per-object rules of Ortto (docs/ortto-api.md) for `/v1/identify`, `/v1/track` and
 * `/v1/audiences/members`. Each object either
 * passes (and comes back in a typed shape the store can apply without re-checking) or fails
 * with the status and reason Ortto would put in its 207 `errors` entry. Only the first problem
 * of an object is reported, as one entry per object is what the contract allows.
 */

export interface ObjectProblem {
  status: number
  message: string
}

export interface AudienceChange {
  mode: AudienceMode
  id: string
}

export interface ValidContact {
  userId?: string
  anonymousId?: string
  ip?: string
  location?: Record<string, unknown>
  traits?: Record<string, unknown>
  timestamp?: string
  messageId?: string
  audience?: AudienceChange
}

export interface ValidActivity extends ValidContact {
  event: string
  properties?: Record<string, unknown>
  namespace?: string
}

/** An audience member: a contact whose `audience` is required. */
export interface ValidMember extends ValidContact {
  audience: AudienceChange
}

export type Validation<T> = { ok: true; value: T } | { ok: false; problem: ObjectProblem }

const isNonBlank = (value: unknown): value is string => typeof value === 'string' && value.trim() !== ''

/** Date, optionally with time and offset: the ISO 8601 forms JSON producers actually write. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/

const isIsoDateTime = (value: string): boolean => ISO_DATE_TIME.test(value) && !Number.isNaN(Date.parse(value))

const MODES: readonly string[] = AUDIENCE_MODES

const AUDIENCE_SHAPE = `{"mode": "${AUDIENCE_MODES.join('" | "')}", "id": "<audience id>"}`

const invalid = (message: string, status = 400): { ok: false; problem: ObjectProblem } => ({
  ok: false,
  problem: { status, message }
})

/** Length in characters (code points), so an emoji counts once, as a person would count it. */
function characterCount(text: string): number {
  // A string can only have more code points than the limit if it has more UTF-16 units.
  return text.length <= MAX_TEXT_LENGTH ? text.length : [...text].length
}

/**
 * Finds the first string value nested anywhere in the object that is over the text limit.
 * Walks with an explicit stack, so a deeply nested body cannot overflow the call stack.
 */
function findOverlongString(root: JsonObject): { path: string; length: number } | undefined {
  const stack: Array<{ value: unknown; path: string }> = [{ value: root, path: '' }]
  while (stack.length > 0) {
    const { value, path } = stack.pop()!
    if (typeof value === 'string') {
      const length = characterCount(value)
      if (length > MAX_TEXT_LENGTH) return { path, length }
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], path: `${path}[${i}]` })
    } else if (isRecord(value)) {
      const keys = Object.keys(value)
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]
        stack.push({ value: value[key], path: path ? `${path}.${key}` : key })
      }
    }
  }
  return undefined
}

function optionalString(object: JsonObject, key: string): Validation<string | undefined> {
  const value = object[key]
  if (value === undefined) return { ok: true, value: undefined }
  if (typeof value !== 'string') return invalid(`${key} must be a string`)
  return { ok: true, value }
}

function optionalObject(object: JsonObject, key: string): Validation<JsonObject | undefined> {
  const value = object[key]
  if (value === undefined) return { ok: true, value: undefined }
  if (!isRecord(value)) return invalid(`${key} must be an object`)
  return { ok: true, value }
}

function readAudience(value: unknown): Validation<AudienceChange | undefined> {
  if (value === undefined) return { ok: true, value: undefined }
  if (!isRecord(value) || typeof value.mode !== 'string' || !MODES.includes(value.mode) || !isNonBlank(value.id)) {
    return invalid(`audience must be ${AUDIENCE_SHAPE}`)
  }
  return { ok: true, value: { mode: value.mode as AudienceMode, id: value.id } }
}

/** The keys shared by contact and activity objects. */
function readContact(raw: unknown): Validation<ValidContact> {
  if (!isRecord(raw)) return invalid('each element must be a JSON object')

  const userId = optionalString(raw, 'user_id')
  if (!userId.ok) return userId
  const anonymousId = optionalString(raw, 'anonymous_id')
  if (!anonymousId.ok) return anonymousId
  if (!isNonBlank(userId.value) && !isNonBlank(anonymousId.value)) {
    return invalid('user_id or anonymous_id is required (a non-blank string)')
  }

  const ip = optionalString(raw, 'ip')
  if (!ip.ok) return ip
  if (ip.value !== undefined && !isIPv4(ip.value)) return invalid('ip must be an IPv4 address such as 180.1.12.125')

  const location = optionalObject(raw, 'location')
  if (!location.ok) return location
  const traits = optionalObject(raw, 'traits')
  if (!traits.ok) return traits
  const timestamp = optionalString(raw, 'timestamp')
  if (!timestamp.ok) return timestamp
  if (timestamp.value !== undefined && !isIsoDateTime(timestamp.value)) {
    return invalid('timestamp must be an ISO 8601 date-time such as 2024-05-01T12:30:00.000Z')
  }
  const messageId = optionalString(raw, 'message_id')
  if (!messageId.ok) return messageId
  const audience = readAudience(raw.audience)
  if (!audience.ok) return audience

  const value: ValidContact = {}
  if (isNonBlank(userId.value)) value.userId = userId.value
  if (isNonBlank(anonymousId.value)) value.anonymousId = anonymousId.value
  if (ip.value !== undefined) value.ip = ip.value
  if (location.value) value.location = location.value
  if (traits.value) value.traits = traits.value
  if (timestamp.value !== undefined) value.timestamp = timestamp.value
  if (messageId.value !== undefined) value.messageId = messageId.value
  if (audience.value) value.audience = audience.value
  return { ok: true, value }
}

function checkTextLengths(raw: JsonObject): Validation<undefined> {
  const overlong = findOverlongString(raw)
  if (!overlong) return { ok: true, value: undefined }
  return invalid(
    `${overlong.path} is ${overlong.length} characters long; text fields take at most ${MAX_TEXT_LENGTH} characters`
  )
}

export function validateContact(raw: unknown): Validation<ValidContact> {
  const contact = readContact(raw)
  if (!contact.ok) return contact
  const lengths = checkTextLengths(raw as JsonObject)
  return lengths.ok ? contact : lengths
}

export function validateMember(raw: unknown): Validation<ValidMember> {
  const contact = validateContact(raw)
  if (!contact.ok) return contact
  const { audience } = contact.value
  if (!audience) return invalid(`audience is required on an audience member: ${AUDIENCE_SHAPE}`)
  return { ok: true, value: { ...contact.value, audience } }
}

export function validateActivity(raw: unknown): Validation<ValidActivity> {
  const contact = readContact(raw)
  if (!contact.ok) return contact
  const object = raw as JsonObject

  const event = object.event
  if (!isNonBlank(event)) return invalid('event is required (a non-blank string)')
  const namespace = optionalString(object, 'namespace')
  if (!namespace.ok) return namespace
  // The client must never send Ortto's own events back (docs/ortto-api.md); one that does is a loop bug.
  if (namespace.value?.trim().toLowerCase() === ORTTO_NAMESPACE) {
    return invalid(`activities from namespace "${ORTTO_NAMESPACE}" came from Ortto and must not be sent back`)
  }
  const properties = optionalObject(object, 'properties')
  if (!properties.ok) return properties

  const lengths = checkTextLengths(object)
  if (!lengths.ok) return lengths
  const bytes = Buffer.byteLength(JSON.stringify(object), 'utf8')
  if (bytes > MAX_ACTIVITY_BYTES) {
    return invalid(`activity is ${bytes} bytes of JSON; an activity may be at most ${MAX_ACTIVITY_BYTES} bytes`, 413)
  }

  const value: ValidActivity = { ...contact.value, event }
  if (properties.value) value.properties = properties.value
  if (namespace.value !== undefined) value.namespace = namespace.value
  return { ok: true, value }
}
