/**
 * The `./bin/run serve` routes for Ortto (Audiences), in serve's answer shapes, against the
 * embedded sandbox: under /ortto-audiences/ beside Ortto (Actions)' root routes, and at the root
 * with SERVE_DESTINATION=ortto-audiences (then Ortto (Actions)' are under /ortto/). That includes
 * /createAudience and /getAudience: 200 {externalId}, or 400 {ok: false, error}. No answer carries
 * an API key.
 */
import { ortto as orttoDefinition, orttoAudiences as audiencesDefinition, LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import type { Sandbox } from 'ortto-sandbox'
import { ConfigError, readConfig, type PipelineConfig } from '../config'
import { startPipeline, type Pipeline } from '../index'
import { engageIdentify } from '../../../test/helpers/engage-events'
import { TEST_WRITE_KEY, call, get, post, type Answer } from '../../../test/helpers/pipeline-helpers'

/** A well-formed key the embedded sandbox does not take; distinctive, so any echo of it is easy to find. */
const OTHER_KEY = 'pau-audienceSecretNeverEchoed7'

/** The pipeline of the running test; none for the configuration tests. */
let pipeline: Pipeline | undefined
let sandbox: Sandbox
let answers: Answer[]

async function start(overrides: Partial<PipelineConfig> = {}): Promise<void> {
  const started = await startPipeline(
    {
      port: 0,
      target: { kind: 'sandbox', port: 0 },
      flushIntervalMs: 50,
      maxAttempts: 3,
      writeKey: TEST_WRITE_KEY,
      ...overrides
    },
    () => undefined
  )
  pipeline = started
  sandbox = started.sandbox as Sandbox
}

const url = () => (pipeline as Pipeline).url

beforeEach(() => {
  answers = []
})

afterEach(async () => {
  for (const answer of answers) {
    expect(answer.text).not.toContain((pipeline as Pipeline).apiKey)
    expect(answer.text).not.toContain('audienceSecretNeverEchoed7')
  }
  await pipeline?.stop()
  pipeline = undefined
  delete process.env[LOCAL_ENDPOINT_ENV]
})

async function send(route: string, body: unknown): Promise<Answer> {
  const answer = await post(url(), route, body)
  answers.push(answer)
  return answer
}

async function fetchGet(route: string, writeKey?: null): Promise<Answer> {
  const answer = await get(url(), route, writeKey === null ? { writeKey } : {})
  answers.push(answer)
  return answer
}

const manifestOf = (definition: object, directoryName: string) => ({
  ...(JSON.parse(JSON.stringify(definition)) as object),
  directoryName
})

/** The serve routes of one destination, under `prefix` ('' for the root). */
function audienceRoutesUnder(prefix: string) {
  return () => {
    it('GET /manifest is the definition with directoryName ortto-audiences, open without the write key', async () => {
      const answer = await fetchGet(`${prefix}/manifest`, null)
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual(manifestOf(audiencesDefinition, 'ortto-audiences'))
      expect((answer.json as { audienceConfig: unknown }).audienceConfig).toEqual({
        mode: { type: 'synced', full_audience_sync: false }
      })
    })

    it('POST /createAudience → 200 {externalId} of the audience the sandbox made, and /getAudience finds it', async () => {
      const created = await send(`${prefix}/createAudience`, {
        audienceName: 'vip_customers',
        audienceSettings: { audienceName: '  VIP customers ' }
      })
      const [audience] = sandbox.snapshot().audiences
      expect(audience.name).toBe('VIP customers')
      expect([created.status, created.json]).toEqual([200, { externalId: audience.id }])

      const found = await send(`${prefix}/getAudience`, { externalId: audience.id })
      expect([found.status, found.json]).toEqual([200, { externalId: audience.id }])
      expect(sandbox.stats().byRoute).toEqual({ 'POST /v1/audiences/create': 1, 'POST /v1/audiences/get': 1 })
    })

    it('POST /getAudience of an id Ortto does not have → 400 {ok: false, error} saying it no longer exists', async () => {
      const answer = await send(`${prefix}/getAudience`, { externalId: 'nope' })
      expect(answer.status).toBe(400)
      expect(answer.json).toEqual({
        ok: false,
        error:
          'The audience nope no longer exists in Ortto (it may have been deleted there). ' +
          'Remove Ortto (Audiences) from the Engage audience and add it again, so Segment creates it anew.'
      })
    })

    it.each([
      ['/createAudience', { audienceName: ' ' }, /^The audience has no name: fill in the Audience Name/],
      ['/getAudience', { externalId: '' }, /^The Ortto audience id is empty/]
    ])('POST %s with nothing to name → 400 {ok: false, error}, sending no request', async (route, body, error) => {
      const answer = await send(`${prefix}${route}`, body)
      expect(answer.status).toBe(400)
      expect(answer.json).toEqual({ ok: false, error: expect.stringMatching(error) })
      expect(sandbox.stats().requests).toBe(0)
    })

    it('POST /createAudience with a key Ortto refuses → 400 {ok: false, error} without the key', async () => {
      const answer = await send(`${prefix}/createAudience`, { settings: { api_key: OTHER_KEY }, audienceName: 'x' })
      expect(answer.status).toBe(400)
      expect(answer.json).toEqual({
        ok: false,
        error: expect.stringMatching(/^Could not create the Ortto audience "x": Ortto refused the API key \(401\)/)
      })
    })

    it('POST /syncAudience → 200 with the exchange of its PUT /v1/audiences/members', async () => {
      const created = await send(`${prefix}/createAudience`, { audienceName: 'VIP' })
      const { externalId } = created.json as { externalId: string }
      const event = engageIdentify('ada', { computationId: 'aud_1', key: 'vip' }, true)
      const payload = {
        ...event,
        type: 'identify',
        context: { personas: { ...event.context.personas, external_audience_id: externalId } }
      }
      const answer = await send(`${prefix}/syncAudience`, { payload })
      expect(answer.status).toBe(200)
      const [exchange] = answer.json as Array<{ request: { url: string; method: string; body: string } }>
      expect(exchange.request).toMatchObject({ method: 'PUT', url: `${sandbox.url}/v1/audiences/members` })
      expect(JSON.parse(exchange.request.body)).toEqual([
        { user_id: 'ada', traits: { email: 'ada@example.com' }, audience: { mode: 'add', id: externalId } }
      ])
      expect(sandbox.snapshot().audiences[0].member_ids).toHaveLength(1)
    })

    it('POST /authenticate checks the key with GET /v1/me → 200 {ok: true}', async () => {
      const answer = await send(`${prefix}/authenticate`, {})
      expect([answer.status, answer.json]).toEqual([200, { ok: true }])
    })

    it('GET /createAudience → 405 naming the path as it was called', async () => {
      const answer = await fetchGet(`${prefix}/createAudience`)
      expect(answer.status).toBe(405)
      expect(answer.json).toEqual({
        error: { code: 'method-not-allowed', message: `${prefix}/createAudience takes POST` }
      })
    })
  }
}

describe('Ortto (Audiences) under /ortto-audiences/, beside Ortto (Actions) at the root', () => {
  beforeEach(() => start())

  describe('its routes', audienceRoutesUnder('/ortto-audiences'))

  it('leaves the root to Ortto (Actions), which has no audience routes', async () => {
    const manifest = await fetchGet('/manifest')
    expect(manifest.json).toEqual(manifestOf(orttoDefinition, 'ortto'))
    expect((await send('/createAudience', { audienceName: 'x' })).status).toBe(404)
    expect((await send('/ortto-audiences/upsertContact', { payload: { type: 'identify', userId: 'a' } })).status).toBe(
      404
    )
  })
})

describe('SERVE_DESTINATION=ortto-audiences: Ortto (Audiences) at the root, Ortto (Actions) under /ortto/', () => {
  beforeEach(() => start({ serveDestination: 'ortto-audiences' }))

  describe('its routes', audienceRoutesUnder(''))

  it('answers Ortto (Actions) under /ortto/, and GET / lists both', async () => {
    const manifest = await fetchGet('/ortto/manifest', null)
    expect(manifest.json).toEqual(manifestOf(orttoDefinition, 'ortto'))
    const upsert = await send('/ortto/upsertContact', { payload: { type: 'identify', userId: 'ada' } })
    expect(upsert.status).toBe(200)
    expect(sandbox.snapshot().contacts.map((c) => c.user_id)).toEqual(['ada'])
    const routes = Object.keys(((await fetchGet('/')).json as { routes: object }).routes)
    expect(routes).toEqual(
      expect.arrayContaining([
        'GET /manifest',
        'POST /createAudience',
        'POST /getAudience',
        'POST /<action>',
        'GET /ortto/manifest',
        'POST /ortto/<action>',
        'POST /ortto/<action>/hooks/<hook>'
      ])
    )
    expect(routes).not.toContain('POST /<action>/hooks/<hook>')
    expect((await call(url(), 'GET', '/ortto-audiences/manifest')).status).toBe(404)
  })
})

describe('SERVE_DESTINATION', () => {
  it('takes the folder of either destination, as serve --destination does', () => {
    expect(readConfig({ SERVE_DESTINATION: 'ortto-audiences' }).serveDestination).toBe('ortto-audiences')
    expect(readConfig({ SERVE_DESTINATION: 'ortto' }).serveDestination).toBe('ortto')
    expect(readConfig({}).serveDestination).toBeUndefined()
  })

  it('refuses anything else, saying what it takes', () => {
    expect(() => readConfig({ SERVE_DESTINATION: 'actions-ortto-audiences' })).toThrow(
      new ConfigError(
        'SERVE_DESTINATION must be the folder of one of the destinations, as serve\'s --destination takes it: ortto or ortto-audiences (got "actions-ortto-audiences").'
      )
    )
  })
})
