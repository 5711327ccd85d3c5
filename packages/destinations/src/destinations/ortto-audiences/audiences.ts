import { IntegrationError, PayloadValidationError } from '@segment/actions-core'
import type { GlobalSetting, RequestClient } from '@segment/actions-core'
import { redactApiKey, requestAudience, throwFailure } from '../ortto/client'
import type { Failure } from '../ortto/client'
import { API_PATHS } from '../ortto/constants'
import type { OrttoSettings } from '../ortto/types'
import type { AudienceSettings } from './generated-types'

/**
 * The Ortto audience behind an Engage audience: Segment calls `createAudience` when the
 * destination is added to an Engage audience and stores the id it returns (`externalId`), then
 * `getAudience` with that id to check the audience still exists. Failures are thrown as the
 * errors actions-core knows, classified like every Ortto request (401/403 authentication, 429
 * and 5xx retryable), and never carry the API key.
 */

export const audienceFields: Record<string, GlobalSetting> = {
  audienceName: {
    label: 'Audience Name',
    description: 'The name of the Audience in Ortto',
    type: 'string',
    required: true
  }
}

interface CreateInput {
  settings: OrttoSettings
  /** The Engage audience's name, which Segment always passes. */
  audienceName?: string
  audienceSettings?: Partial<AudienceSettings>
}

interface GetInput {
  settings: OrttoSettings
  externalId?: string
}

/** Throws a failure with what was being done said first, and without the key. */
function throwWithContext(doing: string, failure: Failure, apiKey: string): never {
  throwFailure({ ...failure, message: redactApiKey(`${doing}: ${failure.message}`, apiKey) })
}

/**
 * The name Ortto gets: the Audience Name audience field, or the Engage audience's own name when
 * that field is blank. Ortto returns the existing audience when the name is taken.
 */
export async function createAudience(request: RequestClient, input: CreateInput): Promise<{ externalId: string }> {
  const name = input.audienceSettings?.audienceName?.trim() || input.audienceName?.trim()
  if (!name) {
    throw new PayloadValidationError(
      'The audience has no name: fill in the Audience Name audience field (the name the audience gets in Ortto).'
    )
  }
  const apiKey = input.settings.api_key
  const answer = await requestAudience(request, apiKey, API_PATHS.createAudience, { name })
  if (!answer.ok) throwWithContext(`Could not create the Ortto audience "${name}"`, answer.failure, apiKey)
  return { externalId: answer.audience.id }
}

export async function getAudience(request: RequestClient, input: GetInput): Promise<{ externalId: string }> {
  // The id goes as Segment stored it: ids are Ortto's, not ours to tidy.
  const id = input.externalId
  if (id === undefined || !/\S/.test(id)) {
    throw new PayloadValidationError(
      'The Ortto audience id is empty: it is the id createAudience returned, which Segment stores with the audience.'
    )
  }
  const apiKey = input.settings.api_key
  const answer = await requestAudience(request, apiKey, API_PATHS.getAudience, { id })
  if (answer.ok) return { externalId: answer.audience.id }
  if (answer.failure.status === 404) {
    throw new IntegrationError(
      redactApiKey(
        `The audience ${id} no longer exists in Ortto (it may have been deleted there). ` +
          'Remove Ortto (Audiences) from the Engage audience and add it again, so Segment creates it anew.',
        apiKey
      ),
      'NOT_FOUND',
      404
    )
  }
  throwWithContext(`Could not read the Ortto audience ${id}`, answer.failure, apiKey)
}
