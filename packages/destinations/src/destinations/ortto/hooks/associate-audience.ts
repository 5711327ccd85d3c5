import { ErrorCodes } from '@segment/actions-core'
import type { ActionDefinition, ActionHookResponse, RequestClient } from '@segment/actions-core'
import { API_PATHS } from '../constants'
import { redactApiKey } from '../client/api-key'
import { requestAudience } from '../client/audiences'
import type { OrttoSettings } from '../types'

/**
 * What the hook reads and saves, declared here so the hook knows none of the actions it serves:
 * each action's generated OnMappingSaveInputs / OnMappingSaveOutputs is this shape.
 */
interface OnMappingSaveInputs {
  audience_name?: string
}

interface OnMappingSaveOutputs {
  audience_id?: string
  audience_name?: string
}

type Response = ActionHookResponse<OnMappingSaveOutputs>

const failed = (message: string, apiKey: unknown): Response => ({
  error: { message: redactApiKey(message, apiKey), code: ErrorCodes.CREATE_AUDIENCE_FAILED }
})

/**
 * Finds or creates the Ortto audience named in the mapping and saves its id with the mapping;
 * events of that mapping then carry `audience: {mode, id}`. Ortto returns the existing audience
 * when the name is taken, so saving a mapping twice links the same audience. Failures come back
 * as the hook's error object (what Segment's UI shows), never as a throw.
 */
export async function associateAudience(
  request: RequestClient,
  settings: OrttoSettings,
  inputs: OnMappingSaveInputs | undefined
): Promise<Response> {
  const name = inputs?.audience_name?.trim()
  if (!name) {
    return {
      successMessage: 'No audience name given: events of this mapping will not change audience membership.',
      savedData: {}
    }
  }
  const answer = await requestAudience(request, settings.api_key, API_PATHS.createAudience, { name })
  if (!answer.ok) return failed(`Could not link the audience "${name}": ${answer.failure.message}`, settings.api_key)
  const { id, name: savedName = name } = answer.audience
  return {
    successMessage: `Contacts of this mapping will be linked to the Ortto audience "${savedName}" (id ${id}).`,
    savedData: { audience_id: id, audience_name: savedName }
  }
}

/** actions-core does not export its hook type; this is the hook slot of an action definition. */
type OnMappingSaveHook = NonNullable<
  NonNullable<
    ActionDefinition<OrttoSettings, unknown, unknown, OnMappingSaveInputs, OnMappingSaveOutputs>['hooks']
  >['onMappingSave']
>

/** The `onMappingSave` hook both actions share, written once. */
export const associateAudienceHook: OnMappingSaveHook = {
  label: 'Associate Audience',
  description:
    'Link the Contact to an Audience in Ortto. If the Audience does not already exist, it will be created in Ortto.',
  inputFields: {
    audience_name: {
      label: 'Audience Name',
      description: 'The name of the Ortto Audience to link the Contact to.',
      type: 'string',
      required: false
    }
  },
  outputTypes: {
    audience_id: {
      label: 'ID',
      description: 'The ID of the Ortto Audience Contacts will be linked to.',
      type: 'string',
      required: false
    },
    audience_name: {
      label: 'Name',
      description: 'The name of the Ortto Audience Contacts will be linked to.',
      type: 'string',
      required: false
    }
  },
  performHook: (request, { settings, hookInputs }) => associateAudience(request, settings, hookInputs)
}
