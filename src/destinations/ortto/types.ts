import type { AudienceUpdateMode } from './constants'

/** What Ortto's /v1/identify and /v1/track read: exactly its keys, nothing of the mapping's own. */

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

/** One element of the array sent to `POST /v1/identify`. */
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
