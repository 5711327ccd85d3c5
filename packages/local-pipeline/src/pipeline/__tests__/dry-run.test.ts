/**
 * POST /dry-run over real sockets, against a pipeline that delivers to a stand-in recording every
 * request it gets: nothing reaches it during a dry run, and the request a dry run shows is the one
 * real delivery then sends.
 */
import { LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import { startPipeline, type Pipeline } from '../index'
import type { PipelineConfig } from '../config'
import type { PlannedEvent } from '../dry-run'
import { echoStandIn, type EchoStandIn } from '../../../test/helpers/echo-stand-in'
import {
  TEST_WRITE_KEY,
  identifyBody,
  post,
  tempDir,
  trackBody,
  waitFor,
  writeJson
} from '../../../test/helpers/pipeline-helpers'

let standIn: EchoStandIn
let pipeline: Pipeline

async function start(overrides: Partial<PipelineConfig> = {}) {
  standIn = await echoStandIn(() => ({ status: 200, body: {} }))
  pipeline = await startPipeline(
    {
      port: 0,
      target: { kind: 'endpoint', url: standIn.url },
      flushIntervalMs: 20,
      maxAttempts: 1,
      writeKey: TEST_WRITE_KEY,
      ...overrides
    },
    () => undefined
  )
  return pipeline
}

afterEach(async () => {
  await pipeline?.stop()
  await standIn?.close()
  delete process.env[LOCAL_ENDPOINT_ENV]
})

interface DryRunAnswer {
  dryRun: true
  sent: number
  events: PlannedEvent[]
  rejected: Array<{ index: number; reason: string }>
}

const dryRun = async (body: unknown) => {
  const answer = await post(pipeline.url, '/dry-run', body)
  return { ...answer, plan: answer.json as DryRunAnswer }
}

describe('POST /dry-run', () => {
  it('shows what the mapping makes of an event and the exact request delivery then sends, sending nothing', async () => {
    await start()
    const identify = { type: 'identify', ...identifyBody('ada', { email: 'ada@example.com', first_name: 'Ada' }) }
    const { status, plan, text } = await dryRun(identify)
    expect(status).toBe(200)
    expect(standIn.received).toEqual([])
    expect(pipeline.delivery.status()).toMatchObject({ received: 0, pending: 0 })
    expect(text).not.toContain(pipeline.apiKey)

    const [planned] = plan.events
    expect(planned).toEqual({
      index: 0,
      messageId: 'msg-identify-ada',
      type: 'identify',
      subscriptions: [
        {
          subscription: 'Upsert Contact',
          partnerAction: 'upsertContact',
          payload: {
            user_id: 'ada',
            message_id: 'msg-identify-ada',
            timestamp: '2024-03-01T10:00:00.000Z',
            traits: { email: 'ada@example.com', first_name: 'Ada' },
            location: {},
            enable_batching: true,
            audience_update_mode: 'add',
            batch_size: 500
          },
          valid: true,
          requests: [
            {
              method: 'POST',
              url: `${standIn.url}/v1/identify`,
              headers: {
                authorization: '<redacted>',
                'content-type': 'application/json',
                'user-agent': 'Segment (Actions)'
              },
              body: JSON.stringify([
                {
                  user_id: 'ada',
                  traits: { email: 'ada@example.com', first_name: 'Ada' },
                  timestamp: '2024-03-01T10:00:00.000Z',
                  message_id: 'msg-identify-ada'
                }
              ])
            }
          ]
        }
      ]
    })

    // Now for real: the stand-in gets exactly that request.
    expect((await post(pipeline.url, '/v1/identify', identify)).status).toBe(200)
    await waitFor('the delivery', () => pipeline.delivery.status().delivered === 1)
    const [sent] = standIn.received
    const [shown] = planned.subscriptions[0].requests
    expect([sent.method, `${standIn.url}${sent.path}`, sent.body, sent.headers['content-type']]).toEqual([
      shown.method,
      shown.url,
      shown.body,
      shown.headers['content-type']
    ])
    expect(sent.headers.authorization).toBe(`Bearer ${pipeline.apiKey}`)
  })

  it('answers a batch event by event: each matching subscription, validation failures, no match, refusals', async () => {
    await start()
    const fromOrtto = trackBody('loop', 'Opened', {}, { type: 'track', context: { app: { namespace: 'ortto.com' } } })
    const batch = [
      { type: 'track', ...trackBody('ada', 'Order Completed', { total: 42 }) },
      {
        type: 'track',
        ...trackBody('bob', 'Order Completed', {}, { context: { app: { namespace: { name: 'shop' } } } })
      },
      { type: 'page', userId: 'ada', name: 'Home', messageId: 'msg-page' },
      { type: 'track', userId: 'eve', event: 'x', timestamp: 1_700_000_000 },
      fromOrtto
    ]
    const { status, plan } = await dryRun({ batch })
    expect(status).toBe(200)
    expect(standIn.received).toEqual([])
    expect(plan.sent).toBe(0)
    expect(plan.rejected).toEqual([
      { index: 3, reason: expect.stringMatching(/^"timestamp" must be an ISO 8601 string/) }
    ])
    expect(
      plan.events.map((e) => [e.index, e.messageId, e.subscriptions.map((s) => [s.partnerAction, s.valid])])
    ).toEqual([
      [0, 'msg-track-ada-Order Completed', [['trackActivity', true]]],
      [1, 'msg-track-bob-Order Completed', [['trackActivity', false]]],
      [2, 'msg-page', []],
      [4, 'msg-track-loop-Opened', [['trackActivity', true]]]
    ])

    const [delivered, invalid, page, acknowledged] = plan.events
    expect(JSON.parse(delivered.subscriptions[0].requests[0].body)).toEqual([
      {
        user_id: 'ada',
        event: 'Order Completed',
        properties: { total: 42 },
        timestamp: '2024-03-01T10:00:00.000Z',
        message_id: 'msg-track-ada-Order Completed'
      }
    ])
    // Refused by the field schema: the mapped values are shown, with the reason; no request.
    expect(invalid.subscriptions[0]).toEqual({
      subscription: 'Track Activity',
      partnerAction: 'trackActivity',
      payload: expect.objectContaining({ user_id: 'bob', namespace: { name: 'shop' }, event: 'Order Completed' }),
      valid: false,
      failure: {
        status: 400,
        errortype: 'PAYLOAD_VALIDATION_FAILED',
        reason: 'Namespace must be a string but it was an object.'
      },
      requests: []
    })
    expect(page.unsubscribed).toBe(
      'matches no subscription of Ortto (Actions), which takes events without context.personas.computation_class: ' +
        'Upsert Contact (type = "identify"), Track Activity (type = "track")'
    )
    expect(acknowledged.subscriptions[0]).toMatchObject({ valid: true, requests: [], note: expect.any(String) })
  })

  it('reports a failure the destination finds before sending, with its reason', async () => {
    // The event name comes from a property that is blank: the field schema takes it, the destination does not.
    const temp = tempDir()
    try {
      const mappings = [
        {
          partnerAction: 'trackActivity',
          subscribe: 'type = "track"',
          mapping: { event: { '@path': '$.properties.label' } }
        },
        { name: 'Clicks', partnerAction: 'trackActivity', subscribe: 'event = "Clicked"' }
      ]
      await start({ mappingsFile: writeJson(temp.file('mappings.json'), mappings) })
      const { plan } = await dryRun({ type: 'track', ...trackBody('ada', 'Clicked', { label: '   ' }) })
      expect(plan.events[0].subscriptions).toEqual([
        {
          subscription: 'trackActivity #0',
          partnerAction: 'trackActivity',
          payload: expect.objectContaining({ event: '   ' }),
          valid: false,
          failure: {
            status: 400,
            errortype: 'PAYLOAD_VALIDATION_FAILED',
            reason: expect.stringMatching(/event name/i)
          },
          requests: []
        },
        {
          subscription: 'Clicks',
          partnerAction: 'trackActivity',
          payload: expect.objectContaining({ event: 'Clicked', properties: { label: '   ' } }),
          valid: true,
          requests: [expect.objectContaining({ method: 'POST', url: `${standIn.url}/v1/track` })]
        }
      ])
      expect(standIn.received).toEqual([])
    } finally {
      temp.remove()
    }
  })

  it.each([
    [[1, 2], /^POST \/dry-run takes one Segment event with its "type"/],
    [{ userId: 'ada' }, /^POST \/dry-run takes one Segment event with its "type"/],
    [{ batch: 'none' }, /^a batch call must be a JSON object with a "batch" array$/]
  ])('refuses %j with 400 and what to send', async (body, message) => {
    await start()
    const answer = await post(pipeline.url, '/dry-run', body)
    expect(answer.status).toBe(400)
    expect((answer.json as { error: { message: string } }).error.message).toMatch(message)
  })
})
