import { defaultValues } from '@segment/actions-core'
import type { DestinationDefinition } from '@segment/actions-core'
import { authentication, extendRequest } from './authentication'
import { ORTTO_SLUG } from './constants'
import type { Settings } from './generated-types'
import trackActivity from './trackActivity'
import upsertContact from './upsertContact'
import upsertContactProfile from './upsertContactProfile'

const destination: DestinationDefinition<Settings> = {
  name: 'Ortto (Actions)',
  slug: ORTTO_SLUG,
  mode: 'cloud',
  description:
    'Send contacts, activities and audience membership from Segment to Ortto, with an honest result for every event.',
  authentication,
  extendRequest,
  presets: [
    {
      name: 'Upsert Contact',
      type: 'automatic',
      partnerAction: 'upsertContact',
      subscribe: 'type = "identify"',
      mapping: defaultValues(upsertContact.fields)
    },
    {
      name: 'Track Activity',
      type: 'automatic',
      partnerAction: 'trackActivity',
      subscribe: 'type = "track"',
      mapping: defaultValues(trackActivity.fields)
    }
  ],
  actions: {
    upsertContact,
    trackActivity,
    // Hidden: today's catalog key of upsertContact, kept so saved subscriptions keep delivering.
    upsertContactProfile
  }
}

export default destination
