/**
 * The action-destinations CLI `serve` routes on the pipeline's port, against the embedded sandbox:
 * GET /manifest, POST /authenticate, POST /<action> (single and batch), POST /<action>/hooks/<hook>.
 * Each answer carries results and the Ortto requests made, with the Authorization header redacted;
 * the API key of the settings never appears in any answer.
 */
import { readFileSync } from 'node:fs'
import * as path from 'node:path'
import { LOCAL_ENDPOINT_ENV } from '../../destinations/ortto/constants'
import type { Sandbox } from '../../sandbox'
import { startPipeline, type Pipeline } from '../index'
import { get, post, type Answer } from '../../../test/helpers/pipeline-helpers'

/** A well-formed key the sandbox accepts; distinctive, so any echo of it is easy to find. */
const API_KEY = 'pau-cliSecretNeverEchoed9'

let pipeline: Pipeline
let sandbox: Sandbox
/** Every answer of a test, checked for the key afterwards. */
let answers: Answer[]

beforeEach(async () => {
  answers = []
  pipeline = await startPipeline(
    { port: 0, target: { kind: 'sandbox', port: 0 }, flushIntervalMs: 50, maxAttempts: 3 },
    () => undefined
  )
  sandbox = pipeline.sandbox as Sandbox
})

afterEach(async () => {
  for (const answer of answers) {
    expect(answer.text).not.toContain(API_KEY)
    expect(answer.text).not.toContain('cliSecretNeverEchoed9')
  }
  await pipeline.stop()
  delete process.env[LOCAL_ENDPOINT_ENV]
})

async function send(route: string, body: unknown): Promise<Answer> {
  const answer = await post(pipeline.url, route, body)
  answers.push(answer)
  return answer
}

interface RequestMade {
  request: { method: string; url: string; headers: Record<string, string>; body?: unknown }
  response: { status: number; body: unknown }
}

const requestsOf = (answer: Answer) => (answer.json as { requests: RequestMade[] }).requests

const trackEvent = {
  type: 'track',
  event: 'Order Completed',
  userId: 'ada',
  messageId: 'msg-cli-1',
  timestamp: '2024-03-01T10:00:00.000Z',
  properties: { order_id: 'o-1', revenue: 42 },
  context: { ip: '180.1.12.125' }
}

describe('GET /manifest', () => {
  it("equals the destination's metadata.json", async () => {
    const answer = await get(pipeline.url, '/manifest')
    answers.push(answer)
    expect(answer.status).toBe(200)
    const metadataFile = path.join(__dirname, '../../destinations/ortto/metadata.json')
    expect(answer.json).toEqual(JSON.parse(readFileSync(metadataFile, 'utf8')))
  })
})

describe('POST /authenticate', () => {
  it('answers 200 for a good key after asking the sandbox (GET /v1/me)', async () => {
    const answer = await send('/authenticate', { api_key: API_KEY })
    expect(answer.status).toBe(200)
    expect((answer.json as { ok: boolean }).ok).toBe(true)
    expect(sandbox.stats().byRoute).toEqual({ 'GET /v1/me': 1 })
  })

  it('checks the key with Ortto (GET /v1/me) and answers ok', async () => {
    const answer = await send('/authenticate', { api_key: API_KEY })
    expect(answer.status).toBe(200)
    expect(sandbox.stats().byRoute).toEqual({ 'GET /v1/me': 1 })
    // actions-core does not record testAuthentication's requests, so none are listed.
    expect(answer.json).toEqual({ ok: true })
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
    'answers 401 with the reason for a key with %s, without echoing it or sending a request',
    async (_why, key, reason) => {
      const answer = await send('/authenticate', { api_key: key })
      expect(answer.status).toBe(401)
      const { error } = answer.json as { error: { message: string } }
      expect(error.message).toContain(reason)
      expect(error.message).toMatch(/^Credentials are invalid:/)
      expect(answer.text).not.toContain(key.trim())
      expect(sandbox.stats().requests).toBe(0)
    }
  )

  it('answers 400 when the body is not a JSON object', async () => {
    const answer = await send('/authenticate', [API_KEY])
    expect(answer.status).toBe(400)
    expect(answer.json).toEqual({ error: { code: 'bad-request', message: 'the body must be a JSON object' } })
  })
})

describe('POST /<action>', () => {
  it('runs a single payload and shows the one request, Authorization redacted, body the activity array', async () => {
    const answer = await send('/trackActivity', { payload: trackEvent, settings: { api_key: API_KEY } })
    expect(answer.status).toBe(200)
    expect((answer.json as { results: unknown }).results).toEqual([
      { output: 'Mappings resolved' },
      { output: 'Payload validated' },
      { output: 'Action Executed', data: {} }
    ])

    const requests = requestsOf(answer)
    expect(requests).toHaveLength(1)
    const [made] = requests
    expect(made.request.method).toBe('POST')
    expect(made.request.url).toBe(`${sandbox.url}/v1/track`)
    expect(made.request.headers.authorization).toBe('<redacted>')
    expect(made.request.headers['content-type']).toBe('application/json')
    expect(made.request.body).toEqual([
      {
        user_id: 'ada',
        ip: '180.1.12.125',
        timestamp: '2024-03-01T10:00:00.000Z',
        message_id: 'msg-cli-1',
        event: 'Order Completed',
        properties: { order_id: 'o-1', revenue: 42 }
      }
    ])
    expect(made.response).toEqual({ status: 200, body: {} })

    const [activity] = sandbox.snapshot().activities
    expect(activity).toMatchObject({ event: 'Order Completed', message_id: 'msg-cli-1' })
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
    expect(requestsOf(answer)[0].request.body).toEqual([
      {
        user_id: 'ada',
        ip: '180.1.12.125',
        timestamp: '2024-03-01T10:00:00.000Z',
        message_id: 'msg-cli-1',
        event: 'Shop: Order Completed',
        properties: { order: 'o-1' }
      }
    ])
  })

  it('uses the pipeline settings when the call carries none', async () => {
    const answer = await send('/upsertContact', { payload: { type: 'identify', userId: 'no-settings' } })
    expect(answer.status).toBe(200)
    expect(sandbox.snapshot().contacts.map((c) => c.user_id)).toEqual(['no-settings'])
  })

  it('runs an array payload as a batch: 207 with a result per event, the invalid one 400', async () => {
    const answer = await send('/upsertContact', {
      settings: { api_key: API_KEY },
      payload: [
        { type: 'identify', userId: 'u1', traits: { plan: 'pro' }, messageId: 'm1' },
        { type: 'identify', traits: { plan: 'nobody' }, messageId: 'm2' },
        { type: 'identify', anonymousId: 'anon-3', messageId: 'm3' }
      ]
    })
    expect(answer.status).toBe(207)
    expect((answer.json as { results: unknown }).results).toEqual([
      { status: 200, sent: { user_id: 'u1', traits: { plan: 'pro' }, message_id: 'm1' }, body: {} },
      {
        status: 400,
        errortype: 'PAYLOAD_VALIDATION_FAILED',
        errormessage:
          'The root value is missing the required field \'user_id\'. The root value must match "then" schema. ' +
          'The root value is missing the required field \'anonymous_id\'. The root value must match "then" schema.',
        errorreporter: 'INTEGRATIONS'
      },
      { status: 200, sent: { anonymous_id: 'anon-3', message_id: 'm3' }, body: {} }
    ])

    const requests = requestsOf(answer)
    expect(requests).toHaveLength(1)
    expect(requests[0].request.headers.authorization).toBe('<redacted>')
    expect(requests[0].request.body).toEqual([
      { user_id: 'u1', traits: { plan: 'pro' }, message_id: 'm1' },
      { anonymous_id: 'anon-3', message_id: 'm3' }
    ])
    expect(sandbox.snapshot().contacts.map((c) => [c.user_id, c.anonymous_id])).toEqual([
      ['u1', null],
      [null, 'anon-3']
    ])
  })

  it('answers 200 for an array payload whose events are all delivered', async () => {
    const answer = await send('/trackActivity', {
      settings: { api_key: API_KEY },
      payload: [trackEvent, { ...trackEvent, messageId: 'msg-cli-2' }]
    })
    expect(answer.status).toBe(200)
    const { results } = answer.json as { results: Array<{ status: number }> }
    expect(results.map((r) => r.status)).toEqual([200, 200])
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
        message: '"payload" must be a Segment event object or a non-empty array of them'
      }
    })
    expect(sandbox.stats().requests).toBe(0)
  })

  it.each([
    ['mapping', { mapping: 'default' }, '"mapping" must be an object'],
    ['settings', { settings: [API_KEY] }, '"settings" must be an object']
  ])('answers 400 when %s is not an object', async (_key, extra, message) => {
    const answer = await send('/upsertContact', { payload: { type: 'identify', userId: 'a' }, ...extra })
    expect(answer.status).toBe(400)
    expect(answer.json).toEqual({ error: { code: 'bad-request', message } })
  })

  it("answers 400 with the PayloadValidationError's message for a single payload with a blank event name", async () => {
    const answer = await send('/trackActivity', {
      settings: { api_key: API_KEY },
      payload: { ...trackEvent, event: '   ' }
    })
    expect(answer.status).toBe(400)
    expect(answer.json).toEqual({
      error: {
        status: 400,
        code: 'PAYLOAD_VALIDATION_FAILED',
        message: 'The Event name is blank; Ortto needs a name for every activity. Map event to $.event.'
      },
      requests: []
    })
    expect(sandbox.stats().requests).toBe(0)
  })

  it("answers with Ortto's per-object status when the sandbox refuses a single payload", async () => {
    const answer = await send('/upsertContact', {
      settings: { api_key: API_KEY },
      payload: { type: 'identify', userId: 'long', traits: { bio: 'b'.repeat(5000) } }
    })
    expect(answer.status).toBe(400)
    const { error, requests } = answer.json as { error: { status: number; message: string }; requests: RequestMade[] }
    expect(error.status).toBe(400)
    expect(error.message).toBe(
      'Ortto rejected this event (400): traits.bio is 5000 characters long; text fields take at most 4000 characters'
    )
    expect(requests).toHaveLength(1)
    expect(requests[0].response.status).toBe(207)
  })

  it('answers 401 for a malformed key in the settings, without echoing it', async () => {
    const answer = await send('/trackActivity', {
      payload: trackEvent,
      settings: { api_key: 'Pau-cliSecretNeverEchoed9' }
    })
    expect(answer.status).toBe(401)
    expect((answer.json as { error: { code: string } }).error.code).toBe('INVALID_AUTHENTICATION')
    expect(answer.text).not.toContain('Pau-cliSecretNeverEchoed9')
    expect(sandbox.stats().requests).toBe(0)
  })
})

describe('POST /<action>/hooks/<hook>', () => {
  it('runs onMappingSave with hookInputs.audience_name: 200 with savedData', async () => {
    const answer = await send('/upsertContact/hooks/onMappingSave', {
      settings: { api_key: API_KEY },
      hookInputs: { audience_name: 'VIP' }
    })
    expect(answer.status).toBe(200)
    const [audience] = sandbox.snapshot().audiences
    expect(audience.name).toBe('VIP')
    expect(answer.json).toEqual({
      successMessage: `Contacts of this mapping will be linked to the Ortto audience "VIP" (id ${audience.id}).`,
      savedData: { audience_id: audience.id, audience_name: 'VIP' },
      requests: [
        {
          request: {
            method: 'POST',
            url: `${sandbox.url}/v1/audiences/create`,
            headers: expect.objectContaining({ authorization: '<redacted>' }),
            body: { name: 'VIP' }
          },
          response: { status: 200, body: { id: audience.id, name: 'VIP' } }
        }
      ]
    })

    // Saving again links the same audience.
    const again = await send('/trackActivity/hooks/onMappingSave', { hookInputs: { audience_name: 'VIP' } })
    expect(again.status).toBe(200)
    expect((again.json as { savedData: unknown }).savedData).toEqual({ audience_id: audience.id, audience_name: 'VIP' })
    expect(sandbox.snapshot().audiences).toHaveLength(1)
  })

  it("answers 400 with the hook's error when the audience cannot be linked, without echoing the key", async () => {
    const answer = await send('/upsertContact/hooks/onMappingSave', {
      settings: { api_key: 'Xau-cliSecretNeverEchoed9' },
      hookInputs: { audience_name: 'VIP' }
    })
    expect(answer.status).toBe(400)
    const { error } = answer.json as { error: { code: string; message: string } }
    expect(error.code).toBe('CREATE_AUDIENCE_FAILED')
    expect(error.message).toMatch(/^Could not link the audience "VIP": The Ortto API key must start with "p"/)
    expect(sandbox.snapshot().audiences).toEqual([])
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

  it.each(['/upsertContact/hooks', '/upsertContact/hooks/onMappingSave/extra', '/upsertContact/other/onMappingSave'])(
    'POST %s → 404',
    async (route) => {
      const answer = await send(route, {})
      expect(answer.status).toBe(404)
      expect((answer.json as { error: { code: string } }).error.code).toBe('not-found')
    }
  )
})
