/**
 * Engage audiences through `npm start`: Engage's identify and track calls go to Ortto (Audiences)'
 * Sync Audience subscription and nothing else, the Ortto audience is created at an audience's
 * first event (createAudience, once), its id is remembered and checked with getAudience after a
 * restart over SANDBOX_DATA (a 404 creates it again), and every failure of those calls gives the
 * events that needed them an honest outcome: retried, or failed with the reason.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { Destination, type SegmentEvent } from '@segment/actions-core'
import { orttoAudiences as audiencesDefinition, LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import {
  startSandbox,
  type FaultOptions,
  type Sandbox,
  type SandboxAudience,
  type SandboxMembershipChange
} from 'ortto-sandbox'
import { audienceIdsFileFor } from '../audience-ids-file'
import { ConfigError, newSandboxApiKey, type PipelineConfig } from '../config'
import { DeliveryPipeline } from '../delivery'
import { ORTTO_AUDIENCES } from '../destinations'
import { EngageAudiences, NOT_YET_CREATED } from '../engage-audiences'
import { startPipeline, type Pipeline } from '../index'
import { presetSubscriptions } from '../subscriptions'
import { ManualClock } from '../../../test/helpers/manual-clock'
import { engageIdentify, engageTrack, type EngageAudience } from '../../../test/helpers/engage-events'
import { TEST_WRITE_KEY, get, post, tempDir, waitFor, type Answer } from '../../../test/helpers/pipeline-helpers'

const VIP: EngageAudience = { computationId: 'aud_vip', key: 'vip_customers', audienceName: 'VIP customers' }
const CHURN: EngageAudience = { computationId: 'aud_churn', key: 'churn_risk' }

interface Audiences {
  audiences: SandboxAudience[]
  membership_history: SandboxMembershipChange[]
}

let temp: ReturnType<typeof tempDir>
let logLines: string[]
const running: Array<{ stop: () => Promise<unknown> }> = []
/** Every answer of a test, checked for the API key afterwards. */
let answers: Answer[]
let apiKeys: string[]

beforeEach(() => {
  temp = tempDir('engage-')
  logLines = []
  answers = []
  apiKeys = []
  delete process.env[LOCAL_ENDPOINT_ENV]
})

afterEach(async () => {
  for (const thing of running.splice(0).reverse()) await thing.stop()
  delete process.env[LOCAL_ENDPOINT_ENV]
  const everything = [...answers.map((a) => a.text), ...logLines].join('\n')
  for (const key of apiKeys) expect(everything).not.toContain(key)
  temp.remove()
})

async function start(overrides: Partial<PipelineConfig> = {}): Promise<Pipeline> {
  const pipeline = await startPipeline(
    {
      port: 0,
      target: { kind: 'sandbox', port: 0 },
      flushIntervalMs: 20,
      maxAttempts: 3,
      baseBackoffMs: 10,
      maxBackoffMs: 20,
      writeKey: TEST_WRITE_KEY,
      ...overrides
    },
    (line) => logLines.push(line)
  )
  running.push(pipeline)
  apiKeys.push(pipeline.apiKey)
  return pipeline
}

const send = async (pipeline: Pipeline, path: string, body: unknown) => {
  const answer = await post(pipeline.url, path, body)
  answers.push(answer)
  expect(answer.status).toBe(200)
  return answer
}

const read = async (pipeline: Pipeline, path: string) => {
  const answer = await get(pipeline.url, path)
  answers.push(answer)
  return answer.json
}

/** Waits until `count` deliveries have ended and nothing is held. */
const settled = (pipeline: Pipeline, count: number) =>
  waitFor(`${count} deliveries to end`, () => {
    const status = pipeline.delivery.status()
    return status.delivered + status.failed >= count && status.pending === 0 && status
  })

const audiencesOf = async (pipeline: Pipeline) => (await read(pipeline, '/sandbox/audiences')) as Audiences
const requestsTo = (sandbox: Sandbox, path: string) => sandbox.stats().byRoute[`POST ${path}`] ?? 0

describe('Engage audience events through the pipeline', () => {
  it('create each Ortto audience once, at its first event, and add and remove its members', async () => {
    const p = await start()
    const sandbox = p.sandbox as Sandbox
    await send(p, '/v1/identify', engageIdentify('ada', VIP, true, { messageId: 'm-1' }))
    await send(p, '/v1/identify', engageIdentify('bob', CHURN, true, { messageId: 'm-2' }))
    await settled(p, 2)
    await send(p, '/v1/track', engageTrack('ada', VIP, false, { messageId: 'm-3' }))
    await send(p, '/v1/track', engageTrack('cy', VIP, true, { messageId: 'm-4' }))
    await send(p, '/v1/identify', engageIdentify('bob', CHURN, false, { messageId: 'm-5' }))
    await settled(p, 5)

    const { audiences, membership_history: history } = await audiencesOf(p)
    // Named by the Audience Name audience setting, else by the computation key; each created once.
    expect(audiences.map((a) => a.name)).toEqual(['VIP customers', 'churn_risk'])
    expect(requestsTo(sandbox, '/v1/audiences/create')).toBe(2)
    const [vip, churn] = audiences
    const contactId = (userId: string) => sandbox.snapshot().contacts.find((c) => c.user_id === userId)?.id
    expect(vip.member_ids).toEqual([contactId('cy')])
    expect(churn.member_ids).toEqual([])
    expect(history.map((h) => [h.message_id, h.audience_id, h.mode])).toEqual([
      ['m-1', vip.id, 'add'],
      ['m-2', churn.id, 'add'],
      ['m-3', vip.id, 'remove'],
      ['m-4', vip.id, 'add'],
      ['m-5', churn.id, 'remove']
    ])
    // The computation key is no contact trait; the other traits are.
    expect(sandbox.snapshot().contacts.find((c) => c.user_id === 'ada')?.traits).toEqual({
      email: 'ada@example.com',
      audience_key: 'vip_customers'
    })
    expect(p.audiences.size).toBe(2)
    expect(logLines).toContain(
      `[audiences] created the Ortto audience ${vip.id} for the Engage audience aud_vip (vip_customers)`
    )

    const outcomes = (await read(p, '/outcomes?messageId=m-3')) as { outcomes: unknown[] }
    expect(outcomes.outcomes).toEqual([
      expect.objectContaining({
        userId: 'ada',
        type: 'track',
        subscription: 'Sync Audience',
        partnerAction: 'syncAudience',
        outcome: 'delivered',
        status: 200,
        attempts: 1
      })
    ])
    // Ortto (Actions) saw none of them: no activity, and Engage's events were delivered once each.
    expect(sandbox.snapshot().activities).toEqual([])
    expect(p.delivery.status()).toMatchObject({ received: 5, delivered: 5, failed: 0, unsubscribed: 0 })
  })

  it('leave ordinary events to Ortto (Actions): no Sync Audience delivery, no failure', async () => {
    const p = await start()
    await send(p, '/v1/identify', { userId: 'ada', traits: { vip_customers: true } })
    await send(p, '/v1/track', { userId: 'ada', event: 'Audience Entered', properties: { vip_customers: true } })
    await settled(p, 2)
    const outcomes = (await read(p, '/outcomes?userId=ada')) as { outcomes: Array<{ partnerAction: string }> }
    expect(outcomes.outcomes.map((o) => o.partnerAction)).toEqual(['upsertContact', 'trackActivity'])
    expect(p.delivery.status()).toMatchObject({ delivered: 2, failed: 0 })
    expect((await audiencesOf(p)).audiences).toEqual([])
  })

  it('send an event that carries its own external_audience_id to that audience, creating none', async () => {
    const p = await start()
    const sandbox = p.sandbox as Sandbox
    const { id } = await createdAudience(p, 'Made elsewhere')
    const event = engageIdentify('ada', VIP, true)
    event.context.personas = { ...event.context.personas, external_audience_id: id } as typeof event.context.personas
    await send(p, '/v1/identify', event)
    await settled(p, 1)
    const { audiences } = await audiencesOf(p)
    expect(audiences.map((a) => [a.name, a.member_ids.length])).toEqual([['Made elsewhere', 1]])
    expect(requestsTo(sandbox, '/v1/audiences/create')).toBe(1)
  })

  it('fail, with the reason and a dead letter, an Engage event with no computation_id or of another class', async () => {
    const deadLetterFile = temp.file('dead.ndjson')
    const p = await start({ deadLetterFile })
    const noId = engageIdentify('ada', { computationId: '', key: 'vip' }, true, { messageId: 'no-id' })
    const trait = engageIdentify('bob', VIP, true, { messageId: 'trait' })
    trait.context.personas = { ...trait.context.personas, computation_class: 'computed_trait' }
    await send(p, '/v1/batch', { batch: [noId, trait].map((e) => ({ ...e, type: 'identify' })) })
    await settled(p, 2)

    const failed = (messageId: string) =>
      read(p, `/outcomes?messageId=${messageId}`).then((a) => (a as { outcomes: unknown[] }).outcomes)
    expect(await failed('no-id')).toEqual([
      expect.objectContaining({
        outcome: 'failed',
        status: 400,
        errortype: 'PAYLOAD_VALIDATION_FAILED',
        reason: expect.stringMatching(/^context\.personas\.computation_id is empty or not a string/),
        attempts: 1,
        deadLettered: true
      })
    ])
    // Another class is the destination's to refuse, and no audience is created for it.
    expect(await failed('trait')).toEqual([
      expect.objectContaining({
        outcome: 'failed',
        status: 400,
        reason: expect.stringMatching(/Segment Computation Action must be one of: "audience" or "journey_step"/)
      })
    ])
    expect((await audiencesOf(p)).audiences).toEqual([])
    const letters = readFileSync(deadLetterFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as object)
    expect(letters.map((l) => (l as { event: { messageId: string } }).event.messageId).sort()).toEqual([
      'no-id',
      'trait'
    ])
  })

  it('retry the events of an audience Ortto could not create, then deliver them', async () => {
    const p = await start({ maxAttempts: 50 })
    const sandbox = p.sandbox as Sandbox
    sandbox.setFaults({ failRate: 1 })
    await send(p, '/v1/identify', engageIdentify('ada', VIP, true, { messageId: 'm-1' }))
    await waitFor('a retry', () => p.delivery.status().retried >= 2)
    const pending = (await read(p, '/outcomes?messageId=m-1')) as { outcomes: Array<Record<string, unknown>> }
    expect(pending.outcomes).toEqual([
      expect.objectContaining({
        outcome: 'pending',
        reason: expect.stringMatching(
          /^createAudience could not create the Ortto audience of the Engage audience aud_vip: Could not create the Ortto audience "VIP customers": Ortto could not process the request \(50[023]\)/
        )
      })
    ])
    expect(sandbox.stats().byRoute['PUT /v1/audiences/members']).toBeUndefined()
    sandbox.setFaults({})
    await settled(p, 1)
    expect(p.delivery.status()).toMatchObject({ delivered: 1, failed: 0 })
    const { audiences } = await audiencesOf(p)
    expect(audiences.map((a) => a.name)).toEqual(['VIP customers'])
    expect(audiences[0].member_ids).toHaveLength(1)
  })

  it('fail the events of an audience that has no name, for good, with the reason', async () => {
    const p = await start()
    const nameless = { computationId: 'aud_x', key: ' ' }
    await send(p, '/v1/identify', engageIdentify('ada', nameless, true, { messageId: 'm-1' }))
    await settled(p, 1)
    const answer = (await read(p, '/outcomes?messageId=m-1')) as { outcomes: unknown[] }
    expect(answer.outcomes).toEqual([
      expect.objectContaining({
        outcome: 'failed',
        status: 400,
        errortype: 'PAYLOAD_VALIDATION_FAILED',
        reason:
          'createAudience could not create the Ortto audience of the Engage audience aud_x: ' +
          'The audience has no name: fill in the Audience Name audience field (the name the audience gets in Ortto).',
        attempts: 1
      })
    ])
  })

  it('after a refused key, send nothing more of the batch: the other audiences are not even created', async () => {
    // A stand-in that takes another key than the pipeline's.
    const sandbox = await startSandbox({ port: 0, acceptedKeys: [newSandboxApiKey()] })
    running.push(sandbox)
    const p = await start({ target: { kind: 'endpoint', url: sandbox.url }, maxAttempts: 1 })
    const events = [engageIdentify('ada', VIP, true), engageIdentify('bob', CHURN, true)]
    await send(p, '/v1/batch', { batch: events.map((e) => ({ ...e, type: 'identify' })) })
    await settled(p, 2)
    const reasons = p.delivery.status().recentFailures.map((f) => [f.status, f.errortype, f.reason])
    expect(reasons).toEqual([
      [401, 'INVALID_AUTHENTICATION', expect.stringMatching(/^createAudience could not create .* aud_vip: .*401/)],
      [401, 'INVALID_AUTHENTICATION', expect.stringMatching(/^Not sent: an audience request of this batch failed\. /)]
    ])
    expect(sandbox.stats().byRoute).toEqual({ 'POST /v1/audiences/create': 1 })
  })

  it('show in a dry run the audience delivery would create first, sending nothing', async () => {
    const p = await start()
    const sandbox = p.sandbox as Sandbox
    const plan = async () => {
      const answer = (await post(p.url, '/dry-run', { ...engageIdentify('ada', VIP, true), type: 'identify' })).json
      return (answer as { events: Array<{ subscriptions: Array<Record<string, unknown>> }> }).events[0].subscriptions
    }
    const [before] = await plan()
    expect(before).toMatchObject({
      subscription: 'Sync Audience',
      valid: true,
      audience: {
        computationId: 'aud_vip',
        first: {
          call: 'createAudience',
          audienceName: 'vip_customers',
          audienceSettings: { audienceName: 'VIP customers' }
        }
      },
      requests: [{ method: 'PUT', url: `${sandbox.url}/v1/audiences/members` }]
    })
    const body = (before.requests as Array<{ body: string }>)[0].body
    expect(JSON.parse(body)).toEqual([
      expect.objectContaining({ user_id: 'ada', audience: { mode: 'add', id: NOT_YET_CREATED } })
    ])
    expect(sandbox.stats().requests).toBe(0)

    await send(p, '/v1/identify', engageIdentify('ada', VIP, true))
    await settled(p, 1)
    const [id] = sandbox.snapshot().audiences.map((a) => a.id)
    const [after] = await plan()
    expect(after.audience).toEqual({ computationId: 'aud_vip', externalId: id })
  })

  it('check every remembered audience again after POST /sandbox/reset, and create it anew', async () => {
    const p = await start()
    const sandbox = p.sandbox as Sandbox
    await send(p, '/v1/identify', engageIdentify('ada', VIP, true))
    await settled(p, 1)
    const reset = await post(p.url, '/sandbox/reset', undefined)
    expect(reset.status).toBe(200)
    await send(p, '/v1/identify', engageIdentify('bob', VIP, true))
    await settled(p, 2)
    expect(p.delivery.status()).toMatchObject({ delivered: 2, failed: 0 })
    expect(sandbox.stats().byRoute).toMatchObject({ 'POST /v1/audiences/get': 1, 'POST /v1/audiences/create': 1 })
    const [vip] = sandbox.snapshot().audiences
    expect(vip.name).toBe('VIP customers')
    expect(logLines).toContainEqual(
      expect.stringMatching(/of the Engage audience aud_vip no longer exists; creating it again$/)
    )
  })
})

/** Creates an audience through the pipeline's own CLI route, as a tester would. */
async function createdAudience(p: Pipeline, audienceName: string): Promise<{ id: string }> {
  const answer = await post(p.url, '/ortto-audiences/createAudience', { audienceName })
  answers.push(answer)
  return { id: (answer.json as { externalId: string }).externalId }
}

describe('over a persisted sandbox (SANDBOX_DATA)', () => {
  it('keeps the ids beside the data file, and after a restart checks them with getAudience instead of creating', async () => {
    const dataFile = temp.file('sandbox.ndjson')
    const idsFile = audienceIdsFileFor(dataFile)
    const first = await start({ target: { kind: 'sandbox', port: 0, dataFile } })
    expect(first.audienceIdsFile).toBe(idsFile)
    await send(first, '/v1/identify', engageIdentify('ada', VIP, true))
    await settled(first, 1)
    const [{ id }] = (first.sandbox as Sandbox).snapshot().audiences
    await first.stop()
    running.splice(running.indexOf(first), 1)
    const saved = readFileSync(idsFile, 'utf8')
    expect(JSON.parse(saved)).toEqual({
      format: 'ortto-pipeline-audiences',
      version: 1,
      audiences: { aud_vip: { externalId: id, computationKey: 'vip_customers' } }
    })
    expect(saved).not.toContain(first.apiKey)

    const second = await start({ target: { kind: 'sandbox', port: 0, dataFile } })
    const sandbox = second.sandbox as Sandbox
    // One call, so one batch: one lookup and one members request.
    const batch = [engageTrack('ada', VIP, false), engageTrack('bob', VIP, true)].map((e) => ({ ...e, type: 'track' }))
    await send(second, '/v1/batch', { batch })
    await settled(second, 2)
    expect(sandbox.stats().byRoute).toMatchObject({ 'POST /v1/audiences/get': 1, 'PUT /v1/audiences/members': 1 })
    expect(sandbox.stats().byRoute['POST /v1/audiences/create']).toBeUndefined()
    const [vip] = sandbox.snapshot().audiences
    expect(vip.id).toBe(id)
    expect(vip.member_ids).toEqual([sandbox.snapshot().contacts.find((c) => c.user_id === 'bob')?.id])
  })

  it('creates again an audience its getAudience no longer finds (404), and remembers the new id', async () => {
    const dataFile = temp.file('sandbox.ndjson')
    const idsFile = audienceIdsFileFor(dataFile)
    const gone = { externalId: 'gone-123', computationKey: 'vip_customers' }
    writeFileSync(
      idsFile,
      JSON.stringify({ format: 'ortto-pipeline-audiences', version: 1, audiences: { aud_vip: gone } })
    )
    const p = await start({ target: { kind: 'sandbox', port: 0, dataFile } })
    await send(p, '/v1/identify', engageIdentify('ada', VIP, true))
    await settled(p, 1)
    const [vip] = (p.sandbox as Sandbox).snapshot().audiences
    expect(vip.member_ids).toHaveLength(1)
    expect(logLines).toContain(
      '[audiences] the Ortto audience gone-123 of the Engage audience aud_vip no longer exists; creating it again'
    )
    const remembered = JSON.parse(readFileSync(idsFile, 'utf8')) as {
      audiences: Record<string, { externalId: string }>
    }
    expect(remembered.audiences.aud_vip.externalId).toBe(vip.id)
  })

  it.each([
    ['not JSON', '{"format": '],
    ['of another format', JSON.stringify({ format: 'something', version: 1, audiences: {} })],
    ['without an id', JSON.stringify({ format: 'ortto-pipeline-audiences', version: 1, audiences: { a: {} } })]
  ])('refuses to start over an audience id file that is %s, saying what to do', async (_why, text) => {
    const dataFile = temp.file('sandbox.ndjson')
    writeFileSync(audienceIdsFileFor(dataFile), text)
    const starting = start({ target: { kind: 'sandbox', port: 0, dataFile } })
    await expect(starting).rejects.toBeInstanceOf(ConfigError)
    await expect(starting).rejects.toThrow(
      /^The audience id file .*sandbox\.ndjson\.audiences\.json .*; delete it to start afresh/
    )
  })
})

describe('createAudience and getAudience in the delivery queue', () => {
  /** A delivery queue over one sandbox with Sync Audience only, on a clock the test moves. */
  async function queue(faults: FaultOptions, batchSize?: number, requestsPerSecond?: number) {
    const sandbox = await startSandbox({ port: 0, faults })
    running.push(sandbox)
    process.env[LOCAL_ENDPOINT_ENV] = sandbox.url
    const settings = { api_key: newSandboxApiKey() }
    apiKeys.push(settings.api_key)
    const audiences = new EngageAudiences(audiencesDefinition, settings, (line) => logLines.push(line))
    const clock = new ManualClock()
    const delivery = new DeliveryPipeline({
      destinations: new Map([[ORTTO_AUDIENCES, new Destination(ORTTO_AUDIENCES.definition)]]),
      settings,
      subscriptions: presetSubscriptions(ORTTO_AUDIENCES),
      prepare: (_subscription, events, charge) => audiences.prepare(events, charge),
      batchSize,
      requestsPerSecond,
      clock,
      log: (line) => logLines.push(line)
    })
    running.push(delivery)
    return { sandbox, delivery, clock }
  }

  const event = (userId: string) =>
    ({ ...engageIdentify(userId, VIP, true), type: 'identify' }) as unknown as SegmentEvent

  it("holds the events of a rate-limited createAudience until Ortto's try-in-seconds has passed", async () => {
    const { sandbox, delivery, clock } = await queue({ rateLimitPerSecond: 0, retryAfterSeconds: 7 })
    await delivery.enqueue([event('ada')])
    await delivery.flush()
    const [held] = delivery.outcomesOf({ userId: 'ada' })
    expect(held).toMatchObject({ outcome: 'pending', status: 429, attempts: 1 })
    expect(Date.parse(held.nextTryAt as string) - clock.now()).toBeGreaterThanOrEqual(7_000)
    expect(logLines.at(-1)).toMatch(
      /^\[delivery\] syncAudience: 1 event — 0 delivered, 0 failed, 1 retryable: 429 rate limited, next try in [78](\.\d)? s$/
    )
    sandbox.setFaults({})
    await clock.advance(6_000)
    expect(sandbox.stats().byRoute['POST /v1/audiences/create']).toBe(1)
    await clock.advance(3_000)
    await delivery.flush()
    expect(delivery.status()).toMatchObject({ delivered: 1, pending: 0 })
  })

  it('charges createAudience to the key’s request budget: the next batch waits for the token it used', async () => {
    // Two requests a second: the first batch's createAudience and its own request take both.
    const { sandbox, delivery, clock } = await queue({}, undefined, 2)
    await delivery.enqueue([event('ada')])
    await delivery.flush()
    expect(delivery.status()).toMatchObject({ delivered: 1, pending: 0 })
    const requests = () => Object.values(sandbox.stats().byRoute).reduce((sum, n) => sum + n, 0)
    expect(sandbox.stats().byRoute['POST /v1/audiences/create']).toBe(1)
    expect(requests()).toBe(2)

    await delivery.enqueue([event('bob')])
    await delivery.flush()
    expect(delivery.status()).toMatchObject({ delivered: 1, pending: 1 })
    expect(requests()).toBe(2)
    await clock.advance(499)
    expect(requests()).toBe(2)
    await clock.advance(1)
    await delivery.flush()
    expect(delivery.status()).toMatchObject({ delivered: 2, pending: 0 })
    expect(requests()).toBe(3)
  })

  it('creates an audience once when batches of its events are sent at once', async () => {
    // Two batches of one event each, in flight together.
    const { sandbox, delivery } = await queue({}, 1)
    const sending = [delivery.enqueue([event('ada')]), delivery.enqueue([event('bob')])]
    await Promise.all(sending)
    await delivery.flush()
    expect(delivery.status()).toMatchObject({ delivered: 2, pending: 0 })
    expect(sandbox.stats().byRoute['POST /v1/audiences/create']).toBe(1)
  })

  it('gives a batch a retryable 500 when making its events ready throws, and loses none', async () => {
    const sandbox = await startSandbox({ port: 0 })
    running.push(sandbox)
    process.env[LOCAL_ENDPOINT_ENV] = sandbox.url
    const clock = new ManualClock()
    let throws = true
    const delivery = new DeliveryPipeline({
      destinations: new Map([[ORTTO_AUDIENCES, new Destination(ORTTO_AUDIENCES.definition)]]),
      settings: { api_key: newSandboxApiKey() },
      subscriptions: presetSubscriptions(ORTTO_AUDIENCES),
      prepare: (_subscription, events) =>
        throws
          ? Promise.reject(new Error('broken'))
          : Promise.resolve(events.map((e) => ({ notSent: { status: 400, reason: `refused ${String(e.userId)}` } }))),
      maxAttempts: 5,
      clock,
      log: (line) => logLines.push(line)
    })
    running.push(delivery)
    await delivery.enqueue([event('ada'), event('bob')])
    await delivery.flush()
    expect(delivery.outcomesOf({ userId: 'bob' })).toEqual([
      expect.objectContaining({
        outcome: 'pending',
        status: 500,
        reason: 'the pipeline could not make this event ready to send (broken)'
      })
    ])
    throws = false
    await clock.advance(60_000)
    await delivery.flush()
    expect(delivery.status()).toMatchObject({ received: 2, failed: 2, pending: 0 })
    // Each retry has its own jitter, so the two may come back in either order.
    expect(
      delivery
        .status()
        .recentFailures.map((f) => f.reason)
        .sort()
    ).toEqual(['refused ada', 'refused bob'])
  })
})
