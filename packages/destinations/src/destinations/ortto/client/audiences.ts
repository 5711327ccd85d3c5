import { ErrorCodes, InvalidAuthenticationError } from '@segment/actions-core'
import type { RequestClient } from '@segment/actions-core'
import type { API_PATHS } from '../constants'
import { READ_ONCE, answerValue, readAnswer } from './answer'
import type { OrttoAnswer } from './answer'
import { apiOrigin, redactApiKey } from './api-key'
import { failure, failureFromStatus, failureFromTransportError } from './failures'
import type { Failure } from './failures'
import { isRecord, nonBlank } from './json'

/** An Ortto audience as its endpoints answer: `{id, name}`. */
export interface OrttoAudience {
  id: string
  /** Absent when Ortto's answer carried none. */
  name?: string
}

export type AudienceAnswer = { ok: true; audience: OrttoAudience } | { ok: false; failure: Failure }

type AudiencePath = typeof API_PATHS.createAudience | typeof API_PATHS.getAudience

/** A 2xx answer that names no audience cannot be used; retrying may give one that does. */
const NO_ID_STATUS = 502

/**
 * POSTs `body` to one of Ortto's audience endpoints and reads the audience it answers with.
 * Never throws: a malformed key, a request that got no answer, a refusal and an answer without
 * an id all come back as a failure classified like every other request's, without the key.
 */
export async function requestAudience(
  request: RequestClient,
  apiKey: string,
  path: AudiencePath,
  body: { name: string } | { id: string }
): Promise<AudienceAnswer> {
  let answer: OrttoAnswer
  try {
    const response = await request(apiOrigin(apiKey) + path, {
      ...READ_ONCE,
      method: 'POST',
      json: body,
      throwHttpErrors: false
    })
    answer = await readAnswer(response, apiKey)
  } catch (error) {
    if (error instanceof InvalidAuthenticationError) {
      return { ok: false, failure: failure(401, error.message, ErrorCodes.INVALID_AUTHENTICATION) }
    }
    const f = failureFromTransportError(error)
    return { ok: false, failure: { ...f, message: redactApiKey(f.message, apiKey) } }
  }
  const outside2xx = answer.status > 299 || answer.status < 200
  if (outside2xx) {
    return { ok: false, failure: failureFromStatus(answer.status, answerValue(answer)) }
  }
  const json = answer.json
  // A blank id saved with a mapping (or as an audience's id) would send events without it, silently.
  const id = isRecord(json) ? nonBlank(json.id) : undefined
  if (!id) return { ok: false, failure: failure(NO_ID_STATUS, "Ortto's answer carried no audience id.") }
  const name = isRecord(json) ? nonBlank(json.name) : undefined
  return { ok: true, audience: name === undefined ? { id } : { id, name } }
}
