import {
  ErrorCodes,
  IntegrationError,
  InvalidAuthenticationError,
  PayloadValidationError,
  RetryableError,
  getErrorCodeFromHttpStatus
} from '@segment/actions-core'
import { isRecord, parseJson } from './json'

export type ErrorType = keyof typeof ErrorCodes

/** Why one event was not delivered. Every message is safe to show (no API key in it). */
export interface Failure {
  status: number
  errortype: ErrorType
  message: string
}

/** Ortto's answer text is quoted in messages up to this length, so a huge page stays readable. */
const MAX_REASON_LENGTH = 500

export const isRetryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500

export function failure(status: number, message: string, errortype?: ErrorType): Failure {
  return { status, message, errortype: errortype ?? getErrorCodeFromHttpStatus(status) }
}

export const invalidEvent = (message: string): Failure => failure(400, message, ErrorCodes.PAYLOAD_VALIDATION_FAILED)

function truncate(text: string): string {
  return text.length > MAX_REASON_LENGTH ? `${text.slice(0, MAX_REASON_LENGTH)}…` : text
}

/** An answer as given (text to parse, or JSON already parsed) → its JSON value when it has one. */
function bodyOf(answer: unknown): unknown {
  if (typeof answer !== 'string') return answer
  return parseJson(answer) ?? answer
}

/** Ortto's reason for a whole-request failure, from whichever shape the answer has. */
export function reasonFrom(answer: unknown): string {
  const body = bodyOf(answer)
  if (isRecord(body)) {
    const error = body.error
    if (isRecord(error) && typeof error.message === 'string' && error.message) return truncate(error.message)
    if (typeof error === 'string' && error) return truncate(error)
    if (typeof body.message === 'string' && body.message) return truncate(body.message)
  }
  // JSON.stringify gives undefined for undefined, whatever its declared type says.
  const text: string | undefined = typeof answer === 'string' ? answer : JSON.stringify(body)
  const trimmed = text === undefined ? '' : text.trim()
  return trimmed ? truncate(trimmed) : 'no reason given'
}

/**
 * `try-in-seconds` of a 429 answer (its text, or the body already parsed): the only hint
 * Ortto gives of when to come back.
 */
export function retryAfterSeconds(answer: unknown): number | undefined {
  const body = bodyOf(answer)
  const error = isRecord(body) ? body.error : undefined
  const seconds = isRecord(error) ? error['try-in-seconds'] : undefined
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined
}

/**
 * Classifies a non-2xx answer to a whole request; every event of that request shares it.
 * `answer` is the body's text, or its JSON already parsed.
 */
export function failureFromStatus(status: number, answer: unknown): Failure {
  const reason = reasonFrom(answer)
  if (status === 401 || status === 403) {
    return failure(
      status,
      `Ortto refused the API key (${status}): ${reason}. Check the API key in the destination settings.`,
      ErrorCodes.INVALID_AUTHENTICATION
    )
  }
  if (status === 429) {
    const seconds = retryAfterSeconds(answer)
    const when = seconds === undefined ? 'Ortto did not say when to retry' : `try again in ${seconds} seconds`
    return failure(429, `Ortto rate limit reached (429): ${reason}; ${when}.`)
  }
  if (status === 413) return failure(413, `Ortto refused the request as too large (413): ${reason}.`)
  if (status >= 500) return failure(status, `Ortto could not process the request (${status}): ${reason}.`)
  if (status >= 400) return failure(status, `Ortto rejected the request (${status}): ${reason}.`)
  // 1xx/3xx never carry a batch answer: nothing can be confirmed, so the events are retried.
  return failure(502, `Ortto answered with an unexpected status ${status}: ${reason}.`)
}

/** Why a request got no answer, in two words: what monitoring tags a transport failure with. */
export type TransportErrorKind = 'timeout' | 'connection'

type TransportError = { name?: string; code?: string; message?: string } | undefined

export function transportErrorKind(error: unknown): TransportErrorKind {
  const err = error as TransportError
  const timedOut =
    err?.code === 'ETIMEDOUT' ||
    err?.code === 'REQUESTTIMEOUTERROR' ||
    err?.name === 'TimeoutError' ||
    err?.name === 'RequestTimeoutError'
  return timedOut ? 'timeout' : 'connection'
}

/** A request that got no answer: time-outs, resets, refused connections. All are retryable. */
export function failureFromTransportError(error: unknown): Failure {
  const err = error as TransportError
  const text = [err?.code, err?.message].filter(Boolean).join(' ') || String(error)
  if (transportErrorKind(error) === 'timeout') return failure(408, `No answer from Ortto in time: ${truncate(text)}.`)
  return failure(503, `Could not reach Ortto: ${truncate(text)}.`)
}

/** Single-event mode: turns a failure into the error actions-core expects to be thrown. */
export function throwFailure(f: Failure): never {
  if (f.errortype === 'INVALID_AUTHENTICATION') {
    const error = new InvalidAuthenticationError(f.message)
    error.status = f.status
    throw error
  }
  if (f.errortype === 'PAYLOAD_VALIDATION_FAILED') throw new PayloadValidationError(f.message)
  if (isRetryableStatus(f.status)) {
    throw new RetryableError(f.message, f.status as ConstructorParameters<typeof RetryableError>[1])
  }
  throw new IntegrationError(f.message, f.errortype, f.status)
}
