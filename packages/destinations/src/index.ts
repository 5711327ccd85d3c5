/**
 * The package's one public module. Hosts that import this package find each destination by its
 * catalog slug; the other packages of this repository (the sandbox's tests, the local pipeline)
 * import only from here, never a file inside the destination folders (a lint rule refuses it).
 */
import ortto from './destinations/ortto'
import orttoAudiences from './destinations/ortto-audiences'

/** Destinations in this package, by the slug Segment's catalog knows them by. */
export const destinations = {
  'actions-ortto': ortto,
  'actions-ortto-audiences': orttoAudiences
}

export { ortto, orttoAudiences }
export default destinations

// What generate:metadata-payload writes for each, as Segment's catalog reads it.
export { default as orttoMetadata } from './destinations/ortto/metadata.json'
export { default as audiencesMetadata } from './destinations/ortto-audiences/metadata.json'

export type { Settings } from './destinations/ortto/generated-types'
export type { AudienceSettings } from './destinations/ortto-audiences/generated-types'
export type { OrttoSettings } from './destinations/ortto/types'
// What an action's mapping makes of an event.
export type { Payload as TrackActivityPayload } from './destinations/ortto/trackActivity/generated-types'
export type { Payload as SyncAudiencePayload } from './destinations/ortto-audiences/syncAudience/generated-types'

// The API key: its shape, the local stand-in's origin, and its removal from any text shown.
export { isWellFormedApiKey, localOrigin, redactApiKey } from './destinations/ortto/client/api-key'
export { redactDeep } from './destinations/ortto/client/answer'
export { LOCAL_ENDPOINT_ENV } from './destinations/ortto/constants'

// How a failed call is read: whether to try again, and when Ortto said to.
export { isRetryableStatus, retryAfterSeconds } from './destinations/ortto/client/failures'

// Ortto's API as the destinations use it, for the sandbox to be checked against.
export {
  API_PATHS,
  AUDIENCE_UPDATE_MODES,
  MAX_OBJECTS_PER_REQUEST,
  MAX_REQUEST_BYTES,
  ORTTO_NAMESPACE
} from './destinations/ortto/constants'
export { readBatchAnswer } from './destinations/ortto/client/batch-answer'

// Engage's computation classes, which Ortto (Audiences) syncs.
export { COMPUTATION_CLASSES } from './destinations/ortto-audiences/constants'
