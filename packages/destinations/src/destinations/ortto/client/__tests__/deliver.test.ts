import nock from 'nock'
import { createRequestClient } from '@segment/actions-core'
import type { RequestClient, RequestOptions } from '@segment/actions-core'
import { API_PATHS, LOCAL_ENDPOINT_ENV, MAX_REQUEST_BYTES } from '../../constants'
import type { Payload as ActivityPayload } from '../../trackActivity/generated-types'
import type { Payload as ContactPayload } from '../../upsertContact/generated-types'
import type { ActivityObject, ContactObject } from '../../types'
import { deliver, linkedAudience } from '../deliver'
import type { DeliveryInput, EventOutcome, ActionDelivery } from '../deliver'
import { isRetryableStatus } from '../failures'
import type { Failure } from '../failures'
import { prepareActivity, prepareContact } from '../wire-objects'
import { headerOf } from '../../__tests__/__helpers__/ortto'

const KEY = 'pau-deliver-s3cret'
const ORIGIN = 'https://segment-action-api-au.ortto.app'
const ACCEPTED_IN_207 = "accepted: not among the errors of Ortto's 207 answer"
const RATE_LIMIT_BODY = { error: { code: 'rate-limit', message: 'rate limit', 'try-in-seconds': 10 } }

const contacts: ActionDelivery<ContactPayload, ContactObject> = {
  method: 'POST',
  path: API_PATHS.identify,
  audience: linkedAudience,
  prepare: prepareContact
}
const activities: ActionDelivery<ActivityPayload, ActivityObject> = {
  method: 'POST',
  path: API_PATHS.track,
  audience: linkedAudience,
  prepare: prepareActivity
}

const settings = (apiKey = KEY): DeliveryInput => ({ settings: { api_key: apiKey } })

/** A contact payload for user `i`, optionally with traits of about `padBytes` bytes. */
const contact = (i: number, padBytes = 0): ContactPayload => ({
  user_id: `user-${i}`,
  ...(padBytes > 0 ? { traits: { pad: 'x'.repeat(padBytes) } } : {})
})

const contactsUpTo = (count: number): ContactPayload[] => Array.from({ length: count }, (_, i) => contact(i))

/** Bytes of the JSON `deliver` writes for a contact payload. */
const jsonBytes = (payload: ContactPayload): number => Buffer.byteLength(JSON.stringify(prepareSent(payload)))

function prepareSent(payload: ContactPayload): ContactObject {
  const prepared = prepareContact(payload, undefined)
  if (prepared.kind !== 'send') throw new Error('test fixture is not sendable')
  return prepared.object
}

/** A contact whose JSON is exactly `bytes` bytes long. */
function contactOfBytes(i: number, bytes: number): ContactPayload {
  const overhead = jsonBytes(contact(i, 1)) - 1
  const payload = contact(i, bytes - overhead)
  expect(jsonBytes(payload)).toBe(bytes)
  return payload
}

/** A request client as the destination's extendRequest builds it, counting the requests it makes. */
function client(apiKey = KEY, options: { timeout?: number } = {}) {
  const real = createRequestClient({ headers: { Authorization: `Bearer ${apiKey}` }, ...options })
  const urls: string[] = []
  const request = ((url: string, requestOptions?: RequestOptions) => {
    urls.push(url)
    return real(url, requestOptions)
  }) as RequestClient
  return { request, urls }
}

interface Captured {
  bytes: number
  objects: Array<Record<string, unknown>>
  headers: Record<string, unknown>
}

type Reply = { status: number; body?: unknown } | { error: Error }

/** Intercepts one request per reply, in order, and records what each request carried. */
function ortto(path: string, replies: Reply[], origin = ORIGIN): Captured[] {
  const captured: Captured[] = []
  const scope = nock(origin)
  for (const reply of replies) {
    const interceptor = scope.post(path)
    if ('error' in reply) {
      interceptor.replyWithError(reply.error)
    } else {
      const body = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {})
      interceptor.reply(reply.status, body, { 'content-type': 'application/json' })
    }
  }
  scope.on('request', (req: { headers: Record<string, unknown> }, _interceptor: unknown, body: string) => {
    captured.push({
      bytes: Buffer.byteLength(body),
      objects: JSON.parse(body) as Array<Record<string, unknown>>,
      headers: { ...req.headers }
    })
  })
  return captured
}

/** Every string inside a value (keys and values), as a reader of the result would see them. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(stringsIn)
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, entry]) => [key, ...stringsIn(entry)])
  }
  return []
}

const userIds = (request: Captured) => request.objects.map((object) => object.user_id)

/** Exactly one outcome per payload: no holes, nothing extra. */
function expectOnePerPayload(outcomes: EventOutcome[], payloadCount: number): void {
  expect(outcomes).toHaveLength(payloadCount)
  expect(Object.keys(outcomes)).toHaveLength(payloadCount)
  expect(outcomes.filter((outcome) => outcome === undefined)).toHaveLength(0)
}

const okOutcome = (payload: ContactPayload, body: unknown = {}) => ({
  ok: true,
  status: 200,
  sent: prepareSent(payload),
  body
})

let unmatched: number
const countUnmatched = () => unmatched++
const savedLocalEndpoint = process.env[LOCAL_ENDPOINT_ENV]

beforeEach(() => {
  delete process.env[LOCAL_ENDPOINT_ENV]
  unmatched = 0
  nock.emitter.on('no match', countUnmatched)
})

afterEach(() => {
  nock.emitter.removeListener('no match', countUnmatched)
  if (savedLocalEndpoint === undefined) delete process.env[LOCAL_ENDPOINT_ENV]
  else process.env[LOCAL_ENDPOINT_ENV] = savedLocalEndpoint
})

describe('deliver: chunking', () => {
  it('sends 501 contacts as exactly two requests of 500 and 1, in order, with the bearer key', async () => {
    const payloads = contactsUpTo(501)
    const requests = ortto(API_PATHS.identify, [{ status: 200 }, { status: 200 }])
    const { request, urls } = client()

    const outcomes = await deliver(request, payloads, settings(), contacts)

    expect(urls).toEqual([`${ORIGIN}/v1/identify`, `${ORIGIN}/v1/identify`])
    expect(requests.map((r) => r.objects.length)).toEqual([500, 1])
    expect(requests.flatMap(userIds)).toEqual(payloads.map((p) => p.user_id))
    for (const captured of requests) {
      expect(headerOf(captured.headers, 'authorization')).toBe(`Bearer ${KEY}`)
      expect(headerOf(captured.headers, 'content-type')).toBe('application/json')
    }
    expectOnePerPayload(outcomes, 501)
    expect(outcomes).toEqual(payloads.map((p) => okOutcome(p)))
    expect(nock.isDone()).toBe(true)
    expect(unmatched).toBe(0)
  })

  it('keeps ~300 kB objects in requests of at most 2,000,000 bytes and 500 objects, packed in order', async () => {
    const payloads = Array.from({ length: 20 }, (_, i) => contact(i, 300_000))
    const requests = ortto(API_PATHS.identify, [{ status: 200 }, { status: 200 }, { status: 200 }, { status: 200 }])
    const { request } = client()

    const outcomes = await deliver(request, payloads, settings(), contacts)

    expect(requests.map((r) => r.objects.length)).toEqual([6, 6, 6, 2])
    for (const captured of requests) {
      expect(captured.bytes).toBeLessThanOrEqual(MAX_REQUEST_BYTES)
      expect(captured.objects.length).toBeLessThanOrEqual(500)
    }
    expect(requests.flatMap(userIds)).toEqual(payloads.map((p) => p.user_id))
    expect(outcomes.map((o) => o.ok)).toEqual(Array(20).fill(true))
  })

  it('fills a request to exactly 2,000,000 bytes and starts a new one a byte later', async () => {
    const exact = [contactOfBytes(0, 1_000_000), contactOfBytes(1, MAX_REQUEST_BYTES - 1_000_000 - 3)]
    const together = ortto(API_PATHS.identify, [{ status: 200 }])
    await deliver(client().request, exact, settings(), contacts)
    expect(together.map((r) => r.bytes)).toEqual([MAX_REQUEST_BYTES])

    const oneByteMore = [contactOfBytes(0, 1_000_000), contactOfBytes(1, MAX_REQUEST_BYTES - 1_000_000 - 2)]
    const apart = ortto(API_PATHS.identify, [{ status: 200 }, { status: 200 }])
    const outcomes = await deliver(client().request, oneByteMore, settings(), contacts)
    expect(apart.map((r) => r.objects.length)).toEqual([1, 1])
    expect(outcomes.map((o) => o.ok)).toEqual([true, true])
  })

  // Four objects that cannot share one request go through the object-by-object sizing: there
  // too, a request may be exactly 2,000,000 bytes (three objects, two commas, two brackets), and
  // one byte more moves the third object on.
  it('packs a batch that needs splitting into a request of exactly 2,000,000 bytes, and splits a byte later', async () => {
    const [first, second, tail] = [contactOfBytes(0, 1_000_000), contactOfBytes(1, 500_000), contact(3)]
    const exact = [first, second, contactOfBytes(2, MAX_REQUEST_BYTES - 1_500_000 - 4), tail]
    const together = ortto(API_PATHS.identify, [{ status: 200 }, { status: 200 }])
    await deliver(client().request, exact, settings(), contacts)
    expect(together.map((r) => [r.bytes, r.objects.length])).toEqual([
      [MAX_REQUEST_BYTES, 3],
      [JSON.stringify([prepareSent(tail)]).length, 1]
    ])

    const oneByteMore = [first, second, contactOfBytes(2, MAX_REQUEST_BYTES - 1_500_000 - 3), tail]
    const apart = ortto(API_PATHS.identify, [{ status: 200 }, { status: 200 }])
    const outcomes = await deliver(client().request, oneByteMore, settings(), contacts)
    expect(apart.map((r) => userIds(r))).toEqual([
      ['user-0', 'user-1'],
      ['user-2', 'user-3']
    ])
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true, true])
  })

  it('sends an object of exactly 2,000,000 bytes once bracketed alone, between neighbours', async () => {
    const payloads = [contact(0), contactOfBytes(1, MAX_REQUEST_BYTES - 2), contact(2)]
    const requests = ortto(API_PATHS.identify, [{ status: 200 }, { status: 200 }, { status: 200 }])
    const outcomes = await deliver(client().request, payloads, settings(), contacts)
    expect(requests.map((r) => userIds(r))).toEqual([['user-0'], ['user-1'], ['user-2']])
    expect(requests[1].bytes).toBe(MAX_REQUEST_BYTES)
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true])
  })

  it('sends a single object whose request is exactly 2,000,000 bytes', async () => {
    const requests = ortto(API_PATHS.identify, [{ status: 200 }])
    const outcomes = await deliver(client().request, [contactOfBytes(0, MAX_REQUEST_BYTES - 2)], settings(), contacts)
    expect(requests.map((r) => r.bytes)).toEqual([MAX_REQUEST_BYTES])
    expect(outcomes.map((o) => o.ok)).toEqual([true])
  })

  it('attributes a 207 error in the second request to the payload it names, past skipped invalid payloads', async () => {
    const payloads = contactsUpTo(560)
    payloads[2] = { user_id: ' ' }
    payloads[7] = {}
    const requests = ortto(API_PATHS.identify, [
      { status: 207, body: { errors: [{ index: 5, status: 400, message: 'bad email' }] } },
      { status: 207, body: { errors: [{ index: 10, status: 422, message: 'too long' }] } }
    ])

    const outcomes = await deliver(client().request, payloads, settings(), contacts)

    const firstLength = requests[0].objects.length
    expect(firstLength).toBe(500)
    expect(requests[1].objects).toHaveLength(58)
    // Index 10 of the second request is sent object 510; two invalid payloads came before it.
    expect(requests[1].objects[10].user_id).toBe(`user-${firstLength + 10 + 2}`)
    expect(requests[0].objects[5].user_id).toBe('user-6')
    expectOnePerPayload(outcomes, 560)
    expect(outcomes[6]).toEqual({
      ok: false,
      failure: { status: 400, errortype: 'BAD_REQUEST', message: 'Ortto rejected this event (400): bad email' },
      sent: { user_id: 'user-6' },
      body: { index: 5, status: 400, message: 'bad email' }
    })
    expect(outcomes[512]).toEqual({
      ok: false,
      failure: {
        status: 422,
        errortype: 'UNPROCESSABLE_ENTITY',
        message: 'Ortto rejected this event (422): too long'
      },
      sent: { user_id: 'user-512' },
      body: { index: 10, status: 422, message: 'too long' }
    })
    for (const invalid of [2, 7]) {
      expect(outcomes[invalid]).toMatchObject({
        ok: false,
        failure: { status: 400, errortype: 'PAYLOAD_VALIDATION_FAILED' }
      })
    }
    const failed = outcomes.flatMap((outcome, i) => (outcome.ok ? [] : [i]))
    expect(failed).toEqual([2, 6, 7, 512])
    // An accepted event of a 207 gets a note, not the list of the other events' errors.
    expect(outcomes[511]).toEqual(okOutcome(payloads[511], ACCEPTED_IN_207))
  })
})

describe('deliver: an object too large for any request', () => {
  it.each([
    ['one byte too many once bracketed', MAX_REQUEST_BYTES - 1],
    ['just over 2,000,000 bytes', MAX_REQUEST_BYTES + 1],
    ['3,000,000 bytes', 3_000_000]
  ])('fails an object of %s (%i) with 413 and sends its neighbours without it', async (_case, bytes) => {
    const payloads = [contact(0), contactOfBytes(1, bytes), contact(2)]
    const requests = ortto(API_PATHS.identify, [{ status: 200 }])

    const outcomes = await deliver(client().request, payloads, settings(), contacts)

    expect(requests.map(userIds)).toEqual([['user-0', 'user-2']])
    expect(requests.map((r) => r.bytes)).toEqual([
      JSON.stringify([{ user_id: 'user-0' }, { user_id: 'user-2' }]).length
    ])
    expect(outcomes).toEqual([
      okOutcome(payloads[0]),
      {
        ok: false,
        failure: {
          status: 413,
          errortype: 'PAYLOAD_TOO_LARGE',
          message:
            `This event is ${bytes} bytes of JSON; Ortto takes at most 2000000 bytes per request. ` +
            'Send fewer or smaller traits and properties.'
        }
      },
      okOutcome(payloads[2])
    ])
  })

  it('measures bytes, not characters', async () => {
    const payload: ContactPayload = { user_id: 'user-0', traits: { name: 'é'.repeat(1_000_000) } }
    const { request, urls } = client()

    const outcomes = await deliver(request, [payload], settings(), contacts)

    expect(urls).toEqual([])
    expect(outcomes).toEqual([
      {
        ok: false,
        failure: {
          status: 413,
          errortype: 'PAYLOAD_TOO_LARGE',
          message:
            'This event is 2000041 bytes of JSON; Ortto takes at most 2000000 bytes per request. ' +
            'Send fewer or smaller traits and properties.'
        }
      }
    ])
  })
})

describe('deliver: whole-request failures', () => {
  it('keeps each request its own outcome when one fails with 500 and another succeeds', async () => {
    const payloads = contactsUpTo(1001)
    ortto(API_PATHS.identify, [{ status: 200 }, { status: 500, body: { message: 'boom' } }, { status: 200 }])

    const outcomes = await deliver(client().request, payloads, settings(), contacts)

    expectOnePerPayload(outcomes, 1001)
    const boom = {
      status: 500,
      errortype: 'INTERNAL_SERVER_ERROR',
      message: 'Ortto could not process the request (500): boom.'
    }
    expect(outcomes.slice(0, 500)).toEqual(payloads.slice(0, 500).map((p) => okOutcome(p)))
    expect(outcomes.slice(500, 1000)).toEqual(
      payloads
        .slice(500, 1000)
        .map((p) => ({ ok: false, failure: boom, sent: prepareSent(p), body: { message: 'boom' } }))
    )
    expect(outcomes[1000]).toEqual(okOutcome(payloads[1000]))
    expect(nock.isDone()).toBe(true)
  })

  it.each<[string, { status: number; body: Record<string, unknown> | string }, Failure]>([
    [
      '401',
      { status: 401, body: { error: 'invalid api key' } },
      {
        status: 401,
        errortype: 'INVALID_AUTHENTICATION',
        message: 'Ortto refused the API key (401): invalid api key. Check the API key in the destination settings.'
      }
    ],
    [
      '403',
      { status: 403, body: 'Forbidden' },
      {
        status: 403,
        errortype: 'INVALID_AUTHENTICATION',
        message: 'Ortto refused the API key (403): Forbidden. Check the API key in the destination settings.'
      }
    ],
    [
      '429',
      { status: 429, body: RATE_LIMIT_BODY },
      {
        status: 429,
        errortype: 'TOO_MANY_REQUESTS',
        message: 'Ortto rate limit reached (429): rate limit; try again in 10 seconds.'
      }
    ]
  ])(
    'stops after a %s on the first request and fails every event with that outcome',
    async (_case, reply, expected) => {
      const payloads = contactsUpTo(1001)
      const requests = ortto(API_PATHS.identify, [reply])
      const { request, urls } = client()

      const outcomes = await deliver(request, payloads, settings(), contacts)

      expect(urls).toHaveLength(1)
      expect(requests).toHaveLength(1)
      expect(unmatched).toBe(0)
      expect(nock.isDone()).toBe(true)
      expectOnePerPayload(outcomes, 1001)
      // The first request's events carry what was sent and Ortto's answer (a 429's try-in-seconds
      // is read from it); the events never sent say so, and claim no `sent` object.
      expect(outcomes.slice(0, 500)).toEqual(
        payloads.slice(0, 500).map((p) => ({ ok: false, failure: expected, sent: prepareSent(p), body: reply.body }))
      )
      expect(outcomes.slice(500)).toEqual(
        payloads.slice(500).map(() => ({
          ok: false,
          failure: { ...expected, message: `Not sent: an earlier request of this batch failed. ${expected.message}` }
        }))
      )
      expect(isRetryableStatus(expected.status)).toBe(expected.status === 429)
    }
  )

  it('sends nothing more after a 401 on the second request, keeping the first request delivered', async () => {
    const payloads = contactsUpTo(1001)
    ortto(API_PATHS.identify, [{ status: 200 }, { status: 401, body: 'no' }])
    const { request, urls } = client()

    const outcomes = await deliver(request, payloads, settings(), contacts)

    expect(urls).toHaveLength(2)
    expect(unmatched).toBe(0)
    expect(outcomes.slice(0, 500).every((o) => o.ok)).toBe(true)
    expect(outcomes.slice(500).map((o) => (o.ok ? 'ok' : `${o.failure.status} ${o.failure.errortype}`))).toEqual(
      Array(501).fill('401 INVALID_AUTHENTICATION')
    )
  })

  it('fails the chunk of a reset connection as retryable 503 and still sends the next chunk', async () => {
    const payloads = contactsUpTo(501)
    ortto(API_PATHS.identify, [
      { error: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) },
      { status: 200 }
    ])
    const { request, urls } = client()

    const outcomes = await deliver(request, payloads, settings(), contacts)

    expect(urls).toHaveLength(2)
    const reset = {
      status: 503,
      errortype: 'SERVICE_UNAVAILABLE',
      message: `Could not reach Ortto: ECONNRESET request to ${ORIGIN}/v1/identify failed, reason: socket hang up.`
    }
    expect(outcomes.slice(0, 500)).toEqual(
      payloads.slice(0, 500).map((p) => ({ ok: false, failure: reset, sent: prepareSent(p) }))
    )
    expect(isRetryableStatus(reset.status)).toBe(true)
    expect(outcomes[500]).toEqual(okOutcome(payloads[500]))
  })

  it('fails a request that gets no answer in time as retryable 408', async () => {
    // The answer would come after a minute: the 50 ms client time-out wins however slow the machine.
    nock(ORIGIN).post(API_PATHS.identify).delay(60_000).reply(200, {})

    const outcomes = await deliver(client(KEY, { timeout: 50 }).request, [contact(0)], settings(), contacts)

    expect(outcomes).toEqual([
      {
        ok: false,
        failure: {
          status: 408,
          errortype: 'REQUEST_TIMEOUT',
          message: 'No answer from Ortto in time: ETIMEDOUT Request timed out after 50ms.'
        },
        sent: { user_id: 'user-0' }
      }
    ])
    nock.abortPendingRequests()
  })
})

describe('deliver: a malformed key', () => {
  it('fails every sendable payload with 401 INVALID_AUTHENTICATION and makes no request', async () => {
    const badKey = 'p/u-secret'
    const { request, urls } = client(badKey)
    const payloads: ActivityPayload[] = [
      { user_id: 'u0', event: 'Signed Up' },
      { user_id: 'u1', event: ' ' },
      { user_id: 'u2', event: 'Ping', namespace: 'ortto.com' },
      { anonymous_id: 'a3', event: 'Viewed' }
    ]

    const outcomes = await deliver(request, payloads, settings(badKey), activities)

    expect(urls).toEqual([])
    expect(unmatched).toBe(0)
    expectOnePerPayload(outcomes, 4)
    const refused = {
      ok: false,
      failure: {
        status: 401,
        errortype: 'INVALID_AUTHENTICATION',
        message: expect.stringMatching(/^The Ortto API key must have a two-letter lower-case region/) as unknown
      }
    }
    expect(outcomes).toEqual([
      refused,
      {
        ok: false,
        failure: expect.objectContaining({ status: 400, errortype: 'PAYLOAD_VALIDATION_FAILED' }) as unknown
      },
      { ok: true, status: 200, sent: {}, body: expect.stringContaining('came from Ortto itself') as unknown },
      refused
    ])
    expect(JSON.stringify(outcomes)).not.toContain(badKey)
  })

  it.each([undefined, '', 'pAU-secret', ' pau-secret'])('makes no request for the key %j', async (badKey) => {
    const { request, urls } = client(String(badKey))
    const input = { settings: { api_key: badKey } } as DeliveryInput
    const outcomes = await deliver(request, contactsUpTo(3), input, contacts)
    expect(urls).toEqual([])
    expect(unmatched).toBe(0)
    expect(outcomes.map((o) => (o.ok ? 'ok' : `${o.failure.status} ${o.failure.errortype}`))).toEqual(
      Array(3).fill('401 INVALID_AUTHENTICATION')
    )
  })
})

describe('deliver: the API key never reaches an outcome', () => {
  it('redacts a key Ortto echoes in a 400 body', async () => {
    ortto(API_PATHS.identify, [{ status: 400, body: { message: `invalid key ${KEY} for ${KEY}` } }])
    const outcomes = await deliver(client().request, contactsUpTo(2), settings(), contacts)
    const serialized = JSON.stringify(outcomes)
    expect(serialized).not.toContain(KEY)
    expect(serialized).toContain('«redacted»')
    expect(outcomes[0]).toMatchObject({
      ok: false,
      failure: { status: 400, message: 'Ortto rejected the request (400): invalid key «redacted» for «redacted».' }
    })
  })

  it('redacts a key Ortto echoes in a 207 message and elsewhere in the answer', async () => {
    ortto(API_PATHS.identify, [
      { status: 207, body: { errors: [{ index: 0, status: 400, message: `key ${KEY} refused` }], echo: KEY } }
    ])
    const outcomes = await deliver(client().request, contactsUpTo(2), settings(), contacts)
    expect(JSON.stringify(outcomes)).not.toContain(KEY)
    expect(outcomes[0]).toMatchObject({
      ok: false,
      failure: { status: 400, message: 'Ortto rejected this event (400): key «redacted» refused' }
    })
    expect(outcomes[1]).toMatchObject({ ok: true, status: 200 })
  })

  it('redacts a key in a transport error', async () => {
    ortto(API_PATHS.identify, [{ error: Object.assign(new Error(`proxy refused ${KEY}`), { code: 'ECONNREFUSED' }) }])
    const outcomes = await deliver(client().request, contactsUpTo(1), settings(), contacts)
    expect(JSON.stringify(outcomes)).not.toContain(KEY)
    expect(outcomes[0]).toMatchObject({ ok: false, failure: { status: 503 } })
  })

  // A well-formed key may hold any visible ASCII character. JSON encoders escape some of them
  // ('"' and '\\' always, '/' in PHP, '&' '<' '>' in Go), so an echo is not the key's raw text.
  it.each([
    ['a quote, escaped as \\"', 'pau-se"cret', (key: string) => JSON.stringify({ message: `bad key ${key}` })],
    ['a slash, escaped as \\/', 'pau-ab/cd+ef==', (key: string) => `{"message":"bad key ${key.replace('/', '\\/')}"}`],
    [
      'an ampersand, escaped as \\u0026',
      'pau-ab&cd',
      (key: string) => `{"message":"bad key ${key.replace('&', '\\u0026')}"}`
    ]
  ])('redacts a key containing %s when Ortto echoes it JSON-escaped in a 400 body', async (_case, key, echo) => {
    ortto(API_PATHS.identify, [{ status: 400, body: echo(key) }])
    const outcomes = await deliver(client(key).request, contactsUpTo(1), settings(key), contacts)
    expect(outcomes[0]).toMatchObject({ ok: false, failure: { status: 400, errortype: 'BAD_REQUEST' } })
    expect(stringsIn(outcomes).filter((text) => text.includes(key))).toEqual([])
  })

  it('redacts a key containing a quote when Ortto echoes it JSON-escaped in a 207 message', async () => {
    const key = 'pau-se"cret'
    ortto(API_PATHS.identify, [
      { status: 207, body: { errors: [{ index: 0, status: 400, message: `bad key ${key}` }] } }
    ])
    const outcomes = await deliver(client(key).request, contactsUpTo(2), settings(key), contacts)
    expect(outcomes.map((o) => o.ok)).toEqual([false, true])
    expect(stringsIn(outcomes).filter((text) => text.includes(key))).toEqual([])
  })
})

describe('linkedAudience: the membership a mapping linked by Associate Audience asks for', () => {
  const linked: DeliveryInput = { ...settings(), hookOutputs: { onMappingSave: { outputs: { audience_id: 'aud-1' } } } }

  it.each(['add', 'remove'] as const)('asks for {mode: %s, id} when the mode is %s', (mode) => {
    expect(linkedAudience({ audience_update_mode: mode }, linked)).toEqual({ mode, id: 'aud-1' })
  })

  // The user cleared Audience update mode: no instruction, so no membership change at all.
  it.each([
    ['absent', {}],
    ['undefined', { audience_update_mode: undefined }],
    ['null', { audience_update_mode: null }],
    ['the empty string', { audience_update_mode: '' }]
  ])('asks for no membership change when the mode is %s', (_name, payload) => {
    expect(linkedAudience(payload, linked)).toBeUndefined()
  })

  it.each(['  ', 'Add', 'sideways'])('fails the event when the mode is %j, which is no choice', (mode) => {
    expect(linkedAudience({ audience_update_mode: mode }, linked)).toEqual({
      status: 400,
      errortype: 'PAYLOAD_VALIDATION_FAILED',
      message: `Audience update mode must be "add" or "remove", not "${mode}".`
    })
  })

  it('asks for nothing when the hook saved no audience, whatever the mode', () => {
    expect(linkedAudience({ audience_update_mode: 'add' }, settings())).toBeUndefined()
    expect(linkedAudience({ audience_update_mode: 'sideways' }, settings())).toBeUndefined()
  })
})

describe('deliver: one outcome per payload, in payload order', () => {
  it('keeps the order across invalid, loop-skipped, audience-invalid and sent payloads', async () => {
    const payloads: ActivityPayload[] = [
      {
        user_id: 'u0',
        event: 'First',
        timestamp: '2024-05-06T17:08:09+10:00',
        message_id: 'm0',
        audience_update_mode: 'add'
      },
      { user_id: 'u1', event: 'Echo', namespace: 'ortto.com' },
      { user_id: 'u2', event: '   ' },
      { anonymous_id: 'a3', event: 'Second', properties: { plan: 'pro' }, audience_update_mode: 'add' },
      { event: 'No one' },
      { user_id: 'u5', event: 'Echo', namespace: ' Ortto.COM ' },
      { user_id: 'u6', event: 'Third', audience_update_mode: 'remove' },
      { user_id: 'u7', event: 'Sideways', audience_update_mode: 'sideways' },
      { user_id: 'u8', event: 'Bad time', timestamp: 'not a date' }
    ]
    const requests = ortto(API_PATHS.track, [
      { status: 207, body: { errors: [{ index: 1, status: 400, message: 'unknown property plan' }] } }
    ])
    const input: DeliveryInput = {
      ...settings(),
      hookOutputs: { onMappingSave: { outputs: { audience_id: 'aud-1' } } }
    }

    const outcomes = await deliver(client().request, payloads, input, activities)

    const sent = [
      {
        user_id: 'u0',
        timestamp: '2024-05-06T07:08:09.000Z',
        message_id: 'm0',
        audience: { mode: 'add', id: 'aud-1' },
        event: 'First'
      },
      { anonymous_id: 'a3', audience: { mode: 'add', id: 'aud-1' }, event: 'Second', properties: { plan: 'pro' } },
      { user_id: 'u6', audience: { mode: 'remove', id: 'aud-1' }, event: 'Third' }
    ]
    expect(requests.map((r) => r.objects)).toEqual([sent])
    expectOnePerPayload(outcomes, payloads.length)
    const answer = { errors: [{ index: 1, status: 400, message: 'unknown property plan' }] }
    const invalid = expect.objectContaining({ status: 400, errortype: 'PAYLOAD_VALIDATION_FAILED' }) as unknown
    const skipped = {
      ok: true,
      status: 200,
      sent: {},
      body: expect.stringContaining('sending it back would loop') as unknown
    }
    expect(outcomes).toEqual([
      { ok: true, status: 200, sent: sent[0], body: ACCEPTED_IN_207 },
      skipped,
      { ok: false, failure: invalid },
      {
        ok: false,
        failure: {
          status: 400,
          errortype: 'BAD_REQUEST',
          message: 'Ortto rejected this event (400): unknown property plan'
        },
        sent: sent[1],
        body: answer.errors[0]
      },
      { ok: false, failure: invalid },
      skipped,
      { ok: true, status: 200, sent: sent[2], body: ACCEPTED_IN_207 },
      {
        ok: false,
        failure: {
          status: 400,
          errortype: 'PAYLOAD_VALIDATION_FAILED',
          message: 'Audience update mode must be "add" or "remove", not "sideways".'
        }
      },
      { ok: false, failure: invalid }
    ])
  })

  it('makes no request when nothing is sendable', async () => {
    const { request, urls } = client()
    const outcomes = await deliver(
      request,
      [{ user_id: 'u', event: 'x', namespace: 'ortto.com' }, { event: 'y' }],
      settings(),
      activities
    )
    expect(urls).toEqual([])
    expect(outcomes.map((o) => o.ok)).toEqual([true, false])
  })

  it('gives nothing for no payloads', async () => {
    const { request, urls } = client()
    await expect(deliver(request, [], settings(), contacts)).resolves.toEqual([])
    expect(urls).toEqual([])
  })

  it('sends to ORTTO_LOCAL_ENDPOINT when it is set', async () => {
    process.env[LOCAL_ENDPOINT_ENV] = 'http://127.0.0.1:4318/'
    const requests = ortto(API_PATHS.identify, [{ status: 200 }], 'http://127.0.0.1:4318')
    const { request, urls } = client()
    const outcomes = await deliver(request, contactsUpTo(1), settings(), contacts)
    expect(urls).toEqual(['http://127.0.0.1:4318/v1/identify'])
    expect(requests.map(userIds)).toEqual([['user-0']])
    expect(outcomes[0].ok).toBe(true)
  })
})

describe('deliver: what a result shows of Ortto’s answer', () => {
  const refusedWith = async (text: string) => {
    ortto(API_PATHS.identify, [{ status: 400, body: text }])
    const [outcome] = await deliver(client().request, contactsUpTo(1), settings(), contacts)
    return outcome.ok ? undefined : outcome.body
  }

  it('keeps an answer text of exactly 1,000 characters whole', async () => {
    const text = 'e'.repeat(1000)
    expect(await refusedWith(text)).toBe(text)
  })

  it('cuts an answer text of 1,001 characters to its first 1,000', async () => {
    const text = `${'e'.repeat(1000)}!`
    expect(await refusedWith(text)).toBe('e'.repeat(1000))
  })

  it('shows a JSON answer of up to 1,000 characters as its object, a longer one as its cut text', async () => {
    const json = (length: number) => {
      const text = JSON.stringify({ message: 'm'.repeat(length - 14) })
      expect(text).toHaveLength(length)
      return text
    }
    expect(await refusedWith(json(1000))).toEqual({ message: 'm'.repeat(986) })
    expect(await refusedWith(json(1001))).toBe(json(1001).slice(0, 1000))
  })

  it('cuts the body an accepted event of a 200 shows, too', async () => {
    const text = JSON.stringify({ note: 'n'.repeat(2000) })
    ortto(API_PATHS.identify, [{ status: 200, body: text }])
    const [outcome] = await deliver(client().request, contactsUpTo(1), settings(), contacts)
    expect(outcome).toEqual({ ok: true, status: 200, sent: { user_id: 'user-0' }, body: text.slice(0, 1000) })
  })
})
