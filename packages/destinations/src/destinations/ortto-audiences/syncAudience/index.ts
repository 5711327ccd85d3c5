import type { ActionDefinition } from '@segment/actions-core'
import { actionHandlers } from '../../ortto/client'
import { API_PATHS } from '../../ortto/constants'
import type { ContactObject } from '../../ortto/types'
import { ORTTO_AUDIENCES_SLUG } from '../constants'
import type { AudienceSettings, Settings } from '../generated-types'
import { fields } from './fields'
import type { Payload } from './generated-types'
import { membership, prepareMember } from './membership'

const action: ActionDefinition<Settings, Payload, AudienceSettings> = {
  title: 'Sync Audience',
  description: 'Sync contacts to Ortto',
  platform: 'cloud',
  defaultSubscription: 'type = "identify" or type = "track"',
  fields,
  // The core's delivery path: 500 objects and 2 MB per request, 207s read per event, halting
  // after 401/403/429; members are PUT.
  ...actionHandlers<Payload, ContactObject>(
    { slug: ORTTO_AUDIENCES_SLUG, action: 'syncAudience' },
    {
      method: 'PUT',
      path: API_PATHS.audienceMembers,
      audience: membership,
      prepare: prepareMember
    }
  )
}

export default action
