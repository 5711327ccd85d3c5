import type { AudienceUpdateMode } from './constants'

/**
 * What the shared code reads and writes. The inputs are declared here, by what they need, so the
 * client knows none of its callers: each action's generated `Payload` satisfies them as it is.
 */

/** The destination settings every Ortto request needs. */
export interface OrttoSettings {
  api_key: string
}

/** Where a contact is, as a mapping gives it (every part optional, nullable as the fields allow). */
export interface LocationInput {
  country?: string | null
  state?: string | null
  city?: string | null
  post_code?: string | null
}

/** The contact keys a mapped payload may carry. */
export interface ContactInput {
  user_id?: string
  anonymous_id?: string
  ip?: string | null
  location?: LocationInput | null
  traits?: { [k: string]: unknown }
  timestamp?: string
  message_id?: string
}

/** A mapped activity: the contact keys plus what names and describes the activity. */
export interface ActivityInput extends ContactInput {
  event: string
  namespace?: string
  properties?: { [k: string]: unknown }
}

/** What Ortto reads: exactly its keys, nothing of the mapping's own. */

export interface OrttoLocation {
  country?: string
  state?: string
  city?: string
  post_code?: string
}

export interface AudienceRef {
  mode: AudienceUpdateMode
  id: string
}

/** One element of the array sent to `POST /v1/identify` (and, with `audience`, `PUT /v1/audiences/members`). */
export interface ContactObject {
  user_id?: string
  anonymous_id?: string
  ip?: string
  location?: OrttoLocation
  traits?: Record<string, unknown>
  timestamp?: string
  message_id?: string
  audience?: AudienceRef
}

/** One element of the array sent to `POST /v1/track`. */
export interface ActivityObject extends ContactObject {
  event: string
  properties?: Record<string, unknown>
  namespace?: string
}

export type WireObject = ContactObject | ActivityObject
