import type { ActionDefinition } from '@segment/actions-core'
import { actionHandlers, linkedAudience, prepareActivity } from '../client'
import { API_PATHS, ORTTO_SLUG } from '../constants'
import { contactFields } from '../fields'
import type { ActivityObject } from '../types'
import type { Settings } from '../generated-types'
import { associateAudienceHook } from '../hooks/associate-audience'
import type { OnMappingSaveInputs, OnMappingSaveOutputs, Payload } from './generated-types'

const action: ActionDefinition<Settings, Payload, undefined, OnMappingSaveInputs, OnMappingSaveOutputs> = {
  title: 'Track Activity',
  description: 'Track user activity',
  platform: 'cloud',
  defaultSubscription: 'type = "track"',
  fields: {
    ...contactFields({
      timestamp:
        'Event timestamp in ISO 8601 format. Used with the Message ID to uniquely identify an activity in Ortto. If not provided, duplicate activities may occur.',
      messageId:
        'Message ID. Combined with the event timestamp to uniquely identify an activity in Ortto. If omitted, duplicate activities may occur.',
      ip: 'The IP address of the location where the activity occurred.',
      location: 'The location where the activity occurred. Takes priority over the IP address.',
      traits: "key-value custom property pairs to be assigned to the Contact's profile",
      hideEventIdentity: false
    }),
    event: {
      label: 'Event name',
      description: 'Event name',
      type: 'string',
      required: true,
      default: { '@path': '$.event' }
    },
    namespace: {
      label: 'Namespace',
      description: 'Event namespace',
      type: 'string',
      readOnly: true,
      unsafe_hidden: true,
      default: { '@path': '$.context.app.namespace' }
    },
    properties: {
      label: 'Activity properties',
      description: 'An object containing key-value pairs representing activity attributes',
      type: 'object',
      defaultObjectUI: 'keyvalue',
      default: { '@path': '$.properties' }
    }
  },
  hooks: { onMappingSave: associateAudienceHook },
  ...actionHandlers<Payload, ActivityObject>(
    { slug: ORTTO_SLUG, action: 'trackActivity' },
    {
      method: 'POST',
      path: API_PATHS.track,
      audience: linkedAudience,
      prepare: prepareActivity
    }
  )
}

export default action
