import { defaultValues, InvalidAuthenticationError } from '@segment/actions-core'
import type { DestinationDefinition } from '@segment/actions-core'
import { apiOrigin } from './client'
import { failureFromStatus } from './client/failures'
import { READ_ONCE, answerValue, readAnswer } from './client/answer'
import { API_PATHS } from './constants'
import type { Settings } from './generated-types'
import trackActivity from './trackActivity'
import upsertContact from './upsertContact'
import upsertContactProfile from './upsertContactProfile'

const destination: DestinationDefinition<Settings> = {
  name: 'Ortto (Actions)',
  slug: 'actions-ortto',
  mode: 'cloud',
  description:
    'Send contacts, activities and audience membership from Segment to Ortto, with an honest result for every event.',
  authentication: {
    scheme: 'custom',
    fields: {
      api_key: {
        label: 'API Key',
        description: 'Ortto API key',
        type: 'password',
        required: true
      }
    },
    testAuthentication: async (request, { settings }) => {
      // apiOrigin rejects a malformed key before any request is made.
      const response = await request(apiOrigin(settings.api_key) + API_PATHS.me, {
        ...READ_ONCE,
        throwHttpErrors: false
      })
      if (!response.ok) {
        const answer = await readAnswer(response, settings.api_key)
        throw new InvalidAuthenticationError(failureFromStatus(answer.status, answerValue(answer)).message)
      }
      return true
    }
  },
  extendRequest: ({ settings }) => ({
    headers: { Authorization: `Bearer ${settings.api_key}` }
  }),
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
