import type { InputField } from '@segment/actions-core'
import { AUDIENCE_UPDATE_MODES, MAX_OBJECTS_PER_REQUEST } from './constants'

/**
 * Field definitions shared by the actions of both Ortto destinations. Keys, labels and
 * descriptions are the ones Segment's catalog already shows, so saved mappings carry over.
 * Where actions word a field differently or map it from elsewhere, the builder takes the
 * description (and the default mapping).
 */

/** A default mapping that reads `path`, or `fallback` when `path` does not exist in the event. */
export const pathOr = (path: string, fallback: string) => ({
  '@if': {
    exists: { '@path': path },
    then: { '@path': path },
    else: { '@path': fallback }
  }
})

/** Reads `traits.address.<key>` and falls back to `context.traits.address.<key>`. */
const addressPath = (key: string) => pathOr(`$.traits.address.${key}`, `$.context.traits.address.${key}`)

export const userId: InputField = {
  label: 'User ID',
  description: 'The unique user identifier',
  type: 'string',
  required: { conditions: [{ fieldKey: 'anonymous_id', operator: 'is', value: undefined }] },
  default: { '@path': '$.userId' }
}

export const anonymousId: InputField = {
  label: 'Anonymous ID',
  description: 'Anonymous user identifier',
  type: 'string',
  required: { conditions: [{ fieldKey: 'user_id', operator: 'is', value: undefined }] },
  default: { '@path': '$.anonymousId' }
}

export const enableBatching: InputField = {
  label: 'Batch data',
  description: 'When enabled, events will be sent to Ortto in batches for improved efficiency.',
  type: 'boolean',
  default: true
}

export const batchSize: InputField = {
  label: 'Batch Size',
  description: 'Maximum number of events to include in each batch.',
  type: 'number',
  default: MAX_OBJECTS_PER_REQUEST,
  readOnly: true,
  unsafe_hidden: true
}

/**
 * What becomes of an address, told to users in the field's description. No `format`: an IPv6
 * address failed the whole event against the `ipv4` format; client/ip-address.ts decides instead.
 */
const IP_ADDRESS_RULE =
  'Ortto takes IPv4 addresses: an IPv4-mapped IPv6 address (such as ::ffff:203.0.113.7) is sent as its IPv4 address, ' +
  'and any other value (an IPv6 address, text that is not an address) is left out while the rest of the event is still sent.'

export const ip = (description: string, mapping: InputField['default'] = { '@path': '$.context.ip' }): InputField => ({
  label: 'IP Address',
  description: `${description} ${IP_ADDRESS_RULE}`,
  type: 'string',
  allowNull: true,
  placeholder: '180.1.12.125',
  default: mapping
})

/** `source(key)` is the default mapping of each part, given the key Segment's spec names it by. */
export const location = (description: string, source = addressPath): InputField => ({
  label: 'Location',
  description,
  type: 'object',
  allowNull: true,
  defaultObjectUI: 'keyvalue:only',
  additionalProperties: false,
  properties: {
    country: { label: 'Country', type: 'string', allowNull: true },
    state: { label: 'State', type: 'string', allowNull: true },
    city: { label: 'City', type: 'string', allowNull: true },
    post_code: { label: 'Postcode', type: 'string', allowNull: true }
  },
  default: {
    country: source('country'),
    state: source('state'),
    city: source('city'),
    post_code: source('postal_code')
  }
})

export const traits = (description: string): InputField => ({
  label: 'Custom Contact traits',
  description,
  type: 'object',
  defaultObjectUI: 'keyvalue',
  default: pathOr('$.traits', '$.context.traits')
})

export const audienceUpdateMode: InputField = {
  label: 'Audience update mode',
  description: 'Indicates whether the Contact should be added to or removed from the Audience.',
  type: 'string',
  choices: [
    { label: 'Add', value: AUDIENCE_UPDATE_MODES.add },
    { label: 'Remove', value: AUDIENCE_UPDATE_MODES.remove }
  ],
  default: AUDIENCE_UPDATE_MODES.add
}

export const timestamp = (description: string, hidden: boolean): InputField => ({
  label: 'Timestamp',
  description,
  type: 'string',
  format: 'date-time',
  default: { '@path': '$.timestamp' },
  readOnly: hidden,
  ...(hidden ? { unsafe_hidden: true } : {})
})

export const messageId = (description: string, hidden: boolean): InputField => ({
  label: 'Message ID',
  description,
  type: 'string',
  default: { '@path': '$.messageId' },
  readOnly: hidden,
  ...(hidden ? { unsafe_hidden: true } : {})
})

/** The contact fields both actions share, in the order the catalog lists them. */
export const contactFields = (descriptions: {
  timestamp: string
  messageId: string
  ip: string
  location: string
  traits: string
  hideEventIdentity: boolean
}): Record<string, InputField> => ({
  timestamp: timestamp(descriptions.timestamp, descriptions.hideEventIdentity),
  message_id: messageId(descriptions.messageId, descriptions.hideEventIdentity),
  user_id: userId,
  anonymous_id: anonymousId,
  enable_batching: enableBatching,
  ip: ip(descriptions.ip),
  location: location(descriptions.location),
  traits: traits(descriptions.traits),
  audience_update_mode: audienceUpdateMode,
  batch_size: batchSize
})
