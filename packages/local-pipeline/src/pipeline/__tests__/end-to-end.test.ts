/**
 * The whole local pipeline, in-process: Segment's own Node library sends identify and track calls
 * to it over HTTP, the pipeline runs them through the destination (mapping file, audience hook run
 * at start), and what lands in the embedded Ortto sandbox is read back through /sandbox/*.
 */
import { Analytics } from '@segment/analytics-node'
import { LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import {
  startSandbox,
  type Sandbox,
  type SandboxActivity,
  type SandboxAudience,
  type SandboxContact
} from 'ortto-sandbox'
import { startPipeline, type Pipeline } from '../index'
import {
  TEST_WRITE_KEY,
  get,
  post,
  tempDir,
  waitFor,
  writeJson,
  type Answer
} from '../../../test/helpers/pipeline-helpers'

const MAPPINGS = [
  {
    name: 'Upsert Contact',
    partnerAction: 'upsertContact',
    subscribe: 'type = "identify"',
    mapping: { onMappingSave: { inputs: { audience_name: 'VIP' } } }
  },
  { name: 'Track Activity', partnerAction: 'trackActivity', subscribe: 'type = "track"', mapping: {} }
]

const contactsOf = (answer: Answer) => (answer.json as { contacts: SandboxContact[] }).contacts
const activitiesOf = (answer: Answer) => (answer.json as { activities: SandboxActivity[] }).activities
const audiencesOf = (answer: Answer) => (answer.json as { audiences: SandboxAudience[] }).audiences

let temp: ReturnType<typeof tempDir>
let logLines: string[]
const started: Array<{ stop: () => Promise<unknown> }> = []

beforeEach(() => {
  temp = tempDir()
  logLines = []
  delete process.env[LOCAL_ENDPOINT_ENV]
})

afterEach(async () => {
  for (const thing of started.splice(0).reverse()) await thing.stop()
  delete process.env[LOCAL_ENDPOINT_ENV]
  temp.remove()
})

async function start(overrides: Partial<Parameters<typeof startPipeline>[0]> = {}): Promise<Pipeline> {
  const pipeline = await startPipeline(
    {
      port: 0,
      target: { kind: 'sandbox', port: 0 },
      flushIntervalMs: 50,
      maxAttempts: 3,
      baseBackoffMs: 10,
      maxBackoffMs: 50,
      mappingsFile: writeJson(temp.file('mappings.json'), MAPPINGS),
      writeKey: TEST_WRITE_KEY,
      ...overrides
    },
    (line) => logLines.push(line)
  )
  started.push(pipeline)
  return pipeline
}

const delivered = (pipeline: Pipeline, count: number) =>
  waitFor(`${count} deliveries`, () => {
    const status = pipeline.delivery.status()
    return status.delivered + status.failed >= count && status.pending === 0 && status
  })

describe('Segment library → pipeline → destination → embedded sandbox', () => {
  it('delivers identify (with location and audience) and track calls sent by @segment/analytics-node', async () => {
    const pipeline = await start()

    // The mapping file's audience hook ran at start: the audience exists and its id is in the mapping.
    const audiencesAtStart = audiencesOf(await get(pipeline.url, '/sandbox/audiences'))
    expect(audiencesAtStart).toHaveLength(1)
    const vip = audiencesAtStart[0]
    expect(vip.name).toBe('VIP')
    expect(vip.member_ids).toEqual([])
    expect(pipeline.subscriptions.map((s) => s.mapping.onMappingSave)).toEqual([
      { inputs: { audience_name: 'VIP' }, outputs: { audience_id: vip.id, audience_name: 'VIP' } },
      undefined
    ])

    const analytics = new Analytics({
      writeKey: TEST_WRITE_KEY,
      host: pipeline.url,
      maxEventsInBatch: 10,
      flushInterval: 50
    })
    const traits = {
      email: 'ada@example.com',
      first_name: 'Ada',
      address: { country: 'Australia', state: 'NSW', city: 'Sydney', postal_code: '2000' }
    }
    analytics.identify({ userId: 'ada', traits, messageId: 'msg-ada-identify' })
    analytics.track({
      userId: 'ada',
      event: 'Order Completed',
      properties: { order_id: 'o-1', revenue: 42 },
      messageId: 'msg-ada-order',
      timestamp: new Date('2024-03-01T10:00:00.000Z')
    })
    await analytics.closeAndFlush()

    const status = await delivered(pipeline, 2)
    expect(status).toEqual({
      received: 2,
      restored: 0,
      unsubscribed: 0,
      delivered: 2,
      failed: 0,
      retried: 0,
      pending: 0,
      recentFailures: []
    })

    const contacts = contactsOf(await get(pipeline.url, '/sandbox/contacts'))
    expect(contacts).toHaveLength(1)
    const [ada] = contacts
    expect(ada).toMatchObject({
      user_id: 'ada',
      anonymous_id: null,
      traits,
      location: { country: 'Australia', state: 'NSW', city: 'Sydney', post_code: '2000' },
      audience_ids: [vip.id]
    })

    const activities = activitiesOf(await get(pipeline.url, '/sandbox/activities'))
    expect(activities).toEqual([
      {
        contact_id: ada.id,
        event: 'Order Completed',
        properties: { order_id: 'o-1', revenue: 42 },
        namespace: null,
        timestamp: '2024-03-01T10:00:00.000Z',
        message_id: 'msg-ada-order',
        received_at: expect.any(String)
      }
    ])

    const audiences = audiencesOf(await get(pipeline.url, '/sandbox/audiences'))
    expect(audiences).toEqual([{ ...vip, member_ids: [ada.id] }])

    // One log line per batch delivered: one for each subscription here.
    expect(logLines.filter((line) => line.startsWith('[delivery]')).sort()).toEqual([
      '[delivery] trackActivity: 1 event — 1 delivered, 0 failed, 0 retryable',
      '[delivery] upsertContact: 1 event — 1 delivered, 0 failed, 0 retryable'
    ])

    const statusRoute = await get(pipeline.url, '/status')
    expect(statusRoute.status).toBe(200)
    expect(statusRoute.json).toMatchObject({
      // analytics-node sent both events in one batch call.
      ingest: { calls: 1, events: 2, rejectedEvents: 0, refusedCalls: 0 },
      delivery: status
    })
  })

  it("lands a contact from the README's curl example (raw POST /v1/identify with basic auth)", async () => {
    // The README starts it with SEGMENT_WRITE_KEY=my-write-key.
    const pipeline = await start({ writeKey: 'my-write-key' })
    const answer = await post(
      pipeline.url,
      '/v1/identify',
      '{"userId": "ada", "traits": {"email": "ada@example.com", "first_name": "Ada"}}',
      { writeKey: 'my-write-key', headers: { 'content-type': 'application/json' } }
    )
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ success: true, accepted: 1, unsubscribed: 0, rejected: [] })

    await delivered(pipeline, 1)
    const found = contactsOf(await get(pipeline.url, '/sandbox/contacts?user_id=ada', { writeKey: 'my-write-key' }))
    expect(found).toHaveLength(1)
    expect(found[0]).toMatchObject({
      user_id: 'ada',
      traits: { email: 'ada@example.com', first_name: 'Ada' },
      location: null
    })
  })

  it('stop() delivers what is held, closes the port and returns the totals', async () => {
    const pipeline = await start({ flushIntervalMs: 60_000 })
    const answer = await post(pipeline.url, '/v1/batch', {
      batch: [
        { type: 'identify', userId: 'u1', traits: { plan: 'pro' } },
        { type: 'track', userId: 'u1', event: 'Signed Up' },
        { type: 'page', userId: 'u1', name: 'Home' }
      ]
    })
    expect(answer.json).toEqual({ success: true, accepted: 3, unsubscribed: 1, rejected: [] })
    const sandbox = pipeline.sandbox as Sandbox
    expect(sandbox.stats().requests).toBe(1) // only the audience hook at start; nothing delivered yet

    const totals = await pipeline.stop()
    expect(totals).toEqual({
      received: 3,
      restored: 0,
      unsubscribed: 1,
      delivered: 2,
      failed: 0,
      retried: 0,
      pending: 0,
      recentFailures: []
    })
    expect(sandbox.snapshot().contacts.map((c) => [c.user_id, c.traits])).toEqual([['u1', { plan: 'pro' }]])
    expect(sandbox.snapshot().activities.map((a) => a.event)).toEqual(['Signed Up'])
    await expect(fetch(`${pipeline.url}/status`)).rejects.toThrow('fetch failed')
    expect(process.env[LOCAL_ENDPOINT_ENV]).toBeUndefined()
  })

  it("delivers to the stand-in named by an { kind: 'endpoint' } target", async () => {
    const standIn = await startSandbox({ port: 0 })
    started.push(standIn)
    const pipeline = await start({ target: { kind: 'endpoint', url: standIn.url }, mappingsFile: undefined })
    expect(pipeline.destinationLabel).toBe(`the Ortto stand-in at ${standIn.url} (ORTTO_LOCAL_ENDPOINT)`)

    const answer = await post(pipeline.url, '/v1/identify', { userId: 'grace', traits: { first_name: 'Grace' } })
    expect(answer.status).toBe(200)
    const status = await delivered(pipeline, 1)
    expect(status.recentFailures).toEqual([])
    expect(status.delivered).toBe(1)
    expect(standIn.snapshot().contacts.map((c) => c.user_id)).toEqual(['grace'])
  })

  it('refuses a second pipeline with its own endpoint in the same process (ORTTO_LOCAL_ENDPOINT is process-wide)', async () => {
    const first = await start({ mappingsFile: undefined })
    await expect(start({ mappingsFile: undefined })).rejects.toThrow(/already owns ORTTO_LOCAL_ENDPOINT/)
    // The refused start changed nothing: the first pipeline still delivers to its own sandbox.
    await post(first.url, '/v1/identify', { userId: 'first-user' })
    const status = await delivered(first, 1)
    expect(status.recentFailures).toEqual([])
    expect((first.sandbox as Sandbox).snapshot().contacts.map((c) => c.user_id)).toEqual(['first-user'])
  })

  it('gives ORTTO_LOCAL_ENDPOINT back as it found it when it stops', async () => {
    const before = process.env.ORTTO_LOCAL_ENDPOINT
    const pipeline = await start({ mappingsFile: undefined })
    expect(process.env.ORTTO_LOCAL_ENDPOINT).toBe((pipeline.sandbox as Sandbox).url)
    await pipeline.stop()
    expect(process.env.ORTTO_LOCAL_ENDPOINT).toBe(before)
  })
})
