/**
 * The pipeline as an attacker on loopback, or a web page in the user's browser, would meet it:
 * the write key in front of every route that delivers with the pipeline's key or reads or changes
 * sandbox state (and the one exception, an action call with its own key to real Ortto); the
 * request guard (Host, Origin, content-type) before any body is read; compressed bodies; and
 * /status counting calls and events apart.
 */
import * as zlib from 'node:zlib'
import nock from 'nock'
import { LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import { startSandbox, type Sandbox } from 'ortto-sandbox'
import { ConfigError, readConfig } from '../config'
import type { PipelineConfig } from '../config'
import { startPipeline } from '../index'
import type { Pipeline } from '../index'
import { WriteKeyGate, generateWriteKey } from '../write-key'
import { TEST_WRITE_KEY, basicAuth, call, get, post, waitFor } from '../../../test/helpers/pipeline-helpers'
import type { Answer, CallOptions } from '../../../test/helpers/pipeline-helpers'
import { rawRequest } from '../../../../../test/helpers/raw-http'
import type { RawRequest } from '../../../../../test/helpers/raw-http'

/** The pipeline's own Ortto key in Ortto mode, and a caller's own one: neither may appear in an answer. */
const PIPELINE_KEY = 'pau-pipelineOwnSecret42'
const CALLER_KEY = 'pau-callerOwnSecret17'
const ORTTO_AU = 'https://segment-action-api-au.ortto.app'

let running: Array<{ stop: () => Promise<unknown> }> = []
let logLines: string[]

async function start(overrides: Partial<PipelineConfig> = {}): Promise<Pipeline> {
  const pipeline = await startPipeline(
    {
      port: 0,
      target: { kind: 'sandbox', port: 0 },
      flushIntervalMs: 20,
      maxAttempts: 2,
      writeKey: TEST_WRITE_KEY,
      ...overrides
    },
    (line) => logLines.push(line)
  )
  running.push(pipeline)
  return pipeline
}

beforeEach(() => {
  logLines = []
})

afterEach(async () => {
  for (const thing of running.reverse()) await thing.stop()
  running = []
  delete process.env[LOCAL_ENDPOINT_ENV]
})

const sandboxOf = (p: Pipeline) => p.sandbox as Sandbox
const answerMessage = (answer: { json: unknown }) => (answer.json as { error: { message: string } }).error.message
const portOf = (p: Pipeline) => new URL(p.url).port

const identifyEvent = { type: 'identify', userId: 'intruder', traits: { email: 'i@example.com' } }
const trackEvent = { type: 'track', userId: 'intruder', event: 'Break In', properties: {} }

const WRITE_KEY_MESSAGE = /^missing or wrong write key: send the write key as the basic-auth user name/

/** Every route behind the write key, with a body it would take, and its status once the key is shown. */
const GATED: Array<[method: string, path: string, body: unknown, withKey: number]> = [
  ['POST', '/v1/identify', { userId: 'intruder' }, 200],
  ['POST', '/v1/track', { userId: 'intruder', event: 'E' }, 200],
  ['POST', '/v1/batch', { batch: [identifyEvent] }, 200],
  ['GET', '/status', undefined, 200],
  // A dry run shows the requests the pipeline's key would send; outcomes say who sent what.
  ['POST', '/dry-run', identifyEvent, 200],
  ['GET', '/outcomes?userId=seeded', undefined, 200],
  ['GET', '/sandbox/contacts', undefined, 200],
  ['GET', '/sandbox/contacts?user_id=seeded', undefined, 200],
  ['GET', '/sandbox/activities', undefined, 200],
  ['GET', '/sandbox/audiences', undefined, 200],
  ['GET', '/sandbox/stats', undefined, 200],
  ['GET', '/sandbox/faults', undefined, 200],
  ['POST', '/sandbox/faults', { failRate: 1 }, 200],
  ['POST', '/sandbox/reset', undefined, 200],
  ['POST', '/upsertContact', { payload: identifyEvent }, 200],
  ['POST', '/trackActivity', { payload: [trackEvent] }, 200],
  ['POST', '/upsertContactProfile', { payload: identifyEvent }, 200],
  ['POST', '/upsertContact/hooks/onMappingSave', { hookInputs: { audience_name: 'Intruders' } }, 200],
  ['POST', '/results/trackActivity', { payload: trackEvent }, 200],
  ['POST', '/authenticate', {}, 200],
  ['POST', '/refreshAccessToken', {}, 400],
  // Ortto (Actions) has no audience functions: with the key these are unknown routes.
  ['POST', '/createAudience', { audienceName: 'Intruders' }, 404],
  ['POST', '/getAudience', { externalId: 'x' }, 404],
  // Ortto (Audiences)' routes, under its folder.
  ['POST', '/ortto-audiences/createAudience', { audienceName: 'Intruders' }, 200],
  ['POST', '/ortto-audiences/getAudience', { externalId: 'x' }, 400],
  ['POST', '/ortto-audiences/syncAudience', { payload: identifyEvent }, 200],
  ['POST', '/ortto-audiences/results/syncAudience', { payload: [identifyEvent] }, 207],
  ['POST', '/ortto-audiences/authenticate', {}, 200],
  // Deny by default: a route that does not exist says so only to a caller with the key.
  ['GET', '/nowhere', undefined, 404]
]

const send = (p: Pipeline, method: string, path: string, body: unknown, options: CallOptions = {}) =>
  call(p.url, method, path, { ...options, body })

describe('the write key', () => {
  describe('in front of every route but GET /, /manifest, /metadata and OPTIONS', () => {
    let p: Pipeline
    /** A contact delivered before the attempts, which must stay as it is. */
    let before: ReturnType<Sandbox['snapshot']>

    beforeEach(async () => {
      p = await start()
      await post(p.url, '/v1/identify', { userId: 'seeded', traits: { secret: 'only for key holders' } })
      await waitFor('the seeded contact', () => p.delivery.status().delivered === 1)
      before = sandboxOf(p).snapshot()
    })

    const refusedOptions: Array<[string, CallOptions]> = [
      ['no Authorization header', { writeKey: null }],
      ['a wrong write key', { writeKey: 'not-the-key' }],
      ['the key with a suffix', { writeKey: `${TEST_WRITE_KEY}x` }],
      ['a prefix of the key', { writeKey: TEST_WRITE_KEY.slice(0, -1) }],
      ['the key as a Bearer token', { writeKey: null, headers: { authorization: `Bearer ${TEST_WRITE_KEY}` } }],
      [
        'the key as the basic-auth password',
        { writeKey: null, headers: { authorization: `Basic ${Buffer.from(`:${TEST_WRITE_KEY}`).toString('base64')}` } }
      ],
      ['an Ortto API key as a Bearer token', { writeKey: null, apiKey: PIPELINE_KEY }]
    ]

    it.each(refusedOptions)('answers 401 to %s on every gated route, and nothing changes', async (_why, options) => {
      const statsBefore = sandboxOf(p).stats()
      for (const [method, path, body] of GATED) {
        const answer = await send(p, method, path, body, options)
        expect({ route: `${method} ${path}`, status: answer.status }).toEqual({
          route: `${method} ${path}`,
          status: 401
        })
        expect(answer.json).toEqual({
          error: { code: 'unauthorized', message: expect.stringMatching(WRITE_KEY_MESSAGE) }
        })
        expect(answer.headers.get('www-authenticate')).toMatch(/^Basic realm=/)
        expect(answer.text).not.toContain('only for key holders')
        expect(answer.text).not.toContain(TEST_WRITE_KEY)
      }
      // Nothing read, delivered, reset or switched on: the sandbox saw no request at all.
      expect(sandboxOf(p).snapshot()).toEqual(before)
      expect(sandboxOf(p).stats()).toEqual(statsBefore)
      expect(p.delivery.status()).toMatchObject({ received: 1, pending: 0 })
      expect((await get(p.url, '/sandbox/faults')).json).toEqual({ faults: {} })
    })

    it('answers every gated route with the key (as curl -u key: sends it, with or without a password)', async () => {
      for (const [method, path, body, withKey] of GATED) {
        const answer = await send(p, method, path, body)
        expect({ route: `${method} ${path}`, status: answer.status }).toEqual({
          route: `${method} ${path}`,
          status: withKey
        })
        if (path === '/sandbox/faults' && method === 'POST') await post(p.url, '/sandbox/faults', {})
      }
      const withPassword = await get(p.url, '/status', {
        writeKey: null,
        headers: { authorization: `Basic ${Buffer.from(`${TEST_WRITE_KEY}:anything`).toString('base64')}` }
      })
      expect(withPassword.status).toBe(200)
    })

    it.each([
      ['GET', '/', 200],
      ['GET', '/manifest', 200],
      ['GET', '/metadata', 200],
      ['GET', '/ortto-audiences/manifest', 200],
      ['GET', '/ortto-audiences/metadata', 200],
      ['OPTIONS', '/trackActivity', 204],
      ['OPTIONS', '/v1/batch', 204]
    ])('leaves %s %s open: no secret, no state', async (method, path, status) => {
      const answer = await call(p.url, method, path, { writeKey: null })
      expect(answer.status).toBe(status)
      expect(answer.text).not.toContain('only for key holders')
    })

    it('GET / says which routes take the write key, and how to send it', async () => {
      const answer = await get(p.url, '/', { writeKey: null })
      expect((answer.json as { auth: string }).auth).toBe(
        'every route but GET /, GET /metadata, GET /manifest, GET /ortto-audiences/metadata and ' +
          'GET /ortto-audiences/manifest takes the write key as the basic-auth user name ' +
          '(curl -u <write key>:); npm start prints it'
      )
    })

    it('checks the key before reading the body: an unkeyed upload is answered without waiting for it', async () => {
      for (const path of ['/v1/batch', '/trackActivity', '/sandbox/faults']) {
        const answer = await rawRequest(p.url, path, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          withholdBody: 100_000
        })
        expect({ path, status: answer.status }).toEqual({ path, status: 401 })
      }
    })
  })

  describe('generated at start when SEGMENT_WRITE_KEY is unset', () => {
    it('is 24 url-safe random characters, on the Pipeline, and the only key that works', async () => {
      const p = await start({ writeKey: undefined })
      expect(p.writeKeyGenerated).toBe(true)
      expect(p.writeKey).toMatch(/^[A-Za-z0-9_-]{24}$/)
      expect((await get(p.url, '/status', { writeKey: p.writeKey })).status).toBe(200)
      expect((await get(p.url, '/status')).status).toBe(401)
      expect((await post(p.url, '/v1/identify', { userId: 'u' }, { writeKey: p.writeKey })).status).toBe(200)
      // Never logged: the banner (start.ts) prints it once, nothing else does.
      expect(logLines.join('\n')).not.toContain(p.writeKey)
    })

    it('is new at every start', async () => {
      const keys = new Set(Array.from({ length: 50 }, () => generateWriteKey()))
      expect(keys.size).toBe(50)
      const first = await start({ writeKey: undefined })
      await first.stop()
      const second = await start({ writeKey: undefined })
      expect(second.writeKey).not.toBe(first.writeKey)
    })

    it('is the one set when SEGMENT_WRITE_KEY is set', async () => {
      const p = await start({ writeKey: readConfig({ SEGMENT_WRITE_KEY: 'my-write-key' }).writeKey })
      expect(p.writeKeyGenerated).toBe(false)
      expect(p.writeKey).toBe('my-write-key')
    })

    it.each(['my:key', 'my key', ' key'])('refuses SEGMENT_WRITE_KEY=%j (not a basic-auth user name)', (key) => {
      expect(() => readConfig({ SEGMENT_WRITE_KEY: key })).toThrow(
        new ConfigError('SEGMENT_WRITE_KEY cannot hold a colon or spaces: it is sent as the basic-auth user name.')
      )
    })
  })

  describe('the own-key exception (serve is open): only for real Ortto', () => {
    /** The calls that bring their own key, each as its route takes the settings. */
    const OWN_KEY_CALLS: Array<[path: string, body: Record<string, unknown>]> = [
      ['/upsertContact', { payload: identifyEvent, settings: { api_key: CALLER_KEY } }],
      ['/results/upsertContact', { payload: identifyEvent, settings: { api_key: CALLER_KEY } }],
      [
        '/upsertContact/hooks/onMappingSave',
        { settings: { api_key: CALLER_KEY }, hookInputs: { audience_name: 'Mine' } }
      ],
      ['/authenticate', { api_key: CALLER_KEY }],
      ['/refreshAccessToken', { settings: { api_key: CALLER_KEY } }]
    ]

    it.each(OWN_KEY_CALLS)('sandbox mode: POST %s with its own key still needs the write key', async (path, body) => {
      const p = await start()
      const statsBefore = sandboxOf(p).stats()
      const answer = await post(p.url, path, body, { writeKey: null })
      expect(answer.status).toBe(401)
      expect(answerMessage(answer)).toMatch(WRITE_KEY_MESSAGE)
      expect(sandboxOf(p).stats()).toEqual(statsBefore)
    })

    it('endpoint mode: a call with its own key still needs the write key (any key reaches the stand-in)', async () => {
      const standIn = await startSandbox({ port: 0 })
      running.push(standIn)
      const p = await start({ target: { kind: 'endpoint', url: standIn.url } })
      for (const [path, body] of OWN_KEY_CALLS) {
        const answer = await post(p.url, path, body, { writeKey: null })
        expect({ path, status: answer.status }).toEqual({ path, status: 401 })
      }
      expect(standIn.stats().requests).toBe(0)
      expect(standIn.snapshot().contacts).toEqual([])
    })

    describe('Ortto mode (ORTTO_API_KEY)', () => {
      let p: Pipeline
      let answers: Answer[]

      beforeEach(async () => {
        answers = []
        p = await start({ target: { kind: 'ortto', apiKey: PIPELINE_KEY } })
      })

      afterEach(() => {
        for (const answer of answers) {
          expect(answer.text).not.toContain(PIPELINE_KEY)
          expect(answer.text).not.toContain(CALLER_KEY)
        }
      })

      const unkeyed = async (path: string, body: unknown) => {
        const answer = await post(p.url, path, body, { writeKey: null })
        answers.push(answer)
        return answer
      }

      it('runs an action call that brings its own api_key without the write key, with that key', async () => {
        const ortto = nock(ORTTO_AU)
          .post('/v1/identify')
          .matchHeader('authorization', `Bearer ${CALLER_KEY}`)
          .reply(200, {})
          .get('/v1/me')
          .matchHeader('authorization', `Bearer ${CALLER_KEY}`)
          .reply(200, { ok: true })
        const run = await unkeyed('/upsertContact', { payload: identifyEvent, settings: { api_key: CALLER_KEY } })
        expect(run.status).toBe(200)
        expect((run.json as Array<{ response: { statusCode: number } }>).map((e) => e.response.statusCode)).toEqual([
          200
        ])
        const auth = await unkeyed('/authenticate', { api_key: CALLER_KEY })
        expect(auth.json).toEqual({ ok: true })
        expect(ortto.isDone()).toBe(true)
      })

      it.each([
        ['no settings', { payload: identifyEvent }],
        ['settings without an api_key', { payload: identifyEvent, settings: {} }],
        ['an empty api_key', { payload: identifyEvent, settings: { api_key: '' } }],
        ['a blank api_key', { payload: identifyEvent, settings: { api_key: '   ' } }],
        ['an api_key that is not a string', { payload: identifyEvent, settings: { api_key: 42 } }],
        ['settings that are not an object', { payload: identifyEvent, settings: CALLER_KEY }]
      ])('answers 401 to an action call with %s (it would use the pipeline key)', async (_why, body) => {
        const ortto = nock(ORTTO_AU).post(/.*/).reply(200, {})
        for (const path of ['/upsertContact', '/results/upsertContact', '/upsertContact/hooks/onMappingSave']) {
          const answer = await unkeyed(path, body)
          expect({ path, status: answer.status }).toEqual({ path, status: 401 })
        }
        expect((await unkeyed('/authenticate', {})).status).toBe(401)
        expect(ortto.isDone()).toBe(false)
      })

      it('keeps /v1, /status and the rest gated', async () => {
        for (const [method, path, body] of GATED.filter(([, path]) => !path.startsWith('/sandbox/'))) {
          const answer = await call(p.url, method, path, { body, writeKey: null })
          answers.push(answer)
          const ownKeyRoute = answer.status !== 401
          expect({ path, ownKeyRoute }).toEqual({ path, ownKeyRoute: false })
        }
        expect(p.delivery.status().received).toBe(0)
      })

      it('with the write key, a call without settings uses the pipeline key', async () => {
        const ortto = nock(ORTTO_AU)
          .post('/v1/identify')
          .matchHeader('authorization', `Bearer ${PIPELINE_KEY}`)
          .reply(200, {})
        const answer = await post(p.url, '/upsertContact', { payload: identifyEvent })
        answers.push(answer)
        expect(answer.status).toBe(200)
        expect(ortto.isDone()).toBe(true)
      })
    })

    it('WriteKeyGate: own keys open only toward real Ortto, and never once ORTTO_LOCAL_ENDPOINT is set', () => {
      const ortto = new WriteKeyGate('k', true)
      const sandbox = new WriteKeyGate('k', false)
      expect(ortto.mayRunWithoutWriteKey({ api_key: CALLER_KEY })).toBe(true)
      expect(ortto.mayRunWithoutWriteKey({})).toBe(false)
      expect(ortto.mayRunWithoutWriteKey(undefined)).toBe(false)
      expect(sandbox.mayRunWithoutWriteKey({ api_key: CALLER_KEY })).toBe(false)
      process.env[LOCAL_ENDPOINT_ENV] = 'http://127.0.0.1:1'
      expect(ortto.mayRunWithoutWriteKey({ api_key: CALLER_KEY })).toBe(false)
      expect(ortto.ownKeyCallsOpen).toBe(false)
    })
  })
})

describe("the embedded sandbox's own port", () => {
  it('answers no /sandbox/* route: its contents are read and changed on the pipeline port, with the key', async () => {
    const p = await start()
    const sandboxUrl = sandboxOf(p).url
    for (const [method, path] of [
      ['GET', '/sandbox/contacts'],
      ['GET', '/sandbox/stats'],
      ['POST', '/sandbox/reset'],
      ['POST', '/sandbox/faults']
    ]) {
      const answer = await call(sandboxUrl, method, path, {
        body: method === 'POST' ? {} : undefined,
        apiKey: null,
        writeKey: null
      })
      expect([method, path, answer.status]).toEqual([method, path, 404])
      expect(answerMessage(answer)).toMatch(/on the pipeline's port, with its write key/)
    }
    expect((await get(p.url, '/sandbox/stats')).status).toBe(200)
  })

  it("takes Ortto's API only with the key this pipeline generated, never another well-formed one", async () => {
    const p = await start()
    const sandboxUrl = sandboxOf(p).url
    const stranger = await post(sandboxUrl, '/v1/identify', [{ user_id: 'intruder' }], {
      apiKey: 'pau-guessed-key',
      writeKey: null
    })
    expect(stranger.status).toBe(401)
    const own = await post(sandboxUrl, '/v1/identify', [{ user_id: 'pipeline' }], { apiKey: p.apiKey, writeKey: null })
    expect(own.status).toBe(200)
    expect(
      sandboxOf(p)
        .snapshot()
        .contacts.map((c) => c.user_id)
    ).toEqual(['pipeline'])
  })

  it('generates a new delivery key at every start', async () => {
    const first = await start()
    const firstKey = first.apiKey
    await first.stop()
    const second = await start()
    expect(firstKey).toMatch(/^pau-[A-Za-z0-9_-]{24}$/)
    expect(second.apiKey).not.toBe(firstKey)
  })
})

describe('the request guard', () => {
  let p: Pipeline
  const raw = (path: string, options: RawRequest = {}) =>
    rawRequest(p.url, path, {
      ...options,
      headers: { authorization: basicAuth(TEST_WRITE_KEY), ...options.headers }
    })

  beforeEach(async () => {
    p = await start()
  })

  describe('Host: only the address the server bound (DNS rebinding)', () => {
    it.each([
      'attacker.example',
      'attacker.example:PORT',
      'localhost.attacker.example:PORT',
      '127.0.0.1',
      'localhost',
      '127.0.0.1:1',
      '0.0.0.0:PORT',
      '[::1]:PORT',
      '127.0.0.2:PORT'
    ])('Host %s → 421 naming the expected hosts, on open and gated routes alike', async (template) => {
      const host = template.replace('PORT', portOf(p))
      for (const path of ['/manifest', '/status', '/sandbox/contacts']) {
        const answer = await raw(path, { host })
        expect({ path, status: answer.status }).toEqual({ path, status: 421 })
        expect(answer.json).toEqual({
          error: {
            code: 'misdirected-request',
            message: `the Host header is "${host}"; this server answers only requests addressed to 127.0.0.1:${portOf(p)} or localhost:${portOf(p)}`
          }
        })
      }
    })

    it('no Host → 421', async () => {
      const answer = await raw('/status', { host: null })
      expect(answer.status).toBe(421)
      expect(answerMessage(answer)).toBe(
        `no Host header; this server answers only requests addressed to 127.0.0.1:${portOf(p)} or localhost:${portOf(p)}`
      )
    })

    it.each(['127.0.0.1:PORT', 'localhost:PORT', 'LOCALHOST:PORT'])('Host %s is served', async (template) => {
      const answer = await raw('/status', { host: template.replace('PORT', portOf(p)) })
      expect(answer.status).toBe(200)
    })
  })

  describe("Origin: only serve's origins; none (curl, Segment libraries) passes", () => {
    it.each(['https://evil.example', 'null', 'http://127.0.0.1:3000', 'https://app.segment.com.evil.example'])(
      'Origin %s → 403, before the write key or the body count',
      async (origin) => {
        for (const [method, path] of [
          ['GET', '/status'],
          ['GET', '/manifest'],
          ['POST', '/trackActivity'],
          ['POST', '/v1/identify'],
          ['POST', '/sandbox/reset'],
          ['OPTIONS', '/trackActivity']
        ]) {
          const answer = await call(p.url, method, path, {
            body: method === 'POST' ? { payload: trackEvent, userId: 'x' } : undefined,
            headers: { origin }
          })
          expect({ path, method, status: answer.status }).toEqual({ path, method, status: 403 })
          expect(answerMessage(answer)).toBe(
            `requests from the web page at ${origin} are refused: only https://app.segment.com, https://eu1.app.segment.com, ` +
              'https://app.segment.build, https://eu1.app.segment.build, http://localhost:8000 are allowed ' +
              "(requests without an Origin header, such as curl's, pass)"
          )
          expect(answer.headers.get('access-control-allow-origin')).toBeNull()
        }
        expect(sandboxOf(p).stats().requests).toBe(0)
        expect(p.delivery.status().received).toBe(0)
      }
    )

    it('an allowed origin passes, and reads why a request of its was refused', async () => {
      const origin = 'https://app.segment.com'
      const answer = await call(p.url, 'POST', '/trackActivity', {
        body: JSON.stringify({ payload: trackEvent }),
        headers: { origin, 'content-type': 'text/plain' }
      })
      expect(answer.status).toBe(415)
      expect(answer.headers.get('access-control-allow-origin')).toBe(origin)
    })
  })

  describe('content-type: only application/json on routes that change something', () => {
    it.each([
      ['text/plain', 'text/plain'],
      ['a form', 'application/x-www-form-urlencoded'],
      ['multipart', 'multipart/form-data; boundary=x'],
      ['text/json', 'text/json'],
      ['application/jsonp', 'application/jsonp'],
      ['application/json-seq', 'application/json-seq']
    ])('%s → 415, and nothing is delivered, reset or switched on', async (_what, contentType) => {
      await post(p.url, '/v1/identify', { userId: 'kept' })
      await waitFor('the kept contact', () => p.delivery.status().delivered === 1)
      const before = sandboxOf(p).snapshot()
      for (const [method, path, body] of [
        ['POST', '/v1/identify', { userId: 'form-post' }],
        ['POST', '/v1/batch', { batch: [identifyEvent] }],
        ['POST', '/trackActivity', { payload: trackEvent }],
        ['POST', '/upsertContact/hooks/onMappingSave', { hookInputs: { audience_name: 'X' } }],
        ['POST', '/sandbox/faults', { failRate: 1 }],
        ['POST', '/sandbox/reset', {}],
        ['PUT', '/v1/identify', { userId: 'put' }],
        ['DELETE', '/sandbox/reset', {}]
      ] as const) {
        const answer = await call(p.url, method, path, {
          body: JSON.stringify(body),
          headers: { 'content-type': contentType }
        })
        expect({ method, path, status: answer.status }).toEqual({ method, path, status: 415 })
        expect(answerMessage(answer)).toBe(
          `${method} takes a JSON body: send "content-type: application/json" (got "${contentType.split(';')[0]}")`
        )
      }
      expect(sandboxOf(p).snapshot()).toEqual(before)
      expect((await get(p.url, '/sandbox/faults')).json).toEqual({ faults: {} })
      expect(p.delivery.status().received).toBe(1)
    })

    it('no content-type on a POST → 415 saying none was sent', async () => {
      const answer = await raw('/sandbox/reset', { method: 'POST' })
      expect(answer.status).toBe(415)
      expect(answerMessage(answer)).toBe(
        'POST takes a JSON body: send "content-type: application/json" (none was sent)'
      )
    })

    it.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8'])(
      '%s is taken',
      async (contentType) => {
        const answer = await post(p.url, '/v1/identify', { userId: 'ok' }, { headers: { 'content-type': contentType } })
        expect(answer.status).toBe(200)
      }
    )
  })

  it('refuses before reading any body: headers alone get the answer', async () => {
    const port = portOf(p)
    const cases: Array<[RawRequest, number]> = [
      [{ host: 'attacker.example', headers: { 'content-type': 'application/json' } }, 421],
      [{ headers: { 'content-type': 'application/json', origin: 'https://evil.example' } }, 403],
      [{ headers: { 'content-type': 'text/plain' } }, 415],
      [{ host: `localhost:${port}`, headers: { 'content-type': 'text/plain' } }, 415]
    ]
    for (const [options, status] of cases) {
      const answer = await raw('/v1/batch', { ...options, method: 'POST', withholdBody: 100_000 })
      expect(answer.status).toBe(status)
    }
  })
})

describe('compressed bodies (Content-Encoding)', () => {
  let p: Pipeline
  const LIMIT = 500 * 1024
  const sendEncoded = (path: string, body: Buffer, encoding: string) =>
    rawRequest(p.url, path, {
      method: 'POST',
      headers: {
        authorization: basicAuth(TEST_WRITE_KEY),
        'content-type': 'application/json',
        'content-encoding': encoding
      },
      body
    })
  const batch = { batch: [identifyEvent, { ...trackEvent, event: 'Compressed' }] }

  beforeEach(async () => {
    p = await start()
  })

  it.each([
    ['gzip', zlib.gzipSync],
    ['x-gzip', zlib.gzipSync],
    ['deflate', zlib.deflateSync]
  ])('takes a %s batch as analytics-python sends it, and delivers it', async (encoding, encode) => {
    const answer = await sendEncoded('/v1/batch', encode(JSON.stringify(batch)), encoding)
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ success: true, accepted: 2, unsubscribed: 0, rejected: [] })
    await waitFor('delivery', () => p.delivery.status().delivered === 2)
    expect(
      sandboxOf(p)
        .snapshot()
        .activities.map((a) => a.event)
    ).toEqual(['Compressed'])
  })

  it('takes a gzip body on the action routes too', async () => {
    const answer = await sendEncoded('/trackActivity', zlib.gzipSync(JSON.stringify({ payload: trackEvent })), 'gzip')
    expect(answer.status).toBe(200)
    expect((answer.json as unknown[]).length).toBe(1)
  })

  it('refuses a gzip bomb (10 MB of zeros in ~10 kB) with 413, the limit applied after decompression', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(10 * 1024 * 1024))
    expect(bomb.length).toBeLessThan(LIMIT)
    const answer = await sendEncoded('/v1/batch', bomb, 'gzip')
    expect(answer.status).toBe(413)
    expect(answer.json).toEqual({
      error: {
        code: 'too-large',
        message: `the body is over ${LIMIT} bytes once decompressed; a batch takes at most 512,000 bytes (500 kB), Segment's limit: split it into smaller batches`
      }
    })
    // Still serving, and the connection was not cut.
    expect((await get(p.url, '/status')).status).toBe(200)
  })

  it('answers 400 for a body that is not valid gzip', async () => {
    const answer = await sendEncoded('/v1/identify', Buffer.from('{"userId": "plain"}'), 'gzip')
    expect(answer.status).toBe(400)
    expect(answerMessage(answer)).toMatch(
      /^the body is not valid gzip data \(Content-Encoding: gzip\): incorrect header check/
    )
    expect(p.delivery.status().received).toBe(0)
  })

  it.each(['br', 'compress', 'gzip, deflate'])('answers 415 for Content-Encoding %s', async (encoding) => {
    const answer = await sendEncoded('/v1/identify', zlib.gzipSync('{"userId": "x"}'), encoding)
    expect(answer.status).toBe(415)
    expect(answer.json).toEqual({
      error: {
        code: 'unsupported-media-type',
        message: `Content-Encoding "${encoding}" is not taken: send the body uncompressed, or compressed with gzip or deflate (one encoding)`
      }
    })
  })
})

describe('/status ingest counts calls and events apart', () => {
  const ingestOf = async (p: Pipeline) => ((await get(p.url, '/status')).json as { ingest: unknown }).ingest

  it('a single call: one call, one event', async () => {
    const p = await start()
    await post(p.url, '/v1/track', { userId: 'a', event: 'E' })
    expect(await ingestOf(p)).toEqual({ calls: 1, events: 1, rejectedEvents: 0, refusedCalls: 0 })
  })

  it('a batch of three: one call, three events', async () => {
    const p = await start()
    await post(p.url, '/v1/batch', { batch: [identifyEvent, trackEvent, { type: 'page', userId: 'a' }] })
    expect(await ingestOf(p)).toEqual({ calls: 1, events: 3, rejectedEvents: 0, refusedCalls: 0 })
  })

  it('a batch with rejected events: the call and its good events taken in, the bad ones counted apart', async () => {
    const p = await start()
    const answer = await post(p.url, '/v1/batch', {
      batch: [identifyEvent, { type: 'identify' }, trackEvent, { type: 'track', userId: 'a' }, 'not a call']
    })
    expect(answer.json).toMatchObject({ accepted: 2 })
    expect(await ingestOf(p)).toEqual({ calls: 1, events: 2, rejectedEvents: 3, refusedCalls: 0 })
  })

  it('calls refused whole (4xx) take nothing in', async () => {
    const p = await start()
    await post(p.url, '/v1/batch', { batch: [{ type: 'identify' }, { type: 'identify' }] }) // 400: nothing usable
    await post(p.url, '/v1/identify', 'not json') // 400
    await post(p.url, '/v1/identify', { userId: 'a' }, { writeKey: 'wrong' }) // 401
    await post(p.url, '/v1/identify', { userId: 'a' }, { headers: { 'content-type': 'text/plain' } }) // 415
    await post(p.url, '/v1/nothing', { userId: 'a' }) // 404
    expect(await ingestOf(p)).toEqual({ calls: 0, events: 0, rejectedEvents: 0, refusedCalls: 5 })
    expect(p.delivery.status().received).toBe(0)
  })

  it('a call refused with 503 (pipeline busy) is not counted as taken in', async () => {
    const p = await start({ maxPending: 2, flushIntervalMs: 60_000 })
    const taken = await post(p.url, '/v1/batch', {
      batch: [
        { type: 'identify', userId: 'a' },
        { type: 'identify', userId: 'b' }
      ]
    })
    expect(taken.status).toBe(200)
    const busy = await post(p.url, '/v1/batch', {
      batch: [
        { type: 'identify', userId: 'c' },
        { type: 'identify', userId: 'd' }
      ]
    })
    expect(busy.status).toBe(503)
    // Seconds to wait, as HTTP says: Segment's libraries back off anyway, and npm run replay waits this long.
    expect(busy.headers.get('retry-after')).toBe('2')
    expect(busy.json).toEqual({ error: { code: 'busy', message: expect.stringContaining('try again shortly') } })
    expect(await ingestOf(p)).toEqual({ calls: 1, events: 2, rejectedEvents: 0, refusedCalls: 1 })
  })

  it('a full pipeline answers 503 before it reads a call: even a body that is not JSON gets it', async () => {
    const p = await start({ maxPending: 1, flushIntervalMs: 60_000 })
    expect((await post(p.url, '/v1/identify', { userId: 'a' })).status).toBe(200)
    const busy = await post(p.url, '/v1/batch', 'not json')
    expect(busy.status).toBe(503)
    expect(busy.headers.get('retry-after')).toBe('2')
    expect(await ingestOf(p)).toEqual({ calls: 1, events: 1, rejectedEvents: 0, refusedCalls: 1 })
  })
})
