import type { ActionDefinition } from '@segment/actions-core'
import { actionHandlers, linkedAudience, prepareContact } from '../client'
import type { ActionDelivery } from '../client'
import { API_PATHS, ORTTO_SLUG } from '../constants'
import { contactFields } from '../fields'
import type { ContactObject } from '../types'
import type { Settings } from '../generated-types'
import { associateAudienceHook } from '../hooks/associate-audience'
import type { OnMappingSaveInputs, OnMappingSaveOutputs, Payload } from './generated-types'

/** How a contact is delivered, under either of its keys (see upsertContactProfile). */
export const contactDelivery: ActionDelivery<Payload, ContactObject> = {
  method: 'POST',
  path: API_PATHS.identify,
  audience: linkedAudience,
  prepare: prepareContact
}

const action: ActionDefinition<Settings, Payload, undefined, OnMappingSaveInputs, OnMappingSaveOutputs> = {
  title: 'Upsert Contact',
  description: 'Create or update a Contact in Ortto',
  platform: 'cloud',
  defaultSubscription: 'type = "identify"',
  fields: contactFields({
    timestamp: 'Event timestamp (ISO 8601)',
    messageId: 'Message ID',
    ip: "The Contact's IP address.",
    location: "The Contact's location. Takes priority over the IP address.",
    traits: 'An object containing key-value pairs representing custom properties assigned to Contact profile',
    hideEventIdentity: true
  }),
  hooks: { onMappingSave: associateAudienceHook },
  ...actionHandlers({ slug: ORTTO_SLUG, action: 'upsertContact' }, contactDelivery)
}

export default action
