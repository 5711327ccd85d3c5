/** Facts about Ortto's API that more than one module relies on. */

/** Audience update modes a mapping can choose; `as const` so a misspelt mode does not compile. */
export const AUDIENCE_UPDATE_MODES = {
  add: 'add',
  remove: 'remove'
} as const

type AudienceUpdateModes = typeof AUDIENCE_UPDATE_MODES
export type AudienceUpdateMode = AudienceUpdateModes[keyof AudienceUpdateModes]

/** Ortto (Actions)' slug in Segment's catalog; it also tags this destination's metrics. */
export const ORTTO_SLUG = 'actions-ortto'

/** Segment delivers up to 500 events per call; Ortto takes up to 500 objects per request. */
export const MAX_OBJECTS_PER_REQUEST = 500

/**
 * Ortto accepts at most 2 MB of JSON per request. We read "2 MB" as 2,000,000 bytes: the
 * stricter of the two readings, so a request we build is never refused for its size.
 */
export const MAX_REQUEST_BYTES = 2_000_000

/** Events from this namespace came from Ortto itself; sending them back would loop. */
export const ORTTO_NAMESPACE = 'ortto.com'

/** The one environment variable that may redirect requests (to a local Ortto stand-in). */
export const LOCAL_ENDPOINT_ENV = 'ORTTO_LOCAL_ENDPOINT'

export const API_PATHS = {
  me: '/v1/me',
  identify: '/v1/identify',
  track: '/v1/track',
  createAudience: '/v1/audiences/create',
  getAudience: '/v1/audiences/get',
  audienceMembers: '/v1/audiences/members'
} as const

/** The endpoints that take a JSON array of objects and answer with a batch answer (200 or 207). */
export type BatchPath = typeof API_PATHS.identify | typeof API_PATHS.track | typeof API_PATHS.audienceMembers

/** Identify and track are POSTed; audience members are PUT. */
export type BatchMethod = 'POST' | 'PUT'
