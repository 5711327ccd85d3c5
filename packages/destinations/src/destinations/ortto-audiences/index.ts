import type { AudienceDestinationDefinition } from '@segment/actions-core'
import { authentication, extendRequest } from '../ortto/authentication'
import { audienceFields, createAudience, getAudience } from './audiences'
import { ORTTO_AUDIENCES_SLUG } from './constants'
import type { AudienceSettings, Settings } from './generated-types'
import syncAudience from './syncAudience'

/**
 * Ortto (Audiences): Segment Engage audiences kept in step in Ortto. It shares Ortto (Actions)'
 * settings, client and delivery path (../ortto), so the two folders travel together.
 */
const destination: AudienceDestinationDefinition<Settings, AudienceSettings> = {
  name: 'Ortto (Audiences)',
  slug: ORTTO_AUDIENCES_SLUG,
  mode: 'cloud',
  description:
    'Sync Segment Engage audiences to Ortto and keep their membership in step, with an honest result for every event.',
  authentication,
  extendRequest,
  audienceFields,
  audienceConfig: {
    mode: { type: 'synced', full_audience_sync: false },
    createAudience,
    getAudience
  },
  actions: { syncAudience }
}

export default destination
