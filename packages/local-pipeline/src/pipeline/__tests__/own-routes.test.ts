/**
 * Our own routes beside the serve ones: GET /metadata (the catalog metadata) and
 * POST /results/<action> (each event's result and the requests made). No answer carries a key.
 */
import { LOCAL_ENDPOINT_ENV, orttoMetadata } from 'actions-ortto'
import type { Sandbox } from 'ortto-sandbox'
import type { Target } from '../config'
import { startPipeline } from '../index'
import type { Pipeline } from '../index'
import { echoStandIn } from '../../../test/helpers/echo-stand-in'
import type { EchoStandIn } from '../../../test/helpers/echo-stand-in'
import { TEST_WRITE_KEY, call, get, post } from '../../../test/helpers/pipeline-helpers'
import type { Answer } from '../../../test/helpers/pipeline-helpers'

const API_KEY = 'pau-ownRoutesSecret7'

let pipeline: Pipeline
let sandbox: Sandbox
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
    expect(answer.text).not.toContain(pipeline.apiKey)
  }
  await pipeline.stop()
  delete process.env[LOCAL_ENDPOINT_ENV]
})

async function send(route: string, body: unknown): Promise<Answer> {
  const answer = await post(pipeline.url, route, body)
  answers.push(answer)
  return answer
}

interface Results {
  results: unknown[]
  requests: Array<{
    request: { url: string; method: string; headers: Record<string, string>; body: string }
    response: { statusCode: number; statusMessage: string; headers: Record<string, string>; body: unknown }
  }>
}

const resultsOf = (answer: Answer) => answer.json as Results

const trackEvent = {
  type: 'track',
  event: 'Order Completed',
  userId: 'ada',
  messageId: 'msg-own-1',
  timestamp: '2024-03-01T10:00:00.000Z',
  properties: { order_id: 'o-1' }
}

describe('against the embedded sandbox', () => {
  beforeEach(() => start())

  describe('GET /metadata', () => {
    it("equals the destination's metadata.json", async () => {
      const answer = await get(pipeline.url, '/metadata')
      answers.push(answer)
      expect(answer.status).toBe(200)
      expect(answer.json).toEqual(orttoMetadata)
    })

    it('POST /metadata → 405', async () => {
      const answer = await send('/metadata', {})
      expect(answer.status).toBe(405)
      expect(answer.json).toEqual({ error: { code: 'method-not-allowed', message: '/metadata takes GET' } })
    })
  })

  describe('POST /results/<action>', () => {
    it("runs a single payload: 200 with execute's results and the exchange", async () => {
      const answer = await send('/results/trackActivity', { payload: trackEvent, settings: { api_key: API_KEY } })
      expect(answer.status).toBe(200)
      const { results, requests } = resultsOf(answer)
      expect(results).toEqual([
        { output: 'Mappings resolved' },
        { output: 'Payload validated' },
        { output: 'Action Executed', data: {} }
      ])
      expect(requests).toEqual([
        {
          request: {
            url: `${sandbox.url}/v1/track`,
            method: 'POST',
            headers: {
              authorization: '<redacted>',
              'content-type': 'application/json',
              'user-agent': 'Segment (Actions)'
            },
            body: JSON.stringify([
              {
                user_id: 'ada',
                timestamp: '2024-03-01T10:00:00.000Z',
                message_id: 'msg-own-1',
                event: 'Order Completed',
                properties: { order_id: 'o-1' }
              }
            ])
          },
          response: { statusCode: 200, statusMessage: 'OK', headers: expect.any(Object), body: {} }
        }
      ])
    })

    it('runs an array payload as a batch: 207 with a result per event, the invalid one 400', async () => {
      const answer = await send('/results/upsertContact', {
        settings: { api_key: API_KEY },
        payload: [
          { type: 'identify', userId: 'u1', traits: { plan: 'pro' }, messageId: 'm1' },
          { type: 'identify', traits: { plan: 'nobody' }, messageId: 'm2' },
          { type: 'identify', anonymousId: 'anon-3', messageId: 'm3' }
        ]
      })
      expect(answer.status).toBe(207)
      const { results, requests } = resultsOf(answer)
      expect(results).toEqual([
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
      expect(requests).toHaveLength(1)
      expect(requests[0].request.body).toBe(
        '[{"user_id":"u1","traits":{"plan":"pro"},"message_id":"m1"},{"anonymous_id":"anon-3","message_id":"m3"}]'
      )
    })

    it('answers 200 for an array payload whose events are all delivered', async () => {
      const answer = await send('/results/trackActivity', {
        settings: { api_key: API_KEY },
        payload: [trackEvent, { ...trackEvent, messageId: 'msg-own-2' }]
      })
      expect(answer.status).toBe(200)
      expect((resultsOf(answer).results as Array<{ status: number }>).map((r) => r.status)).toEqual([200, 200])
    })

    it("answers a failed single event with its error's status: 400 for a blank event name, nothing sent", async () => {
      const answer = await send('/results/trackActivity', {
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

    it("answers Ortto's refusal of a single event with its status and the exchange (a 207 from Ortto)", async () => {
      const answer = await send('/results/upsertContact', {
        settings: { api_key: API_KEY },
        payload: { type: 'identify', userId: 'long', traits: { bio: 'b'.repeat(5000) } }
      })
      expect(answer.status).toBe(400)
      const { error, requests } = answer.json as { error: { status: number; message: string } } & Results
      expect(error).toMatchObject({
        status: 400,
        message:
          'Ortto rejected this event (400): traits.bio is 5000 characters long; text fields take at most 4000 characters'
      })
      expect(requests).toHaveLength(1)
      expect(requests[0].response.statusCode).toBe(207)
    })

    it('answers 401 for a malformed key in the settings, without echoing it', async () => {
      const answer = await send('/results/trackActivity', {
        payload: trackEvent,
        settings: { api_key: 'Pau-ownRoutesSecret7' }
      })
      expect(answer.status).toBe(401)
      expect((answer.json as { error: { code: string } }).error.code).toBe('INVALID_AUTHENTICATION')
      expect(answer.text).not.toContain('ownRoutesSecret7')
      expect(sandbox.stats().requests).toBe(0)
    })

    it.each([
      [
        '/results/sendEmail',
        'no such action: "sendEmail"; POST /results/<action> takes one of upsertContact, trackActivity, upsertContactProfile'
      ],
      [
        '/results/',
        'no such action: ""; POST /results/<action> takes one of upsertContact, trackActivity, upsertContactProfile'
      ],
      [
        '/results/trackActivity/hooks/onMappingSave',
        'no such action: "trackActivity/hooks/onMappingSave"; POST /results/<action> takes one of upsertContact, trackActivity, upsertContactProfile'
      ],
      [
        '/results/constructor',
        'no such action: "constructor"; POST /results/<action> takes one of upsertContact, trackActivity, upsertContactProfile'
      ]
    ])('POST %s → 404', async (route, message) => {
      const answer = await send(route, { payload: trackEvent })
      expect(answer.status).toBe(404)
      expect(answer.json).toEqual({ error: { code: 'not-found', message } })
    })

    it('answers 400 for a body that is not an object, and for a bad payload', async () => {
      const notObject = await send('/results/trackActivity', [trackEvent])
      expect(notObject.status).toBe(400)
      expect(notObject.json).toEqual({
        error: { code: 'bad-request', message: 'the body of POST /results/trackActivity must be a JSON object' }
      })
      const noPayload = await send('/results/trackActivity', { settings: {} })
      expect(noPayload.status).toBe(400)
      expect((noPayload.json as { error: { message: string } }).error.message).toMatch(/^"payload" must be/)
    })

    it('GET /results/trackActivity → 405', async () => {
      const answer = await call(pipeline.url, 'GET', '/results/trackActivity')
      answers.push(answer)
      expect(answer.status).toBe(405)
      expect(answer.json).toEqual({
        error: { code: 'method-not-allowed', message: '/results/trackActivity takes POST' }
      })
    })
  })
})

describe('POST /results/<action> against an Ortto stand-in that echoes the key back', () => {
  let standIn: EchoStandIn

  beforeEach(async () => {
    standIn = await echoStandIn()
    await start({ kind: 'endpoint', url: standIn.url })
  })

  afterEach(() => standIn.close())

  it('shows neither key in the results nor in the exchanges', async () => {
    await send('/results/upsertContact', { payload: [{ type: 'identify', userId: 'first' }] })
    const answer = await send('/results/upsertContact', {
      payload: [{ type: 'identify', userId: 'second' }],
      settings: { api_key: API_KEY }
    })
    expect(answer.status).toBe(200)
    const echoed = { echo: 'Bearer «redacted»', seen: ['Bearer «redacted»', 'Bearer «redacted»'] }
    const { results, requests } = resultsOf(answer)
    expect(results).toEqual([{ status: 200, sent: { user_id: 'second' }, body: echoed }])
    expect(requests[0].response.body).toEqual(echoed)
    expect(requests[0].response.headers).toMatchObject({ 'x-echo': 'Bearer «redacted»', 'set-cookie': '<redacted>' })
  })
})
