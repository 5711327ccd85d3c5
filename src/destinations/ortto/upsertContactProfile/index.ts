import type { ActionDefinition } from '@segment/actions-core'
import type { Settings } from '../generated-types'
import upsertContact from '../upsertContact'
import type { OnMappingSaveInputs, OnMappingSaveOutputs, Payload } from './generated-types'

/**
 * The contact action under the key today's catalog entry gives it. Subscriptions customers saved
 * under this key must keep delivering, so it stays: the very same fields, hook and delivery as
 * `upsertContact`, hidden so new mappings pick `upsertContact`.
 */
const action: ActionDefinition<Settings, Payload, undefined, OnMappingSaveInputs, OnMappingSaveOutputs> = {
  ...upsertContact,
  hidden: true
}

export default action
