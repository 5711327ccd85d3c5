import { ErrorCodes, InvalidAuthenticationError } from '@segment/actions-core'
import type { ActionDefinition, ActionHookResponse, RequestClient } from '@segment/actions-core'
import { API_PATHS } from '../constants'
import type { Settings } from '../generated-types'
import { apiOrigin, redactApiKey } from '../client/api-key'
import { failureFromStatus, failureFromTransportError } from '../client/failures'
import { isRecord, nonBlank } from '../client/json'
import { READ_ONCE, answerValue, readAnswer } from '../client/answer'
import type { OrttoAnswer } from '../client/answer'
// Every action's generated types declare the same hook types; any one of them will do.
import type { OnMappingSaveInputs, OnMappingSaveOutputs } from '../upsertContact/generated-types'

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
  settings: Settings,
  inputs: OnMappingSaveInputs | undefined
): Promise<Response> {
  const name = inputs?.audience_name?.trim()
  if (!name) {
    return {
      successMessage: 'No audience name given: events of this mapping will not change audience membership.',
      savedData: {}
    }
  }
  let answer: OrttoAnswer
  try {
    const response = await request(apiOrigin(settings.api_key) + API_PATHS.createAudience, {
      ...READ_ONCE,
      method: 'POST',
      json: { name },
      throwHttpErrors: false
    })
    answer = await readAnswer(response, settings.api_key)
  } catch (error) {
    const reason =
      error instanceof InvalidAuthenticationError ? error.message : failureFromTransportError(error).message
    return failed(`Could not link the audience "${name}": ${reason}`, settings.api_key)
  }
  if (answer.status < 200 || answer.status > 299) {
    const reason = failureFromStatus(answer.status, answerValue(answer)).message
    return failed(`Could not link the audience "${name}": ${reason}`, settings.api_key)
  }
  const body = isRecord(answer.json) ? answer.json : {}
  // A blank id saved with the mapping would send every event without its audience, silently.
  const id = nonBlank(body.id)
  if (!id) {
    return failed(`Could not link the audience "${name}": Ortto's answer carried no audience id.`, settings.api_key)
  }
  const savedName = nonBlank(body.name) ?? name
  return {
    successMessage: `Contacts of this mapping will be linked to the Ortto audience "${savedName}" (id ${id}).`,
    savedData: { audience_id: id, audience_name: savedName }
  }
}

/** actions-core does not export its hook type; this is the hook slot of an action definition. */
type OnMappingSaveHook = NonNullable<
  NonNullable<
    ActionDefinition<Settings, unknown, unknown, OnMappingSaveInputs, OnMappingSaveOutputs>['hooks']
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
