import { InvalidAuthenticationError } from '@segment/actions-core'
import type { CustomAuthentication, GlobalSetting, RequestExtension } from '@segment/actions-core'
import { apiOrigin } from './client'
import { READ_ONCE, answerValue, readAnswer } from './client/answer'
import { failureFromStatus } from './client/failures'
import { API_PATHS } from './constants'
import type { OrttoSettings } from './types'

/**
 * The settings and authentication of every Ortto destination, written once: Ortto (Actions) and
 * Ortto (Audiences) take the same key from the same kind of Ortto data source.
 */

export const apiKeySetting: GlobalSetting = {
  label: 'API Key',
  description: 'Ortto API key',
  type: 'password',
  required: true
}

export const authentication: CustomAuthentication<OrttoSettings> = {
  scheme: 'custom',
  fields: { api_key: apiKeySetting },
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
}

/** The key travels only in this header. */
export const extendRequest: RequestExtension<OrttoSettings> = ({ settings }) => ({
  headers: { Authorization: `Bearer ${settings.api_key}` }
})
