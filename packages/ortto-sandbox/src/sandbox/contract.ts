/**
 * Ortto's API as the sandbox reads it from the contract (docs/ortto-api.md), written here and
 * nowhere else. The sandbox is the oracle the destination is tested against, so it takes none of
 * these from the destination's code: a wrong constant there is refused here, not agreed with.
 */

/** The endpoints the sandbox serves, with the one method each takes. */
export const ORTTO_ENDPOINTS = {
  me: { method: 'GET', path: '/v1/me' },
  identify: { method: 'POST', path: '/v1/identify' },
  track: { method: 'POST', path: '/v1/track' },
  createAudience: { method: 'POST', path: '/v1/audiences/create' },
  getAudience: { method: 'POST', path: '/v1/audiences/get' },
  audienceMembers: { method: 'PUT', path: '/v1/audiences/members' }
} as const

export type OrttoEndpoint = keyof typeof ORTTO_ENDPOINTS

/** The endpoints whose body is a JSON array of objects, answered 200 or 207. */
export type BatchEndpoint = 'identify' | 'track' | 'audienceMembers'

/** The paths whose objects may carry `audience: {mode, id}`, and so change a membership. */
export const MEMBERSHIP_PATHS = [
  ORTTO_ENDPOINTS.identify.path,
  ORTTO_ENDPOINTS.track.path,
  ORTTO_ENDPOINTS.audienceMembers.path
] as const

export type MembershipPath = (typeof MEMBERSHIP_PATHS)[number]

/** At most 500 objects per request. */
export const MAX_OBJECTS_PER_REQUEST = 500

/** "2 MB per request", read as 2,000,000 bytes: the stricter reading, so nothing the contract allows is refused. */
export const MAX_REQUEST_BYTES = 2_000_000

/** "16 kB per activity", read as 16,000 bytes of JSON (UTF-8), the stricter reading too. */
export const MAX_ACTIVITY_BYTES = 16_000

/** Text fields take 4,000 characters; the sandbox applies it to every string value in an object. */
export const MAX_TEXT_LENGTH = 4_000

/** `audience.mode` of a contact or member object. */
export const AUDIENCE_MODES = ['add', 'remove'] as const

export type AudienceMode = (typeof AUDIENCE_MODES)[number]

/** Activities from this namespace came from Ortto itself; a client must never send them back. */
export const ORTTO_NAMESPACE = 'ortto.com'

/** The variable that points the destination at a local stand-in (the sandbox prints it; a test pins both sides agree). */
export const LOCAL_ENDPOINT_ENV = 'ORTTO_LOCAL_ENDPOINT'

/** The rate-limit answer's body, exactly as the contract shows it. */
export const rateLimitBody = (tryInSeconds: number): string =>
  JSON.stringify({ error: { code: 'rate-limit', message: 'rate limit', 'try-in-seconds': tryInSeconds } })

const ENVIRONMENT_LETTERS = new Set(['p', 's'])

const isLowerAsciiLetter = (char: string): boolean => char >= 'a' && char <= 'z'

/** A character of a Bearer token: visible ASCII, so no space or control character (the key travels in a header). */
const isVisibleAscii = (char: string): boolean => char >= '!' && char <= '~'

/**
 * Whether `key` has the contract's shape `<env><region>-<secret>`: `p` or `s`, exactly two
 * letters a–z, a hyphen, then a non-empty secret. Read character by character from the contract
 * rather than shared with the destination's parser, so the two can be tested against each other.
 */
export function isOrttoApiKey(key: unknown): key is string {
  if (typeof key !== 'string' || key.length < 5) return false
  const [environment, region1, region2, hyphen] = key
  const secret = key.slice(4)
  return (
    ENVIRONMENT_LETTERS.has(environment) &&
    isLowerAsciiLetter(region1) &&
    isLowerAsciiLetter(region2) &&
    hyphen === '-' &&
    [...secret].every(isVisibleAscii)
  )
}
