/**
 * The action-destinations CLI `serve` routes on the pipeline's port, in serve's exact answer
 * shapes: GET /manifest, POST /authenticate, POST /refreshAccessToken, POST /<action> (single and
 * array payloads), POST /<action>/hooks/<hook>, the audience and dynamic-field routes (with a small
 * audience definition built here), and CORS. No answer ever carries an API key: not the call's,
 * not the pipeline's, not even when Ortto echoes it.
 */
import { IntegrationError } from '@segment/actions-core'
import type { ActionDefinition, AudienceDestinationDefinition, DestinationDefinition } from '@segment/actions-core'
import { ortto as definition, LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import type { Sandbox } from 'ortto-sandbox'
import { CliRoutes } from '../cli-routes'
import { newSandboxApiKey } from '../config'
import type { Target } from '../config'
import { startPipeline } from '../index'
import { WriteKeyGate } from '../write-key'
import type { Pipeline } from '../index'
import { echoStandIn } from '../../../test/helpers/echo-stand-in'
import type { EchoStandIn } from '../../../test/helpers/echo-stand-in'
import { TEST_WRITE_KEY, basicAuth, call, get, post } from '../../../test/helpers/pipeline-helpers'
import type { Answer } from '../../../test/helpers/pipeline-helpers'

/** The key the routes built directly in these tests deliver with. */
const SANDBOX_KEY = newSandboxApiKey()

/** For the route sets called directly: a caller who showed the write key. */
const GATE = new WriteKeyGate(TEST_WRITE_KEY, false)
const SHOWN = { writeKeyShown: true }

/** A well-formed key the sandbox accepts; distinctive, so any echo of it is easy to find. */
const API_KEY = 'pau-cliSecretNeverEchoed9'

let pipeline: Pipeline
let sandbox: Sandbox
/** Every answer of a test, checked for the keys afterwards. */
let answers: Answer[]

// The calls below carry API_KEY in their settings; the embedded sandbox takes only the pipeline's key.
async function start(target: Target = { kind: 'sandbox', port: 0, apiKey: API_KEY }): Promise<void> {
  pipeline = await startPipeline(
    { port: 0, target, flushIntervalMs: 50, maxAttempts: 3, writeKey: TEST_WRITE_KEY },
    () => undefined
  )
  sandbox = pipeline.sandbox as Sandbox
}

beforeEach(() => {
  answers = []
})

afterEach(async () => {
  for (const answer of answers) {
    expect(answer.text).not.toContain(API_KEY)
    expect(answer.text).not.toContain('cliSecretNeverEchoed9')
    expect(answer.text).not.toContain(pipeline.apiKey)
  }
  await pipeline.stop()
  delete process.env[LOCAL_ENDPOINT_ENV]
})

async function send(route: string, body: unknown, headers?: Record<string, string>): Promise<Answer> {
  const answer = await post(pipeline.url, route, body, { headers })
  answers.push(answer)
  return answer
}

async function fetchGet(route: string, headers?: Record<string, string>): Promise<Answer> {
  const answer = await get(pipeline.url, route, { headers })
  answers.push(answer)
  return answer
}

interface Exchange {
  request: { url: string; method: string; headers: Record<string, string>; body: string }
  response: { statusCode: number; statusMessage: string; headers: Record<string, string>; body: unknown }
}

interface ThrownError {
  statusCode: number
  message: string
  stack: string[]
  fields?: Record<string, string>
  requestError: true
}

const exchangesOf = (answer: Answer) => answer.json as Exchange[]
const thrownOf = (answer: Answer) => {
  expect(answer.status).toBe(200)
  const body = answer.json as ThrownError[]
  expect(body).toHaveLength(1)
  return body[0]
}

/** The headers every request of the destination carries, Authorization redacted. */
const REQUEST_HEADERS = {
  authorization: '<redacted>',
  'content-type': 'application/json',
  'user-agent': 'Segment (Actions)'
}

/** What the sandbox answers a JSON body with (date and length vary). */
const sandboxResponseHeaders = (): unknown =>
  expect.objectContaining({ 'content-type': 'application/json; charset=utf-8', date: expect.any(String) })

const trackEvent = {
  type: 'track',
  event: 'Order Completed',
  userId: 'ada',
  messageId: 'msg-cli-1',
  timestamp: '2024-03-01T10:00:00.000Z',
  properties: { order_id: 'o-1', revenue: 42 },
  context: { ip: '180.1.12.125' }
}

const activity = {
  user_id: 'ada',
  ip: '180.1.12.125',
  timestamp: '2024-03-01T10:00:00.000Z',
  message_id: 'msg-cli-1',
  event: 'Order Completed',
  properties: { order_id: 'o-1', revenue: 42 }
}

describe('against the embedded sandbox', () => {
  beforeEach(() => start())

  describe('GET /manifest', () => {
    it('answers the definition as the code exports it (functions dropped by JSON) plus directoryName', async () => {
      const answer = await fetchGet('/manifest')
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual({ ...JSON.parse(JSON.stringify(definition)), directoryName: 'ortto' })

      // The raw definition, not the normalized catalog metadata: field defaults are mapping
      // directives, presets carry their partnerAction, and functions are simply absent.
      const manifest = answer.json as {
        authentication: Record<string, unknown>
        actions: Record<string, { fields: Record<string, { default?: unknown }>; perform?: unknown }>
        presets: Array<{ partnerAction: string }>
      }
      expect(manifest.actions.trackActivity.fields.event.default).toEqual({ '@path': '$.event' })
      expect(manifest.actions.trackActivity.perform).toBeUndefined()
      expect(manifest.authentication).toEqual({
        scheme: 'custom',
        fields: { api_key: { label: 'API Key', description: 'Ortto API key', type: 'password', required: true } }
      })
      expect(manifest.presets.map((preset) => preset.partnerAction)).toEqual(['upsertContact', 'trackActivity'])
    })
  })

  describe('POST /authenticate', () => {
    it('answers 200 {ok: true} for a good key after asking the sandbox (GET /v1/me)', async () => {
      const answer = await send('/authenticate', { api_key: API_KEY })
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual({ ok: true })
      expect(sandbox.stats().byRoute).toEqual({ 'GET /v1/me': 1 })
    })

    it("checks the pipeline's own key when the settings carry none", async () => {
      const answer = await send('/authenticate', {})
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual({ ok: true })
      expect(sandbox.stats().byRoute).toEqual({ 'GET /v1/me': 1 })
    })

    it.each([
      [
        'an unknown environment letter',
        'xau-cliSecretNeverEchoed9',
        'The Ortto API key must start with "p" (production) or "s" (staging).'
      ],
      [
        'an upper-case region',
        'pAU-cliSecretNeverEchoed9',
        'The Ortto API key must have a two-letter lower-case region (a–z) then a hyphen after its first letter.'
      ],
      ['spaces around it', ' pau-cliSecretNeverEchoed9 ', 'The Ortto API key has spaces or line breaks around it.']
    ])(
      'answers 200 {ok: false} with the reason and no fields for a key with %s, sending no request',
      async (_why, key, reason) => {
        const answer = await send('/authenticate', { api_key: key })
        expect(answer.status).toBe(200)
        const { ok, error, fields } = answer.json as { ok: boolean; error: string; fields: unknown }
        expect(ok).toBe(false)
        expect(error).toMatch(/^Credentials are invalid:/)
        expect(error).toContain(reason)
        expect(fields).toEqual({})
        expect(Object.keys(answer.json as object)).toEqual(['ok', 'error', 'fields'])
        expect(sandbox.stats().requests).toBe(0)
      }
    )

    it('answers 200 {ok: false} with one entry per schema error in fields', async () => {
      const answer = await send('/authenticate', { api_key: { secret: API_KEY } })
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual({
        ok: false,
        error: 'API Key must be a string but it was an object.',
        fields: { api_key: 'API Key must be a string but it was an object.' }
      })
      expect(sandbox.stats().requests).toBe(0)
    })

    it('answers 400 when the body is not a JSON object', async () => {
      const answer = await send('/authenticate', [API_KEY])
      expect(answer.status).toBe(400)
      expect(answer.json).toEqual({
        error: { code: 'bad-request', message: 'the body of POST /authenticate must be a JSON object' }
      })
    })
  })

  describe('POST /refreshAccessToken', () => {
    it('answers 400 {ok: false, error}: the Ortto destination uses a custom key, not OAuth', async () => {
      const answer = await send('/refreshAccessToken', {
        settings: { api_key: API_KEY },
        oauth: { refreshToken: 'r', clientId: 'c', clientSecret: 's', accessToken: 'a' }
      })
      expect(answer.status).toBe(400)
      expect(answer.json).toEqual({
        ok: false,
        error: 'refreshAccessToken is only valid with oauth2 authentication scheme'
      })
      expect(sandbox.stats().requests).toBe(0)
    })
  })

  describe('POST /createAudience and /getAudience', () => {
    it.each(['/createAudience', '/getAudience'])(
      'POST %s → 404: Ortto (Actions) has no audienceConfig, so the route does not exist',
      async (route) => {
        const answer = await send(route, { settings: { api_key: API_KEY }, audienceName: 'VIP', externalId: 'x' })
        expect(answer.status).toBe(404)
        expect(answer.json).toEqual({
          error: { code: 'not-found', message: `no such route: POST ${route}; GET / lists the routes` }
        })
      }
    )
  })

  describe('POST /<action>', () => {
    it('runs a single payload with execute: 200 with one exchange, raw request body, Authorization redacted', async () => {
      const answer = await send('/trackActivity', { payload: trackEvent, settings: { api_key: API_KEY } })
      expect(answer.status).toBe(200)
      expect(exchangesOf(answer)).toEqual([
        {
          request: {
            url: `${sandbox.url}/v1/track`,
            method: 'POST',
            headers: REQUEST_HEADERS,
            body: JSON.stringify([activity])
          },
          response: { statusCode: 200, statusMessage: 'OK', headers: sandboxResponseHeaders(), body: {} }
        }
      ])
      expect(sandbox.snapshot().activities).toMatchObject([{ event: 'Order Completed', message_id: 'msg-cli-1' }])
    })

    it('lays the given mapping over the field defaults', async () => {
      const answer = await send('/trackActivity', {
        payload: trackEvent,
        settings: { api_key: API_KEY },
        mapping: {
          event: { '@template': 'Shop: {{event}}' },
          properties: { order: { '@path': '$.properties.order_id' } }
        }
      })
      expect(answer.status).toBe(200)
      // The defaults still apply to what the mapping does not name (user_id, ip, message_id…).
      expect(exchangesOf(answer)[0].request.body).toBe(
        JSON.stringify([{ ...activity, event: 'Shop: Order Completed', properties: { order: 'o-1' } }])
      )
    })

    it("uses the pipeline's settings when the call carries none", async () => {
      const answer = await send('/upsertContact', { payload: { type: 'identify', userId: 'no-settings' } })
      expect(answer.status).toBe(200)
      expect(exchangesOf(answer)).toHaveLength(1)
      expect(exchangesOf(answer)[0].request.headers.authorization).toBe('<redacted>')
      expect(sandbox.snapshot().contacts.map((c) => c.user_id)).toEqual(['no-settings'])
    })

    it('runs an array payload with executeBatch: 200 with the exchanges only, invalid events never sent', async () => {
      const answer = await send('/upsertContact', {
        settings: { api_key: API_KEY },
        payload: [
          { type: 'identify', userId: 'u1', traits: { plan: 'pro' }, messageId: 'm1' },
          { type: 'identify', traits: { plan: 'nobody' }, messageId: 'm2' },
          { type: 'identify', anonymousId: 'anon-3', messageId: 'm3' }
        ]
      })
      expect(answer.status).toBe(200)
      expect(exchangesOf(answer)).toEqual([
        {
          request: {
            url: `${sandbox.url}/v1/identify`,
            method: 'POST',
            headers: REQUEST_HEADERS,
            body: '[{"user_id":"u1","traits":{"plan":"pro"},"message_id":"m1"},{"anonymous_id":"anon-3","message_id":"m3"}]'
          },
          response: { statusCode: 200, statusMessage: 'OK', headers: sandboxResponseHeaders(), body: {} }
        }
      ])
      expect(sandbox.snapshot().contacts.map((c) => [c.user_id, c.anonymous_id])).toEqual([
        ['u1', null],
        [null, 'anon-3']
      ])
    })

    it('shows one exchange per request made: 501 events go as 500 + 1', async () => {
      const payload = Array.from({ length: 501 }, (_, i) => ({ type: 'identify', userId: `u${i}`, messageId: `m${i}` }))
      const answer = await send('/upsertContact', { settings: { api_key: API_KEY }, payload })
      expect(answer.status).toBe(200)
      const exchanges = exchangesOf(answer)
      expect(exchanges.map((e) => (JSON.parse(e.request.body) as unknown[]).length)).toEqual([500, 1])
      expect(exchanges.map((e) => e.response.statusCode)).toEqual([200, 200])
      expect(sandbox.snapshot().contacts).toHaveLength(501)
    })

    it('answers a schema error as a thrown error: 200 [{statusCode, message, stack, fields, requestError}]', async () => {
      const answer = await send('/trackActivity', {
        settings: { api_key: API_KEY },
        payload: { ...trackEvent, timestamp: 'yesterday', context: { app: { namespace: { name: 'shop' } } } }
      })
      const thrown = thrownOf(answer)
      const message =
        'Timestamp must be a valid date and time string but it was not. Namespace must be a string but it was an object.'
      expect(thrown).toEqual({
        // actions-core's schema error carries no status of its own.
        statusCode: 500,
        message,
        stack: expect.any(Array),
        fields: {
          timestamp: 'Timestamp must be a valid date and time string but it was not.',
          namespace: 'Namespace must be a string but it was an object.'
        },
        requestError: true
      })
      expect(thrown.stack[0]).toBe(`AggregateAjvError: ${message}`)
      expect(thrown.stack.slice(1).every((line) => line.trimStart().startsWith('at '))).toBe(true)
      expect(sandbox.stats().requests).toBe(0)
    })

    it("answers the destination's own validation error with its status and no fields", async () => {
      const answer = await send('/trackActivity', {
        settings: { api_key: API_KEY },
        payload: { ...trackEvent, event: '   ' }
      })
      const message = 'The Event name is blank; Ortto needs a name for every activity. Map event to $.event.'
      expect(thrownOf(answer)).toEqual({ statusCode: 400, message, stack: expect.any(Array), requestError: true })
      expect(thrownOf(answer).stack[0]).toBe(`PayloadValidationError: ${message}`)
      expect(sandbox.stats().requests).toBe(0)
    })

    it("answers Ortto's refusal of a single event as a thrown error with its status (400)", async () => {
      const answer = await send('/upsertContact', {
        settings: { api_key: API_KEY },
        payload: { type: 'identify', userId: 'long', traits: { bio: 'b'.repeat(5000) } }
      })
      expect(thrownOf(answer)).toEqual({
        statusCode: 400,
        message:
          'Ortto rejected this event (400): traits.bio is 5000 characters long; text fields take at most 4000 characters',
        stack: expect.any(Array),
        requestError: true
      })
      expect(sandbox.stats().byStatus).toEqual({ '207': 1 })
    })

    it('answers a sandbox fault (every request rate-limited) as a thrown error with status 429', async () => {
      sandbox.setFaults({ rateLimitPerSecond: 0, retryAfterSeconds: 3 })
      const answer = await send('/trackActivity', { settings: { api_key: API_KEY }, payload: trackEvent })
      const thrown = thrownOf(answer)
      expect(thrown).toMatchObject({ statusCode: 429, requestError: true })
      expect(thrown.message).toMatch(/429/)
      expect(thrown).not.toHaveProperty('fields')
      expect(sandbox.stats().byStatus).toEqual({ '429': 1 })
    })

    it('answers a malformed key in the settings as a thrown 401, without echoing it', async () => {
      const answer = await send('/trackActivity', {
        payload: trackEvent,
        settings: { api_key: 'Pau-cliSecretNeverEchoed9' }
      })
      const thrown = thrownOf(answer)
      expect(thrown).toMatchObject({ statusCode: 401, requestError: true })
      expect(thrown.message).toMatch(/^The Ortto API key must start with "p"/)
      expect(sandbox.stats().requests).toBe(0)
    })

    it.each([
      ['no payload', {}],
      ['a string payload', { payload: 'identify' }],
      ['an empty array payload', { payload: [] }],
      ['an array with a non-object', { payload: [{ type: 'identify', userId: 'a' }, 7] }]
    ])('answers 400 for %s', async (_why, body) => {
      const answer = await send('/upsertContact', body)
      expect(answer.status).toBe(400)
      expect(answer.json).toEqual({
        error: {
          code: 'bad-request',
          message:
            '"payload" must be a Segment event object or a non-empty array of them (an array runs the batch path)'
        }
      })
      expect(sandbox.stats().requests).toBe(0)
    })

    it.each([
      ['mapping', { mapping: 'default' }, '"mapping" must be an object when given (got a string)'],
      ['auth', { auth: ['token'] }, '"auth" must be an object when given (got an array)'],
      ['features', { features: true }, '"features" must be an object when given (got a boolean)'],
      [
        'settings',
        { settings: [API_KEY] },
        '"settings" must be an object of the destination\'s settings, such as {"api_key": "pau-…"}'
      ]
    ])('answers 400 when %s is not an object', async (_key, extra, message) => {
      const answer = await send('/upsertContact', { payload: { type: 'identify', userId: 'a' }, ...extra })
      expect(answer.status).toBe(400)
      expect(answer.json).toEqual({ error: { code: 'bad-request', message } })
      expect(sandbox.stats().requests).toBe(0)
    })
  })

  describe('POST /<action>/hooks/<hook>', () => {
    it('runs onMappingSave with hookInputs: 200 with exactly {successMessage, savedData}', async () => {
      const answer = await send('/upsertContact/hooks/onMappingSave', {
        settings: { api_key: API_KEY },
        hookInputs: { audience_name: 'VIP' },
        hookOutputs: {},
        payload: {}
      })
      expect(answer.status).toBe(200)
      const [audience] = sandbox.snapshot().audiences
      expect(audience.name).toBe('VIP')
      expect(answer.json).toEqual({
        successMessage: `Contacts of this mapping will be linked to the Ortto audience "VIP" (id ${audience.id}).`,
        savedData: { audience_id: audience.id, audience_name: 'VIP' }
      })

      // Saving again, with the pipeline's key, links the same audience.
      const again = await send('/trackActivity/hooks/onMappingSave', { hookInputs: { audience_name: 'VIP' } })
      expect(again.status).toBe(200)
      expect((again.json as { savedData: unknown }).savedData).toEqual({
        audience_id: audience.id,
        audience_name: 'VIP'
      })
      expect(sandbox.snapshot().audiences).toHaveLength(1)
    })

    it("answers 500 [{message, code}] with the hook's error when the audience cannot be linked", async () => {
      const answer = await send('/upsertContact/hooks/onMappingSave', {
        settings: { api_key: 'Xau-cliSecretNeverEchoed9' },
        hookInputs: { audience_name: 'VIP' }
      })
      expect(answer.status).toBe(500)
      const body = answer.json as Array<{ message: string; code: string }>
      expect(body).toEqual([{ message: expect.any(String), code: 'CREATE_AUDIENCE_FAILED' }])
      expect(body[0].message).toMatch(/^Could not link the audience "VIP": The Ortto API key must start with "p"/)
      expect(sandbox.snapshot().audiences).toEqual([])
    })

    it('answers 500 [{message}] when the hook inputs fail its schema', async () => {
      const answer = await send('/upsertContact/hooks/onMappingSave', { hookInputs: { audience_name: { n: 1 } } })
      expect(answer.status).toBe(500)
      expect(answer.json).toEqual([{ message: 'Audience Name must be a string but it was an object.' }])
      expect(sandbox.stats().requests).toBe(0)
    })

    it.each([
      [
        'hookInputs',
        { hookInputs: 'VIP' },
        '"hookInputs" must be an object of the hook\'s input fields, such as {"audience_name": "VIP"}'
      ],
      [
        'hookOutputs',
        { hookInputs: {}, hookOutputs: ['x'] },
        '"hookOutputs" must be an object when given (got an array)'
      ],
      ['settings', { hookInputs: {}, settings: 'pau-x' }, expect.stringMatching(/^"settings" must be an object/)]
    ])('answers 400 when %s is not an object, running nothing', async (_key, body, message) => {
      const answer = await send('/upsertContact/hooks/onMappingSave', body)
      expect(answer.status).toBe(400)
      expect(answer.json).toEqual({ error: { code: 'bad-request', message } })
      expect(sandbox.stats().requests).toBe(0)
    })

    it.each([
      ['/upsertContact/hooks/nope', 'upsertContact has no hook "nope"'],
      ['/trackActivity/hooks/onMappingSaved', 'trackActivity has no hook "onMappingSaved"'],
      ['/upsertContact/hooks/constructor', 'upsertContact has no hook "constructor"'],
      ['/upsertContact/hooks/toString', 'upsertContact has no hook "toString"']
    ])('POST %s → 404 "%s"', async (route, message) => {
      const answer = await send(route, { hookInputs: {} })
      expect(answer.status).toBe(404)
      expect(answer.json).toEqual({ error: { code: 'not-found', message } })
    })

    it.each([
      ['/upsertContact/hooks', 'no such route: POST /upsertContact/hooks; GET / lists the routes'],
      [
        '/upsertContact/hooks/onMappingSave/extra',
        'no such route: POST /upsertContact/hooks/onMappingSave/extra; GET / lists the routes'
      ],
      [
        '/upsertContact/other/onMappingSave',
        'no such route: POST /upsertContact/other/onMappingSave; GET / lists the routes'
      ],
      // Ortto's fields have no dynamic choices, so no /<action>/<field> route exists.
      [
        '/upsertContact/user_id',
        'no such route: POST /upsertContact/user_id (upsertContact has no dynamic field "user_id")'
      ]
    ])('POST %s → 404', async (route, message) => {
      const answer = await send(route, {})
      expect(answer.status).toBe(404)
      expect(answer.json).toEqual({ error: { code: 'not-found', message } })
    })
  })

  describe('CORS', () => {
    const preflight = (origin: string, route = '/trackActivity') =>
      call(pipeline.url, 'OPTIONS', route, {
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' }
      })

    it.each([
      'https://app.segment.com',
      'https://eu1.app.segment.com',
      'https://app.segment.build',
      'https://eu1.app.segment.build',
      'http://localhost:8000'
    ])('allows %s: preflight 204 with allow-methods and allow-headers, and the origin on answers', async (origin) => {
      const answer = await preflight(origin)
      expect(answer.status).toBe(204)
      expect(answer.text).toBe('')
      expect(answer.headers.get('access-control-allow-origin')).toBe(origin)
      expect(answer.headers.get('access-control-allow-methods')).toBe('GET, POST, OPTIONS')
      expect(answer.headers.get('access-control-allow-headers')).toBe('authorization, content-type')
      expect(answer.headers.get('vary')).toBe('origin')

      const manifest = await fetchGet('/manifest', { origin })
      expect(manifest.headers.get('access-control-allow-origin')).toBe(origin)
      const run = await send('/trackActivity', { payload: trackEvent }, { origin })
      expect(run.status).toBe(200)
      expect(run.headers.get('access-control-allow-origin')).toBe(origin)
      const bad = await send('/trackActivity', 'not json', { origin })
      expect(bad.status).toBe(400)
      expect(bad.headers.get('access-control-allow-origin')).toBe(origin)
    })

    it.each([
      'https://evil.example',
      // Allowed before; serve does not allow it.
      'https://app.eu1.segmentapis.com',
      'http://app.segment.com',
      'https://app.segment.com.evil.example',
      'https://segment.com',
      'http://localhost:8001',
      'https://localhost:8000',
      'null'
    ])('refuses origin %s with 403, and gives it no CORS headers', async (origin) => {
      const answer = await preflight(origin)
      expect(answer.status).toBe(403)
      expect(answer.headers.get('access-control-allow-origin')).toBeNull()
      expect(answer.headers.get('access-control-allow-methods')).toBeNull()
      expect(answer.headers.get('access-control-allow-headers')).toBeNull()

      const manifest = await fetchGet('/manifest', { origin })
      expect(manifest.status).toBe(403)
      expect(manifest.headers.get('access-control-allow-origin')).toBeNull()
    })
  })
})

describe('against an Ortto stand-in that echoes the key back', () => {
  let standIn: EchoStandIn

  beforeEach(async () => {
    standIn = await echoStandIn()
    await start({ kind: 'endpoint', url: standIn.url })
  })

  afterEach(() => standIn.close())

  it("redacts the call's key from the echoed body and headers of an exchange", async () => {
    const answer = await send('/trackActivity', { payload: trackEvent, settings: { api_key: API_KEY } })
    expect(answer.status).toBe(200)
    expect(exchangesOf(answer)).toEqual([
      {
        request: {
          url: `${standIn.url}/v1/track`,
          method: 'POST',
          headers: REQUEST_HEADERS,
          body: JSON.stringify([activity])
        },
        response: {
          statusCode: 200,
          statusMessage: 'OK',
          headers: expect.objectContaining({ 'x-echo': 'Bearer «redacted»', 'set-cookie': '<redacted>' }),
          body: { echo: 'Bearer «redacted»', seen: ['Bearer «redacted»'] }
        }
      }
    ])
  })

  it("redacts the pipeline's own key, used when the call carries none", async () => {
    const answer = await send('/upsertContact', { payload: { type: 'identify', userId: 'ada' } })
    expect(answer.status).toBe(200)
    expect(exchangesOf(answer)[0].response.body).toEqual({ echo: 'Bearer «redacted»', seen: ['Bearer «redacted»'] })
  })

  it("redacts both keys at once: the call's and the pipeline's, which the stand-in saw earlier", async () => {
    await send('/upsertContact', { payload: { type: 'identify', userId: 'first' } })
    const answer = await send('/upsertContact', {
      payload: { type: 'identify', userId: 'second' },
      settings: { api_key: API_KEY }
    })
    expect(exchangesOf(answer)[0].response.body).toEqual({
      echo: 'Bearer «redacted»',
      seen: ['Bearer «redacted»', 'Bearer «redacted»']
    })
  })

  it('redacts the echoed keys from an error message (POST /authenticate)', async () => {
    await send('/upsertContact', { payload: { type: 'identify', userId: 'first' } })
    const answer = await send('/authenticate', { api_key: API_KEY })
    expect(answer.status).toBe(200)
    const { ok, error } = answer.json as { ok: boolean; error: string }
    expect(ok).toBe(false)
    expect(error).toContain('Ortto refused the API key (401)')
    expect(error).toContain('"seen":["Bearer «redacted»","Bearer «redacted»"]')
  })
})

describe('the audience and dynamic-field routes, with an audience definition built here', () => {
  interface TestSettings {
    api_key: string
  }

  interface SyncMemberPayload {
    email?: string
    list?: string
    broken?: string
    throws?: string
  }

  /** One action whose fields get dynamic choices: one answers them, one reports an error, one throws. */
  const syncMember: ActionDefinition<TestSettings, SyncMemberPayload> = {
    title: 'Sync Member',
    description: 'Adds a member to a list',
    fields: {
      email: { label: 'Email', description: 'Email', type: 'string', default: { '@path': '$.traits.email' } },
      list: { label: 'List', description: 'A list', type: 'string', dynamic: true },
      broken: { label: 'Broken', description: 'A list whose service is down', type: 'string', dynamic: true },
      throws: { label: 'Throws', description: 'A list that throws', type: 'string', dynamic: true }
    },
    dynamicFields: {
      list: (_request, { page }) =>
        Promise.resolve({ choices: [{ label: 'VIP', value: 'vip' }], nextPage: page === undefined ? '2' : '' }),
      broken: () => Promise.resolve({ choices: [], error: { message: 'The list service is down.', code: '503' } }),
      throws: () => Promise.reject(new IntegrationError('No lists here.', 'NO_LISTS', 400))
    },
    perform: () => undefined
  }

  /** An audience destination whose audiences live in the embedded sandbox. */
  /** Creates on the sandbox's Ortto API; finds through its inspection route, on the pipeline's port. */
  const audienceDefinition = (
    sandboxUrl: string,
    pipelineUrl: string
  ): AudienceDestinationDefinition<TestSettings> => ({
    name: 'Test Audiences',
    mode: 'cloud',
    authentication: {
      scheme: 'oauth2',
      fields: { api_key: { label: 'API Key', description: 'The sandbox key', type: 'password', required: true } },
      refreshAccessToken: (_request, { auth }) => Promise.resolve({ accessToken: `fresh-for-${auth.refreshToken}` })
    },
    extendRequest: ({ settings }) => ({ headers: { authorization: `Bearer ${settings.api_key}` } }),
    audienceFields: {},
    audienceConfig: {
      mode: { type: 'synced', full_audience_sync: false },
      createAudience: async (request, { audienceName }) => {
        const response = await request(`${sandboxUrl}/v1/audiences/create`, {
          method: 'POST',
          json: { name: audienceName }
        })
        return { externalId: (response.data as { id: string }).id }
      },
      getAudience: async (request, { externalId }) => {
        const response = await request(`${pipelineUrl}/sandbox/audiences`, {
          headers: { authorization: basicAuth(TEST_WRITE_KEY) }
        })
        const { audiences } = response.data as { audiences: Array<{ id: string }> }
        if (!audiences.some((audience) => audience.id === externalId)) {
          throw new IntegrationError(`No audience has the id "${externalId}".`, 'NOT_FOUND', 404)
        }
        return { externalId }
      }
    },
    actions: { syncMember }
  })

  let routes: CliRoutes<TestSettings>

  beforeEach(async () => {
    await start()
    const testDefinition = audienceDefinition(sandbox.url, pipeline.url) as DestinationDefinition<TestSettings>
    routes = new CliRoutes(testDefinition, { api_key: API_KEY }, 'test-audiences', GATE)
  })

  it('has the audience routes, and lists them and the dynamic-field route', () => {
    expect(routes.handles('/createAudience')).toBe(true)
    expect(routes.handles('/getAudience')).toBe(true)
    expect(routes.handles('/syncMember/list')).toBe(true)
    expect(Object.keys(routes.routes)).toEqual(
      expect.arrayContaining(['POST /createAudience', 'POST /getAudience', 'POST /<action>/<dynamicField>'])
    )
    // The Ortto destination has neither.
    const ortto = new CliRoutes(definition, { api_key: SANDBOX_KEY }, 'ortto', GATE)
    expect(ortto.handles('/createAudience')).toBe(false)
    expect(ortto.handles('/getAudience')).toBe(false)
    expect(Object.keys(ortto.routes)).not.toContain('POST /createAudience')
    expect(Object.keys(ortto.routes)).not.toContain('POST /getAudience')
    expect(Object.keys(ortto.routes)).not.toContain('POST /<action>/<dynamicField>')
  })

  it('POST /createAudience → 200 {externalId}, and POST /getAudience finds it → 200 {externalId}', async () => {
    const created = await routes.answer(
      'POST',
      '/createAudience',
      {
        settings: { api_key: API_KEY },
        audienceName: 'Winners'
      },
      SHOWN
    )
    const [audience] = sandbox.snapshot().audiences
    expect(audience.name).toBe('Winners')
    expect(created).toEqual({ status: 200, body: { externalId: audience.id } })

    const found = await routes.answer('POST', '/getAudience', { externalId: audience.id }, SHOWN)
    expect(found).toEqual({ status: 200, body: { externalId: audience.id } })
  })

  it('POST /getAudience of an unknown id → 400 {ok: false, error}', async () => {
    const answer = await routes.answer(
      'POST',
      '/getAudience',
      { settings: { api_key: API_KEY }, externalId: 'nope' },
      SHOWN
    )
    expect(answer).toEqual({ status: 400, body: { ok: false, error: 'No audience has the id "nope".' } })
  })

  it('POST /createAudience refused by the sandbox (malformed key) → 400 {ok: false, error}', async () => {
    const answer = await routes.answer(
      'POST',
      '/createAudience',
      {
        settings: { api_key: 'Xau-cliSecretNeverEchoed9' },
        audienceName: 'Winners'
      },
      SHOWN
    )
    expect(answer.status).toBe(400)
    expect(answer.body).toEqual({ ok: false, error: expect.stringMatching(/^Unauthorized/) })
    expect(sandbox.snapshot().audiences).toEqual([])
  })

  it('POST /refreshAccessToken → 200 {ok: true, data} for an OAuth destination', async () => {
    const answer = await routes.answer(
      'POST',
      '/refreshAccessToken',
      {
        settings: { api_key: API_KEY },
        oauth: { refreshToken: 'r-1', accessToken: 'old', clientId: 'c', clientSecret: 's' }
      },
      SHOWN
    )
    expect(answer).toEqual({ status: 200, body: { ok: true, data: { accessToken: 'fresh-for-r-1' } } })
  })

  it('GET /manifest carries the audienceConfig without its functions, and the given directoryName', async () => {
    const answer = await routes.answer('GET', '/manifest', undefined, SHOWN)
    expect(answer.status).toBe(200)
    expect(answer.body).toMatchObject({
      name: 'Test Audiences',
      audienceConfig: { mode: { type: 'synced', full_audience_sync: false } },
      directoryName: 'test-audiences'
    })
    expect((answer.body as { audienceConfig: object }).audienceConfig).not.toHaveProperty('createAudience')
  })

  it('POST /<action>/<dynamicField> → 200 with the choices', async () => {
    const answer = await routes.answer(
      'POST',
      '/syncMember/list',
      { settings: { api_key: API_KEY }, payload: {} },
      SHOWN
    )
    expect(answer).toEqual({ status: 200, body: { choices: [{ label: 'VIP', value: 'vip' }], nextPage: '2' } })
  })

  it.each([
    ['/syncMember/broken', [{ message: 'The list service is down.', code: '503' }]],
    ['/syncMember/throws', [{ message: 'No lists here.', code: 'NO_LISTS' }]]
  ])('POST %s → 500 [error]', async (route, body) => {
    expect(await routes.answer('POST', route, {}, SHOWN)).toEqual({ status: 500, body })
  })

  it('POST /<action>/<field> of a field that is not dynamic → 404', async () => {
    await expect(routes.answer('POST', '/syncMember/email', {}, SHOWN)).rejects.toMatchObject({
      status: 404,
      message: 'no such route: POST /syncMember/email (syncMember has no dynamic field "email")'
    })
  })

  it('keeps the keys out of every answer', async () => {
    const created = await routes.answer(
      'POST',
      '/createAudience',
      {
        settings: { api_key: API_KEY },
        audienceName: 'W'
      },
      SHOWN
    )
    const failed = await routes.answer(
      'POST',
      '/getAudience',
      { settings: { api_key: API_KEY }, externalId: API_KEY },
      SHOWN
    )
    expect(failed.body).toEqual({ ok: false, error: 'No audience has the id "«redacted»".' })
    for (const answer of [created, failed]) {
      expect(JSON.stringify(answer)).not.toContain(API_KEY)
      expect(JSON.stringify(answer)).not.toContain(SANDBOX_KEY)
    }
  })
})
