import type { ActionDefinition } from '@segment/actions-core'
import { actionHandlers } from '../client'
import { ORTTO_SLUG } from '../constants'
import type { Settings } from '../generated-types'
import upsertContact, { contactDelivery } from '../upsertContact'
import type { OnMappingSaveInputs, OnMappingSaveOutputs, Payload } from './generated-types'

/**
 * The contact action under the key today's catalog entry gives it. Subscriptions customers saved
 * under this key must keep delivering, so it stays: the very same fields, hook and delivery as
 * `upsertContact`, hidden so new mappings pick `upsertContact`. Its figures are reported under
 * its own key, so monitoring shows which key the traffic still comes through.
 */
const action: ActionDefinition<Settings, Payload, undefined, OnMappingSaveInputs, OnMappingSaveOutputs> = {
  ...upsertContact,
  hidden: true,
  ...actionHandlers({ slug: ORTTO_SLUG, action: 'upsertContactProfile' }, contactDelivery)
}

export default action
