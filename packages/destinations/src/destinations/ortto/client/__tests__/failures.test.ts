import {
  IntegrationError,
  InvalidAuthenticationError,
  PayloadValidationError,
  RequestTimeoutError,
  RetryableError
} from '@segment/actions-core'
import {
  failure,
  failureFromStatus,
  failureFromTransportError,
  invalidEvent,
  isRetryableStatus,
  reasonFrom,
  retryAfterSeconds,
  throwFailure
} from '../failures'
import type { Failure } from '../failures'
import { thrownBy } from '../../__tests__/__helpers__/ortto'

/** Ortto's documented rate-limit answer: a 429 whose body alone says when to come back. */
const RATE_LIMIT_BODY = JSON.stringify({ error: { code: 'rate-limit', message: 'rate limit', 'try-in-seconds': 10 } })

describe('reasonFrom', () => {
  it.each([
    ["Ortto's rate-limit body", RATE_LIMIT_BODY, 'rate limit'],
    ['an error object with a message', '{"error":{"code":"bad","message":"user_id too long"}}', 'user_id too long'],
    ['a top-level message', '{"message":"invalid contact"}', 'invalid contact'],
    ['an error string', '{"error":"text"}', 'text'],
    ['an error object before a top-level message', '{"error":{"message":"inner"},"message":"outer"}', 'inner'],
    ['an empty error message, then a top-level one', '{"error":{"message":""},"message":"outer"}', 'outer'],
    ['an empty error string, then a top-level one', '{"error":"","message":"outer"}', 'outer'],
    ['an error object without a message (whole body quoted)', '{"error":{"code":"x"}}', '{"error":{"code":"x"}}'],
    ['a non-string message (whole body quoted)', '{"message":42}', '{"message":42}'],
    ['a JSON array', '[1,2]', '[1,2]'],
    ['JSON null', 'null', 'null'],
    ['a JSON string', '"quoted"', '"quoted"'],
    ['plain text, trimmed', '  Bad Gateway \n', 'Bad Gateway'],
    ['HTML', '<html><body>502</body></html>', '<html><body>502</body></html>'],
    ['an empty body', '', 'no reason given'],
    ['a blank body', ' \n\t ', 'no reason given']
  ])('reads %s', (_case, content, reason) => {
    expect(reasonFrom(content)).toBe(reason)
  })

  it('keeps a reason of exactly 500 characters whole', () => {
    expect(reasonFrom('r'.repeat(500))).toBe('r'.repeat(500))
  })

  it('truncates huge plain text to 500 characters and an ellipsis', () => {
    expect(reasonFrom('x'.repeat(100_000))).toBe(`${'x'.repeat(500)}…`)
  })

  it('truncates huge messages found in JSON', () => {
    expect(reasonFrom(JSON.stringify({ error: { message: 'm'.repeat(2000) } }))).toBe(`${'m'.repeat(500)}…`)
    expect(reasonFrom(JSON.stringify({ error: 'e'.repeat(501) }))).toBe(`${'e'.repeat(500)}…`)
    expect(reasonFrom(JSON.stringify({ message: 'o'.repeat(9999) }))).toBe(`${'o'.repeat(500)}…`)
  })
})

describe('retryAfterSeconds', () => {
  it.each<[string, string, number | undefined]>([
    ["Ortto's rate-limit body", RATE_LIMIT_BODY, 10],
    ['zero seconds', '{"error":{"try-in-seconds":0}}', 0],
    ['a fraction', '{"error":{"try-in-seconds":2.5}}', 2.5],
    ['negative seconds', '{"error":{"try-in-seconds":-1}}', undefined],
    ['seconds as a string', '{"error":{"try-in-seconds":"10"}}', undefined],
    ['an overflowing number (Infinity)', '{"error":{"try-in-seconds":1e999}}', undefined],
    ['seconds at the top level', '{"try-in-seconds":10}', undefined],
    ['an error string', '{"error":"rate limit"}', undefined],
    ['no seconds', '{"error":{"code":"rate-limit"}}', undefined],
    ['plain text', 'Too Many Requests', undefined],
    ['an empty body', '', undefined]
  ])('reads %s as %p', (_case, content, seconds) => {
    expect(retryAfterSeconds(content)).toBe(seconds)
  })
})

describe('failureFromStatus', () => {
  it.each<[number, string, Failure]>([
    [
      400,
      '{"message":"bad user_id"}',
      { status: 400, errortype: 'BAD_REQUEST', message: 'Ortto rejected the request (400): bad user_id.' }
    ],
    [
      401,
      '{"error":"invalid key"}',
      {
        status: 401,
        errortype: 'INVALID_AUTHENTICATION',
        message: 'Ortto refused the API key (401): invalid key. Check the API key in the destination settings.'
      }
    ],
    [
      403,
      'Forbidden',
      {
        status: 403,
        errortype: 'INVALID_AUTHENTICATION',
        message: 'Ortto refused the API key (403): Forbidden. Check the API key in the destination settings.'
      }
    ],
    [
      404,
      '{"error":{"message":"no such route"}}',
      { status: 404, errortype: 'NOT_FOUND', message: 'Ortto rejected the request (404): no such route.' }
    ],
    [
      413,
      'Request Entity Too Large',
      {
        status: 413,
        errortype: 'PAYLOAD_TOO_LARGE',
        message: 'Ortto refused the request as too large (413): Request Entity Too Large.'
      }
    ],
    [
      429,
      RATE_LIMIT_BODY,
      {
        status: 429,
        errortype: 'TOO_MANY_REQUESTS',
        message: 'Ortto rate limit reached (429): rate limit; try again in 10 seconds.'
      }
    ],
    [
      429,
      'Too Many Requests',
      {
        status: 429,
        errortype: 'TOO_MANY_REQUESTS',
        message: 'Ortto rate limit reached (429): Too Many Requests; Ortto did not say when to retry.'
      }
    ],
    [
      500,
      '{"message":"boom"}',
      { status: 500, errortype: 'INTERNAL_SERVER_ERROR', message: 'Ortto could not process the request (500): boom.' }
    ],
    [
      503,
      '',
      {
        status: 503,
        errortype: 'SERVICE_UNAVAILABLE',
        message: 'Ortto could not process the request (503): no reason given.'
      }
    ],
    [
      302,
      'Found',
      { status: 502, errortype: 'BAD_GATEWAY', message: 'Ortto answered with an unexpected status 302: Found.' }
    ]
  ])('classifies %i with body %j', (status, content, expected) => {
    expect(failureFromStatus(status, content)).toEqual(expected)
  })

  it('never reports an unexpected 1xx/3xx answer as a permanent failure', () => {
    for (const status of [100, 301, 304, 307]) {
      const result = failureFromStatus(status, '')
      expect(result.status).toBe(502)
      expect(isRetryableStatus(result.status)).toBe(true)
      expect(result.message).toBe(`Ortto answered with an unexpected status ${status}: no reason given.`)
    }
  })

  it('quotes at most 500 characters of a huge error page', () => {
    const { message } = failureFromStatus(500, '<p>'.repeat(10_000))
    expect(message).toBe(`Ortto could not process the request (500): ${'<p>'.repeat(10_000).slice(0, 500)}….`)
  })
})

describe('failureFromTransportError', () => {
  it.each<[string, unknown, Failure]>([
    [
      "actions-core's TimeoutError shape",
      Object.assign(new Error('Request timed out after 10000ms'), { name: 'TimeoutError', code: 'ETIMEDOUT' }),
      {
        status: 408,
        errortype: 'REQUEST_TIMEOUT',
        message: 'No answer from Ortto in time: ETIMEDOUT Request timed out after 10000ms.'
      }
    ],
    [
      "actions-core's RequestTimeoutError",
      new RequestTimeoutError(),
      {
        status: 408,
        errortype: 'REQUEST_TIMEOUT',
        message: 'No answer from Ortto in time: REQUESTTIMEOUTERROR Request timed out before receiving a response.'
      }
    ],
    [
      'a bare ETIMEDOUT code',
      { code: 'ETIMEDOUT' },
      { status: 408, errortype: 'REQUEST_TIMEOUT', message: 'No answer from Ortto in time: ETIMEDOUT.' }
    ],
    [
      'a TimeoutError without a code',
      Object.assign(new Error('slow'), { name: 'TimeoutError' }),
      { status: 408, errortype: 'REQUEST_TIMEOUT', message: 'No answer from Ortto in time: slow.' }
    ],
    [
      'a RequestTimeoutError name only',
      { name: 'RequestTimeoutError' },
      { status: 408, errortype: 'REQUEST_TIMEOUT', message: 'No answer from Ortto in time: [object Object].' }
    ],
    [
      'a reset connection',
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      { status: 503, errortype: 'SERVICE_UNAVAILABLE', message: 'Could not reach Ortto: ECONNRESET socket hang up.' }
    ],
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' }),
      {
        status: 503,
        errortype: 'SERVICE_UNAVAILABLE',
        message: 'Could not reach Ortto: ECONNREFUSED connect ECONNREFUSED 127.0.0.1:443.'
      }
    ],
    [
      'a thrown string',
      'boom',
      { status: 503, errortype: 'SERVICE_UNAVAILABLE', message: 'Could not reach Ortto: boom.' }
    ],
    [
      'undefined',
      undefined,
      { status: 503, errortype: 'SERVICE_UNAVAILABLE', message: 'Could not reach Ortto: undefined.' }
    ],
    ['null', null, { status: 503, errortype: 'SERVICE_UNAVAILABLE', message: 'Could not reach Ortto: null.' }]
  ])('classifies %s', (_case, error, expected) => {
    expect(failureFromTransportError(error)).toEqual(expected)
  })

  it('truncates a huge error message', () => {
    const { message } = failureFromTransportError(Object.assign(new Error('z'.repeat(5000)), { code: 'EPIPE' }))
    expect(message).toBe(`Could not reach Ortto: EPIPE ${'z'.repeat(494)}….`)
  })
})

describe('isRetryableStatus', () => {
  it.each([408, 429, 500, 502, 503, 504, 599])('retries %i', (status) => {
    expect(isRetryableStatus(status)).toBe(true)
  })

  it.each([200, 207, 302, 400, 401, 403, 404, 409, 413, 422])('does not retry %i', (status) => {
    expect(isRetryableStatus(status)).toBe(false)
  })
})

describe('failure and invalidEvent', () => {
  it('derive the error type from the status unless one is given', () => {
    expect(failure(422, 'm')).toEqual({ status: 422, errortype: 'UNPROCESSABLE_ENTITY', message: 'm' })
    expect(failure(299, 'm')).toEqual({ status: 299, errortype: 'UNKNOWN_ERROR', message: 'm' })
    expect(failure(401, 'm', 'INVALID_AUTHENTICATION')).toEqual({
      status: 401,
      errortype: 'INVALID_AUTHENTICATION',
      message: 'm'
    })
  })

  it('makes an invalid event a 400 payload validation failure', () => {
    expect(invalidEvent('no id')).toEqual({ status: 400, errortype: 'PAYLOAD_VALIDATION_FAILED', message: 'no id' })
  })
})

describe('throwFailure', () => {
  it.each([401, 403])('throws InvalidAuthenticationError keeping status %i', (status) => {
    const error = thrownBy(() => throwFailure(failureFromStatus(status, 'no')))
    expect(error).toBeInstanceOf(InvalidAuthenticationError)
    expect(error).toMatchObject({
      status,
      code: 'INVALID_AUTHENTICATION',
      message: `Ortto refused the API key (${status}): no. Check the API key in the destination settings.`
    })
  })

  it('throws PayloadValidationError for an invalid event', () => {
    const error = thrownBy(() => throwFailure(invalidEvent('The Event name is blank')))
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect(error).toMatchObject({ status: 400, code: 'PAYLOAD_VALIDATION_FAILED', message: 'The Event name is blank' })
  })

  it.each<[string, Failure]>([
    ['a time-out (408)', failureFromTransportError({ code: 'ETIMEDOUT' })],
    ['a rate limit (429)', failureFromStatus(429, RATE_LIMIT_BODY)],
    ['a server error (500)', failureFromStatus(500, 'boom')],
    ['an unreachable Ortto (503)', failureFromTransportError({ code: 'ECONNRESET' })],
    ['an unconfirmed delivery (502)', failure(502, 'unconfirmed')]
  ])('throws RetryableError with the status for %s', (_case, f) => {
    const error = thrownBy(() => throwFailure(f))
    expect(error).toBeInstanceOf(RetryableError)
    expect(error).toMatchObject({ status: f.status, code: 'RETRYABLE_ERROR', message: f.message })
  })

  it.each<[number, string]>([
    [400, 'BAD_REQUEST'],
    [404, 'NOT_FOUND'],
    [413, 'PAYLOAD_TOO_LARGE']
  ])('throws IntegrationError with status %i and code %s', (status, code) => {
    const f = failureFromStatus(status, 'why')
    const error = thrownBy(() => throwFailure(f))
    expect(error).toBeInstanceOf(IntegrationError)
    expect(error).not.toBeInstanceOf(RetryableError)
    expect(error).not.toBeInstanceOf(PayloadValidationError)
    expect(error).toMatchObject({ status, code, message: f.message })
  })
})
