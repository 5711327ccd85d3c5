/**
 * The pipeline's HTTP front door over real sockets: Segment's HTTP Tracking API, its error answers
 * (each a real HTTP error with the reason as JSON), size limits, write-key check and the inspection
 * routes; CORS is checked with the CLI routes (cli-routes.test.ts). After every bad request the
 * server keeps serving.
 */
import { request as httpRequest } from 'node:http'
import { defaultValues } from '@segment/actions-core'
import { LOCAL_ENDPOINT_ENV, ortto as definition, orttoAudiences as audiencesDefinition } from 'actions-ortto'
import type { Sandbox, SandboxStats } from 'ortto-sandbox'
import { readConfig, type PipelineConfig } from '../config'
import { rawRequest } from '../../../../../test/helpers/raw-http'
import { echoStandIn } from '../../../test/helpers/echo-stand-in'
import { startPipeline, type Pipeline } from '../index'
import {
  TEST_WRITE_KEY,
  basicAuth,
  call,
  get,
  post,
  waitFor,
  type Answer
} from '../../../test/helpers/pipeline-helpers'

let pipeline: Pipeline | undefined
let logLines: string[]

async function start(overrides: Partial<PipelineConfig> = {}): Promise<Pipeline> {
  pipeline = await startPipeline(
    {
      port: 0,
      target: { kind: 'sandbox', port: 0 },
      flushIntervalMs: 50,
      maxAttempts: 3,
      writeKey: TEST_WRITE_KEY,
      ...overrides
    },
    (line) => logLines.push(line)
  )
  return pipeline
}

beforeEach(() => {
  logLines = []
})

afterEach(async () => {
  await pipeline?.stop()
  pipeline = undefined
  delete process.env[LOCAL_ENDPOINT_ENV]
})

const sandboxOf = (p: Pipeline) => p.sandbox as Sandbox
const errorOf = (answer: Answer) => answer.json as { error: { code: string; message: string } }

const settled = (p: Pipeline, count: number) =>
  waitFor(`${count} settled deliveries`, () => {
    const status = p.delivery.status()
    return status.delivered + status.failed >= count && status.pending === 0 && status
  })

/** A raw POST with node:http, for bodies fetch would be slow or awkward with. */
function rawPost(url: string, route: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${url}${route}`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': String(body.length),
          authorization: basicAuth(TEST_WRITE_KEY)
        }
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }))
        res.on('error', reject)
      }
    )
    req.on('error', reject)
    req.end(body)
  })
}

describe('Segment calls that cannot be used get a 400 with the reason', () => {
  beforeEach(async () => {
    await start()
  })

  it.each([
    ['/v1/identify', '{"userId": "ada",', 'the body is not valid JSON'],
    ['/v1/track', '', 'the body is not valid JSON'],
    ['/v1/batch', 'batch', 'the body is not valid JSON'],
    ['/v1/identify', '[{"userId": "ada"}]', 'a Segment call must be a JSON object'],
    ['/v1/identify', '"ada"', 'a Segment call must be a JSON object'],
    ['/v1/identify', 'null', 'a Segment call must be a JSON object'],
    ['/v1/identify', '{"traits": {"email": "a@b.c"}}', 'an identify call needs a userId or an anonymousId'],
    ['/v1/identify', '{"userId": "   ", "anonymousId": ""}', 'an identify call needs a userId or an anonymousId'],
    ['/v1/track', '{"userId": "ada"}', 'a track call needs a non-empty "event" name'],
    ['/v1/track', '{"userId": "ada", "event": "  "}', 'a track call needs a non-empty "event" name'],
    ['/v1/track', '{"userId": "ada", "event": 42}', 'a track call needs a non-empty "event" name'],
    [
      '/v1/identify',
      '{"type": "track", "userId": "ada", "event": "x"}',
      '"type" is "track" but the call was sent to /v1/identify'
    ],
    ['/v1/identify', '{"userId": "ada", "traits": "vip"}', '"traits" must be an object'],
    ['/v1/track', '{"userId": "ada", "event": "x", "properties": [1]}', '"properties" must be an object'],
    ['/v1/track', '{"userId": "ada", "event": "x", "context": null}', '"context" must be an object'],
    ['/v1/batch', '{"batch": {"type": "identify"}}', 'a batch call must be a JSON object with a "batch" array'],
    ['/v1/batch', '[{"type": "identify", "userId": "ada"}]', 'a batch call must be a JSON object with a "batch" array']
  ])('POST %s %s → 400 "%s"', async (route, body, reason) => {
    const p = pipeline as Pipeline
    const answer = await post(p.url, route, body)
    expect(answer.status).toBe(400)
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(answer.json).toEqual({ error: { code: 'bad-request', message: reason } })

    // Nothing was queued, and the server still serves.
    expect(p.delivery.status().received).toBe(0)
    const next = await post(p.url, '/v1/identify', { userId: 'after-the-bad-one' })
    expect(next.status).toBe(200)
  })

  it('counts refused calls in /status ingest', async () => {
    const p = pipeline as Pipeline
    await post(p.url, '/v1/identify', { traits: {} })
    await post(p.url, '/v1/identify', { userId: 'ok' })
    const status = await get(p.url, '/status')
    expect((status.json as { ingest: unknown }).ingest).toEqual({
      calls: 1,
      events: 1,
      rejectedEvents: 0,
      refusedCalls: 1
    })
  })
})

describe('routes and methods', () => {
  beforeEach(async () => {
    await start()
  })

  it.each([
    ['POST', '/v1/identity', 'no such Segment call: /v1/identity'],
    ['POST', '/v1/delete', 'no such Segment call: /v1/delete'],
    ['GET', '/nope', 'no such route: GET /nope; GET / lists the routes'],
    ['POST', '/v2/track', 'no such route: POST /v2/track; GET / lists the routes'],
    ['POST', '/sendEmail', 'no such route: POST /sendEmail; GET / lists the routes'],
    ['POST', '/v1/Track', 'no such route: POST /v1/Track; GET / lists the routes']
  ])('%s %s → 404 "%s"', async (method, route, message) => {
    const p = pipeline as Pipeline
    const answer = await call(p.url, method, route, { body: method === 'POST' ? { userId: 'ada' } : undefined })
    expect(answer.status).toBe(404)
    expect(answer.json).toEqual({ error: { code: 'not-found', message } })
  })

  // Names every object inherits are not actions of this destination.
  it.each(['constructor', 'toString', 'hasOwnProperty', '__proto__'])(
    'POST /%s (an inherited property name, not an action) → 404',
    async (name) => {
      const p = pipeline as Pipeline
      const answer = await post(p.url, `/${name}`, { payload: { type: 'track', userId: 'ada', event: 'x' } })
      expect(answer.status).toBe(404)
      expect(answer.json).toEqual({
        error: { code: 'not-found', message: `no such route: POST /${name}; GET / lists the routes` }
      })
    }
  )

  it.each([
    ['GET', '/v1/track', '/v1/track takes POST'],
    ['PUT', '/v1/identify', '/v1/identify takes POST'],
    ['GET', '/v1/batch', '/v1/batch takes POST'],
    ['POST', '/manifest', '/manifest takes GET'],
    ['POST', '/metadata', '/metadata takes GET'],
    ['GET', '/results/trackActivity', '/results/trackActivity takes POST'],
    ['GET', '/authenticate', '/authenticate takes POST'],
    ['GET', '/trackActivity', '/trackActivity takes POST'],
    ['DELETE', '/upsertContact/hooks/onMappingSave', '/upsertContact/hooks/onMappingSave takes POST']
  ])('%s %s → 405 "%s"', async (method, route, message) => {
    const p = pipeline as Pipeline
    const answer = await call(p.url, method, route, { body: method === 'GET' ? undefined : {} })
    expect(answer.status).toBe(405)
    expect(answer.json).toEqual({ error: { code: 'method-not-allowed', message } })
  })

  it('POST /status is a wrong method → 405', async () => {
    const answer = await post((pipeline as Pipeline).url, '/status', {})
    expect(answer.status).toBe(405)
    expect(errorOf(answer).error.code).toBe('method-not-allowed')
  })

  it('GET / lists the routes', async () => {
    const answer = await get((pipeline as Pipeline).url, '/')
    expect(answer.status).toBe(200)
    expect(Object.keys((answer.json as { routes: Record<string, string> }).routes)).toEqual(ROUTES_WITH_SANDBOX)
  })

  it('answers every route GET / lists, with each action and hook in place of <action> and <hook>', async () => {
    const p = pipeline as Pipeline
    const listed = Object.keys(((await get(p.url, '/')).json as { routes: Record<string, string> }).routes)
    const called: Array<[route: string, status: number]> = []
    for (const route of listed) {
      const [method, pattern] = route.split(' ')
      for (const path of instancesOf(pattern)) {
        const body = method === 'POST' ? bodyFor(path) : undefined
        const answer = await call(p.url, method, path, { body })
        called.push([`${method} ${path}`, answer.status])
      }
    }
    expect(called.filter(([, status]) => status === 404 || status === 405)).toEqual([])
    expect(called.length).toBeGreaterThan(listed.length)
  })

  it.each(['/sandbox/nothing', '/sandbox', '/dry-runs', '/outcome', '/results', '/v1', '/status/'])(
    'GET and POST %s, which GET / does not list, → 404',
    async (path) => {
      const p = pipeline as Pipeline
      for (const method of ['GET', 'POST']) {
        const answer = await call(p.url, method, path, { body: method === 'POST' ? {} : undefined })
        expect([method, path, answer.status]).toEqual([method, path, 404])
      }
    }
  )
})

/** What GET / lists with the embedded sandbox; docs/routes.md lists the same. */
const ROUTES_WITH_SANDBOX = [
  'GET /',
  'POST /v1/identify',
  'POST /v1/track',
  'POST /v1/page',
  'POST /v1/screen',
  'POST /v1/group',
  'POST /v1/alias',
  'POST /v1/batch',
  'POST /dry-run',
  'GET /outcomes',
  'GET /status',
  'GET /sandbox/contacts',
  'GET /sandbox/activities',
  'GET /sandbox/audiences',
  'GET /sandbox/stats',
  'POST /sandbox/reset',
  'GET /sandbox/faults',
  'POST /sandbox/faults',
  'GET /metadata',
  'POST /results/<action>',
  'GET /manifest',
  'POST /authenticate',
  'POST /refreshAccessToken',
  'POST /<action>',
  'POST /<action>/hooks/<hook>',
  'GET /ortto-audiences/metadata',
  'POST /ortto-audiences/results/<action>',
  'GET /ortto-audiences/manifest',
  'POST /ortto-audiences/authenticate',
  'POST /ortto-audiences/refreshAccessToken',
  'POST /ortto-audiences/createAudience',
  'POST /ortto-audiences/getAudience',
  'POST /ortto-audiences/<action>'
]

/**
 * A listed route's concrete paths: every action of the destination for <action> (Ortto (Audiences)'
 * under /ortto-audiences/), each of its hooks for <hook>.
 */
function instancesOf(pattern: string): string[] {
  if (!pattern.includes('<action>')) return [pattern.replace('/outcomes', '/outcomes?userId=ada')]
  const { actions } = pattern.startsWith('/ortto-audiences/') ? audiencesDefinition : definition
  return Object.entries<{ hooks?: object }>(actions).flatMap(([slug, action]) =>
    pattern.includes('<hook>')
      ? Object.keys(action.hooks ?? {}).map((hook) => pattern.replace('<action>', slug).replace('<hook>', hook))
      : [pattern.replace('<action>', slug)]
  )
}

/** A body each POST route takes. */
function bodyFor(prefixed: string): unknown {
  const path = prefixed.replace(/^\/ortto-audiences\//, '/')
  if (path === '/createAudience') return { audienceName: 'Listed' }
  if (path === '/v1/batch') return { batch: [{ type: 'identify', userId: 'ada' }] }
  if (path.startsWith('/v1/')) return { userId: 'ada', event: 'Listed' }
  if (path === '/dry-run') return { type: 'identify', userId: 'ada' }
  if (path === '/sandbox/faults' || path === '/authenticate' || path === '/refreshAccessToken') return {}
  if (path === '/sandbox/reset') return undefined
  if (path.includes('/hooks/')) return { hookInputs: { audience_name: 'Listed' } }
  return { payload: { type: 'identify', userId: 'ada' } }
}

describe('GET / without the embedded sandbox', () => {
  it('lists no sandbox route, and those paths answer 404', async () => {
    const standIn = await echoStandIn()
    try {
      const p = await start({ target: { kind: 'endpoint', url: standIn.url } })
      const routes = ((await get(p.url, '/')).json as { routes: Record<string, string> }).routes
      expect(Object.keys(routes)).toEqual(ROUTES_WITH_SANDBOX.filter((route) => !route.includes('/sandbox/')))
      expect((await get(p.url, '/sandbox/contacts')).status).toBe(404)
    } finally {
      await pipeline?.stop()
      pipeline = undefined
      await standIn.close()
    }
  })
})

describe('body size limits', () => {
  beforeEach(async () => {
    await start()
  })

  it('answers 413 for a call just over 32 kB and a batch just over 500 kB, and takes them at the limit', async () => {
    const p = pipeline as Pipeline
    const make = (bytes: number, head: string, tail: string) =>
      head + 'x'.repeat(bytes - head.length - tail.length) + tail
    const call = (bytes: number) => make(bytes, '{"userId": "big", "traits": {"note": "', '"}}')
    const batch = (bytes: number) => make(bytes, '{"batch": [{"type": "identify", "userId": "big"}], "note": "', '"}')
    for (const [route, limit, body, what] of [
      [
        '/v1/identify',
        32 * 1024,
        call,
        "one call takes at most 32,768 bytes (32 kB), Segment's limit: send less in its traits, properties or context"
      ],
      [
        '/v1/batch',
        500 * 1024,
        batch,
        "a batch takes at most 512,000 bytes (500 kB), Segment's limit: split it into smaller batches"
      ]
    ] as const) {
      const over = await post(p.url, route, body(limit + 1))
      expect(over.status).toBe(413)
      expect(over.json).toEqual({ error: { code: 'too-large', message: `the body is ${limit + 1} bytes; ${what}` } })
      const atLimit = await post(p.url, route, body(limit))
      expect(atLimit.status).toBe(200)
      expect(atLimit.json).toEqual({ success: true, accepted: 1, unsubscribed: 0, rejected: [] })
    }
  })

  it('answers 413 for a 10 MB body and still answers the next request', async () => {
    const p = pipeline as Pipeline
    const tenMegabytes = Buffer.alloc(10 * 1024 * 1024, 'a')
    const answer = await rawPost(p.url, '/v1/batch', tenMegabytes)
    expect(answer.status).toBe(413)
    expect(JSON.parse(answer.text)).toEqual({
      error: {
        code: 'too-large',
        message: `the body is ${10 * 1024 * 1024} bytes; a batch takes at most 512,000 bytes (500 kB), Segment's limit: split it into smaller batches`
      }
    })
    const next = await post(p.url, '/v1/track', { userId: 'ada', event: 'Still Served' })
    expect(next.status).toBe(200)
    expect(p.delivery.status().received).toBe(1)
  })
})

describe('/v1/batch', () => {
  beforeEach(async () => {
    await start()
  })

  it('answers 200 listing the refused calls by index and reason, and delivers the others', async () => {
    const p = pipeline as Pipeline
    const answer = await post(p.url, '/v1/batch', {
      batch: [
        { type: 'identify', userId: 'u1', traits: { plan: 'pro' } },
        { type: 'identify', traits: { plan: 'none' } },
        { type: 'track', userId: 'u1', event: 'Upgraded', properties: { to: 'pro' } },
        { type: 'track', userId: 'u1' },
        { type: 'purchase', userId: 'u1' },
        'not a call',
        { type: 'page', userId: 'u1', name: 'Home' }
      ]
    })
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({
      success: true,
      accepted: 3,
      unsubscribed: 1,
      rejected: [
        { index: 1, reason: 'an identify call needs a userId or an anonymousId' },
        { index: 3, reason: 'a track call needs a non-empty "event" name' },
        {
          index: 4,
          reason: '"type" must be one of identify, track, page, screen, group, alias (got "purchase")'
        },
        { index: 5, reason: 'a Segment call must be a JSON object' }
      ]
    })

    await settled(p, 2)
    const state = sandboxOf(p).snapshot()
    expect(state.contacts.map((c) => [c.user_id, c.traits])).toEqual([['u1', { plan: 'pro' }]])
    expect(state.activities.map((a) => [a.event, a.properties])).toEqual([['Upgraded', { to: 'pro' }]])
    expect(p.delivery.status()).toMatchObject({ received: 3, unsubscribed: 1, delivered: 2, failed: 0 })
    const status = await get(p.url, '/status')
    expect((status.json as { ingest: unknown }).ingest).toEqual({
      calls: 1,
      events: 3,
      rejectedEvents: 4,
      refusedCalls: 0
    })
  })

  it('answers 400 when no call in the batch can be used, naming the first five', async () => {
    const p = pipeline as Pipeline
    const batch = Array.from({ length: 7 }, (_, i) => ({ type: 'identify', traits: { n: i } }))
    const answer = await post(p.url, '/v1/batch', { batch })
    expect(answer.status).toBe(400)
    const one = 'an identify call needs a userId or an anonymousId'
    expect(answer.json).toEqual({
      error: {
        code: 'bad-request',
        message:
          `no call in the batch could be used: #0: ${one}; #1: ${one}; #2: ${one}; #3: ${one}; #4: ${one}` +
          '; and 2 more'
      }
    })
    expect(p.delivery.status().received).toBe(0)
  })

  it('answers 400 for an empty batch, with a reason that is not left blank', async () => {
    const answer = await post((pipeline as Pipeline).url, '/v1/batch', { batch: [] })
    expect(answer.status).toBe(400)
    const { code, message } = errorOf(answer).error
    expect(code).toBe('bad-request')
    // The reason must say something after its colon (today it ends "could be used: ").
    expect(message).not.toMatch(/:\s*$/)
  })

  it("fills each call's context from the batch's shared context (the call's own keys win)", async () => {
    const p = pipeline as Pipeline
    const answer = await post(p.url, '/v1/batch', {
      context: { ip: '10.0.0.1', traits: { plan: 'shared' } },
      batch: [
        { type: 'identify', userId: 'shared-ip', traits: { a: 1 } },
        { type: 'identify', userId: 'own-ip', traits: { b: 2 }, context: { ip: '10.0.0.2' } }
      ]
    })
    expect(answer.status).toBe(200)
    await settled(p, 2)
    const contacts = sandboxOf(p).snapshot().contacts
    expect(contacts.map((c) => [c.user_id, c.ip, c.traits])).toEqual([
      ['shared-ip', '10.0.0.1', { a: 1 }],
      ['own-ip', '10.0.0.2', { b: 2 }]
    ])
  })

  it('fills in messageId and timestamp when a call has none, keeps them when it has', async () => {
    const p = pipeline as Pipeline
    const before = Date.now()
    await post(p.url, '/v1/batch', {
      batch: [
        { type: 'track', userId: 'ts', event: 'Given', messageId: 'm-given', timestamp: '2024-01-02T03:04:05.000Z' },
        { type: 'track', userId: 'ts', event: 'Filled' }
      ]
    })
    await settled(p, 2)
    const activities = sandboxOf(p).snapshot().activities
    expect(activities[0]).toMatchObject({
      event: 'Given',
      message_id: 'm-given',
      timestamp: '2024-01-02T03:04:05.000Z'
    })
    expect(activities[1].event).toBe('Filled')
    expect(activities[1].message_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    expect(Date.parse(activities[1].timestamp as string)).toBeGreaterThanOrEqual(before - 1000)
  })
})

describe('write key (SEGMENT_WRITE_KEY)', () => {
  beforeEach(async () => {
    await start({ writeKey: 'wk-right' })
  })

  const refused = { error: { code: 'unauthorized', message: expect.stringMatching(/^missing or wrong write key: /) } }

  it.each([
    ['no Authorization header', { writeKey: null }],
    ['a wrong write key', { writeKey: 'wk-wrong' }],
    ['the right key with a suffix', { writeKey: 'wk-right-not' }],
    ['a prefix of the right key', { writeKey: 'wk-righ' }],
    ['a Bearer header', { headers: { authorization: 'Bearer wk-right' } }],
    ['basic auth that is not base64 of "key:"', { headers: { authorization: 'Basic' } }]
  ])('answers 401 for %s', async (_why, options) => {
    const p = pipeline as Pipeline
    for (const route of ['/v1/identify', '/v1/batch']) {
      const body = route === '/v1/batch' ? { batch: [{ type: 'identify', userId: 'x' }] } : { userId: 'x' }
      const answer = await post(p.url, route, body, options)
      expect(answer.status).toBe(401)
      expect(answer.json).toEqual(refused)
      expect(answer.text).not.toContain('wk-right')
    }
    expect(p.delivery.status().received).toBe(0)
  })

  it('answers 200 with the right key (as curl -u key: sends it), with or without a password', async () => {
    const p = pipeline as Pipeline
    const plain = await post(p.url, '/v1/identify', { userId: 'x' }, { writeKey: 'wk-right' })
    expect(plain.status).toBe(200)
    const withPassword = await post(
      p.url,
      '/v1/track',
      { userId: 'x', event: 'E' },
      { headers: { authorization: `Basic ${Buffer.from('wk-right:ignored').toString('base64')}` } }
    )
    expect(withPassword.status).toBe(200)
    expect(p.delivery.status().received).toBe(2)
  })
})

describe('/status and the sandbox routes on the main port', () => {
  beforeEach(async () => {
    await start()
  })

  const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
  const presetMapping = (action: string) => definition.presets?.find((p) => p.partnerAction === action)?.mapping

  it('/status describes the target, the mappings, ingest and delivery totals', async () => {
    const p = pipeline as Pipeline
    const sandbox = sandboxOf(p)
    const empty = await get(p.url, '/status')
    expect(empty.status).toBe(200)
    expect(empty.json).toEqual({
      destination: `the embedded Ortto sandbox at ${sandbox.url}`,
      mappings: {
        file: null,
        version: 'presets',
        loadedAt: expect.stringMatching(ISO_TIME),
        checkedAt: expect.stringMatching(ISO_TIME),
        problems: [],
        subscriptions: [
          {
            name: 'Upsert Contact',
            destination: 'Ortto (Actions)',
            partnerAction: 'upsertContact',
            subscribe: 'type = "identify"',
            mapping: presetMapping('upsertContact')
          },
          {
            name: 'Track Activity',
            destination: 'Ortto (Actions)',
            partnerAction: 'trackActivity',
            subscribe: 'type = "track"',
            mapping: presetMapping('trackActivity')
          },
          {
            name: 'Sync Audience',
            destination: 'Ortto (Audiences)',
            partnerAction: 'syncAudience',
            subscribe: 'type = "identify" or type = "track"',
            mapping: defaultValues(audiencesDefinition.actions.syncAudience.fields)
          }
        ]
      },
      ingest: { calls: 0, events: 0, rejectedEvents: 0, refusedCalls: 0 },
      delivery: {
        received: 0,
        restored: 0,
        unsubscribed: 0,
        delivered: 0,
        failed: 0,
        retried: 0,
        pending: 0,
        recentFailures: []
      }
    })

    await post(p.url, '/v1/identify', { userId: 'rejected-by-ortto', traits: { bio: 'b'.repeat(5000) } })
    await settled(p, 1)
    const after = await get(p.url, '/status')
    expect(after.json).toMatchObject({
      ingest: { calls: 1, events: 1, rejectedEvents: 0, refusedCalls: 0 },
      delivery: {
        received: 1,
        delivered: 0,
        failed: 1,
        retried: 0,
        pending: 0,
        recentFailures: [
          {
            messageId: expect.any(String),
            type: 'identify',
            subscription: 'Upsert Contact',
            status: 400,
            reason:
              'Ortto rejected this event (400): traits.bio is 5000 characters long; text fields take at most 4000 characters',
            attempts: 1
          }
        ]
      }
    })
  })

  it('serves /sandbox/stats, /sandbox/contacts and /sandbox/activities on the main port', async () => {
    const p = pipeline as Pipeline
    await post(p.url, '/v1/batch', {
      batch: [
        { type: 'identify', userId: 'a' },
        { type: 'track', userId: 'a', event: 'E' }
      ]
    })
    await settled(p, 2)
    const stats = await get(p.url, '/sandbox/stats')
    expect(stats.status).toBe(200)
    expect(stats.json).toEqual(sandboxOf(p).stats())
    expect(stats.json as SandboxStats).toMatchObject({
      requests: 2,
      byRoute: { 'POST /v1/identify': 1, 'POST /v1/track': 1 },
      byStatus: { '200': 2 },
      objectsReceived: 2,
      objectsAccepted: 2
    })
    const contacts = await get(p.url, '/sandbox/contacts?user_id=a')
    expect((contacts.json as { contacts: Array<{ user_id: string }> }).contacts.map((c) => c.user_id)).toEqual(['a'])
    const activities = await get(p.url, '/sandbox/activities')
    expect((activities.json as { activities: Array<{ event: string }> }).activities.map((a) => a.event)).toEqual(['E'])
    const unknown = await get(p.url, '/sandbox/nothing')
    expect(unknown.status).toBe(404)
  })
})

describe('CLIENT_TIMEOUT_MS', () => {
  it('is how long a client may take to send its request before it gets 408', async () => {
    const { clientTimeoutMs } = readConfig({ CLIENT_TIMEOUT_MS: '300' })
    const p = await start({ clientTimeoutMs })
    // The headers, then never the body: without the configured 300 ms this waits out the 30 s default.
    const answer = await rawRequest(p.url, '/v1/identify', {
      method: 'POST',
      headers: { authorization: basicAuth(TEST_WRITE_KEY), 'content-type': 'application/json' },
      withholdBody: 64
    })
    expect(answer.status).toBe(408)
    expect((await get(p.url, '/status')).status).toBe(200)
  })
})
