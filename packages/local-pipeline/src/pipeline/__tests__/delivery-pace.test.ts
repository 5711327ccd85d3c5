/**
 * Delivery at Ortto's pace: several calls at once but never more than MAX_INFLIGHT, subscriptions
 * in turn, a request budget per API key (requests really made are charged), a 429 that pauses every
 * subscription of the key, retries that go out again in full batches, try-in-seconds capped, and a
 * backlog line that does not wait for a call in flight. Real Destination, a loopback stand-in whose
 * answers the test chooses, and a ManualClock: time moves only when the test moves it.
 */
import { Destination, type JSONObject, type SegmentEvent } from '@segment/actions-core'
import { ortto as definition, LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import { TEST_API_KEY } from '../../../../../test/helpers/http-client'
import { ManualClock } from '../../../test/helpers/manual-clock'
import { orttoStandIn, type OrttoStandIn, type StandInReply } from '../../../test/helpers/ortto-stand-in'
import { TEST_WRITE_KEY, get, post, waitFor } from '../../../test/helpers/pipeline-helpers'
import { identifyOf, numbers, trackOf } from '../../../test/helpers/numbered-events'
import { DeliveryPipeline, type DeliveryOptions } from '../delivery'
import { MAX_TRY_IN_SECONDS } from '../delivery/retry-policy'
import { ORTTO } from '../destinations'
import { startPipeline, type Pipeline } from '../index'
import { presetSubscriptions } from '../subscriptions'

let standIn: OrttoStandIn | undefined
let delivery: DeliveryPipeline | undefined
let pipeline: Pipeline | undefined
let clock: ManualClock
let logLines: string[]

beforeEach(() => {
  clock = new ManualClock()
  logLines = []
})

afterEach(async () => {
  jest.restoreAllMocks()
  standIn?.answerAllWith({ status: 200 })
  await delivery?.stop()
  await pipeline?.stop()
  await standIn?.close()
  standIn = delivery = pipeline = undefined
  delete process.env[LOCAL_ENDPOINT_ENV]
})

const identify = (n: number, traits: JSONObject = {}): SegmentEvent => identifyOf(n, traits)
const range = numbers

const RATE_LIMITED = (seconds: number): StandInReply => ({
  status: 429,
  body: { error: { code: 'rate-limit', message: 'rate limit', 'try-in-seconds': seconds } }
})

async function setup(
  answer: Parameters<typeof orttoStandIn>[0],
  options: Partial<Omit<DeliveryOptions, 'destinations' | 'subscriptions' | 'settings'>> = {}
) {
  standIn = await orttoStandIn(answer, () => clock.now())
  process.env[LOCAL_ENDPOINT_ENV] = standIn.url
  delivery = new DeliveryPipeline({
    destinations: new Map([[ORTTO, new Destination(definition)]]),
    settings: { api_key: TEST_API_KEY },
    subscriptions: presetSubscriptions(ORTTO),
    clock,
    log: (line) => logLines.push(line),
    requestsPerSecond: 1_000,
    ...options
  })
  return { standIn, delivery }
}

/** Arrival times by the manual clock, from when the test began. */
const arrivals = (stand: OrttoStandIn, start: number) => stand.requests.map((r) => r.at - start)

describe('calls in flight', () => {
  it('runs MAX_IN_FLIGHT calls at once and never more', async () => {
    const { standIn, delivery } = await setup(() => 'hold', { batchSize: 10, maxInFlight: 4 })
    // 20 full batches: the enqueue starts as many as may go.
    await delivery.enqueue(range(200).map((n) => identify(n)))
    await standIn.arrived(4)
    expect(standIn.open).toBe(4)
    // Each answer lets exactly one more go.
    for (let answered = 1; answered <= 16; answered++) {
      standIn.release(1)
      await standIn.arrived(4 + answered)
    }
    standIn.release()
    await delivery.flush()
    expect(delivery.status()).toMatchObject({ delivered: 200, pending: 0 })
    expect(standIn.requests).toHaveLength(20)
    expect(standIn.maxOpen).toBe(4)
    expect(standIn.requests.every((r) => r.objects === 10)).toBe(true)
  })

  it('runs fewer while calls fail whole: half as many after a round of time-outs, back up as calls get through', async () => {
    const { standIn, delivery } = await setup(() => 'hold', { batchSize: 10, maxInFlight: 8 })
    await delivery.enqueue(range(600).map((n) => identify(n)))
    await standIn.arrived(8)
    // The whole round fails: one halving for the round, not one per call.
    standIn.release(8, { status: 503 })
    await waitFor('the round to come back', () => delivery.status().retried === 80)
    expect(delivery.callsInFlight).toBe(4)
    // Each call that gets through is replaced, and widens the window by a quarter call, a fifth…:
    // 4 + 5 + 6 + 7 = 22 of them bring it back to 8.
    for (let answered = 1; answered <= 30; answered++) {
      await standIn.arrived(8 + 4 + answered - 1)
      standIn.release(1)
      await waitFor('the answer', () => delivery.status().delivered === answered * 10)
    }
    expect(delivery.callsInFlight).toBe(8)
    expect(standIn.maxOpen).toBe(8)
  })
})

describe('subscriptions', () => {
  it('take turns: with one call at a time, a batch of each in turn', async () => {
    const { standIn, delivery } = await setup(() => ({ status: 200 }), { batchSize: 10, maxInFlight: 1 })
    // Three batches of each; all the identify calls arrive first.
    await delivery.enqueue([...range(30).map((n) => identify(n)), ...range(30).map((n) => trackOf(n))])
    await delivery.flush()
    expect(standIn.requests.map((r) => r.path)).toEqual([
      '/v1/identify',
      '/v1/track',
      '/v1/identify',
      '/v1/track',
      '/v1/identify',
      '/v1/track'
    ])
  })
})

describe('the request budget of an API key', () => {
  it('lets ORTTO_REQUESTS_PER_SECOND requests go, one second of them at once', async () => {
    const start = clock.now()
    const { standIn, delivery } = await setup(() => ({ status: 200 }), { batchSize: 10, requestsPerSecond: 2 })
    await delivery.enqueue(range(100).map((n) => identify(n)))
    await delivery.flush()
    expect(arrivals(standIn, start)).toEqual([0, 0])
    await clock.advance(499)
    expect(standIn.requests).toHaveLength(2)
    await clock.advance(1)
    expect(arrivals(standIn, start)).toEqual([0, 0, 500])
    await clock.advance(3_500)
    expect(arrivals(standIn, start)).toEqual([0, 0, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000])
    expect(delivery.status()).toMatchObject({ delivered: 100, pending: 0 })
  })

  it('is charged for every request a call makes: a batch split in two costs two', async () => {
    const start = clock.now()
    const { standIn, delivery } = await setup(() => ({ status: 200 }), { requestsPerSecond: 1, maxInFlight: 1 })
    // 500 contacts of about 6 kB: over Ortto's 2 MB per request, so the destination splits them.
    const big = { a: 'a'.repeat(3_000), b: 'b'.repeat(3_000) }
    await delivery.enqueue([...range(500).map((n) => identify(n, big)), ...range(10).map((n) => identify(500 + n))])
    await delivery.flush()
    expect(standIn.requests.map((r) => [r.at - start, r.objects])).toEqual([
      [0, expect.any(Number)],
      [0, expect.any(Number)]
    ])
    expect(standIn.requests[0].objects + standIn.requests[1].objects).toBe(500)
    // The second batch waits for two seconds' worth of budget, not one.
    await clock.advance(1_999)
    expect(standIn.requests).toHaveLength(2)
    await clock.advance(1)
    expect(arrivals(standIn, start)).toEqual([0, 0, 2000])
  })

  it('is paused for every subscription by a 429, until its try-in-seconds has passed', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0)
    const start = clock.now()
    const { standIn, delivery } = await setup((_request, index) => (index === 0 ? RATE_LIMITED(3) : { status: 200 }), {
      batchSize: 10,
      maxInFlight: 1
    })
    await delivery.enqueue([...range(10).map((n) => identify(n)), ...range(10).map((n) => trackOf(n))])
    await delivery.flush()
    // The contacts were refused; the activities, of the same key, wait too.
    expect(standIn.requests.map((r) => r.path)).toEqual(['/v1/identify'])
    await clock.advance(2_999)
    expect(standIn.requests).toHaveLength(1)
    await clock.advance(1)
    await delivery.flush()
    expect(standIn.requests.map((r) => [r.path, r.at - start])).toEqual([
      ['/v1/identify', 0],
      ['/v1/track', 3000],
      ['/v1/identify', 3000]
    ])
    expect(delivery.status()).toMatchObject({ delivered: 20, retried: 10, pending: 0 })
  })
})

describe('retries', () => {
  it('go out again in full batches: 5,000 failed events are 10 requests again, not scraps', async () => {
    // Seeded spreads: each batch of retries gets its own.
    let seed = 7
    jest.spyOn(Math, 'random').mockImplementation(() => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646)
    let failing = true
    const { standIn, delivery } = await setup(() => (failing ? { status: 503 } : { status: 200 }), {
      baseBackoffMs: 500,
      maxBackoffMs: 500
    })
    await delivery.enqueue(range(5_000).map((n) => identify(n)))
    await delivery.flush()
    expect(standIn.requests).toHaveLength(10)
    failing = false
    for (let tick = 0; tick < 20 && delivery.status().pending > 0; tick++) await clock.advance(250)
    expect(delivery.status()).toMatchObject({ delivered: 5_000, retried: 5_000, failed: 0, pending: 0 })
    expect(standIn.requests.map((r) => r.objects)).toEqual(range(20).map(() => 500))
  })

  it(`wait at most ${MAX_TRY_IN_SECONDS} s whatever try-in-seconds says, and their next try is a date`, async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0)
    const start = clock.now()
    const { standIn, delivery } = await setup((_request, index) => (index === 0 ? RATE_LIMITED(1e13) : { status: 200 }))
    await delivery.enqueue([identify(1)])
    await delivery.flush()
    const [held] = delivery.outcomesOf({ messageId: 'm-identify-1' })
    expect(held).toMatchObject({ outcome: 'pending', status: 429, nextTryAt: new Date(start + 600_000).toISOString() })
    expect(logLines).toEqual([
      '[delivery] upsertContact: 1 event — 0 delivered, 0 failed, 1 retryable: 429 rate limited, next try in 600 s'
    ])
    await clock.advance(599_999)
    expect(standIn.requests).toHaveLength(1)
    await clock.advance(1)
    expect(delivery.status()).toMatchObject({ delivered: 1, pending: 0 })
  })

  it('GET /outcomes answers for a delivery held by try-in-seconds 1e13', async () => {
    standIn = await orttoStandIn((_request, index) => (index === 0 ? RATE_LIMITED(1e13) : { status: 200 }))
    pipeline = await startPipeline(
      {
        port: 0,
        target: { kind: 'endpoint', url: standIn.url },
        flushIntervalMs: 20,
        maxAttempts: 5,
        writeKey: TEST_WRITE_KEY
      },
      () => undefined
    )
    const running = pipeline
    expect((await post(running.url, '/v1/identify', { userId: 'ada', messageId: 'm-ada' })).status).toBe(200)
    await waitFor('the 429', () => running.delivery.status().retried === 1)
    const answer = await get(running.url, '/outcomes?messageId=m-ada')
    expect(answer.status).toBe(200)
    const [held] = (answer.json as { outcomes: Array<{ outcome: string; nextTryAt: string }> }).outcomes
    expect(held.outcome).toBe('pending')
    const wait = Date.parse(held.nextTryAt) - Date.now()
    expect(wait).toBeGreaterThan(500_000)
    expect(wait).toBeLessThanOrEqual(MAX_TRY_IN_SECONDS * 1.2 * 1000)
  })
})

describe('the backlog line', () => {
  it('comes every 5 s while a call is in flight, without waiting for it', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5)
    const answers: Array<StandInReply | 'hold'> = [{ status: 503 }, 'hold']
    const { standIn, delivery } = await setup((_request, index) => answers[index] ?? { status: 200 }, {
      batchSize: 5,
      flushIntervalMs: 1_000,
      baseBackoffMs: 20_000,
      maxBackoffMs: 20_000
    })
    // The first batch fails (retry in 20 s); the second is sent and never answered.
    await delivery.enqueue(range(5).map((n) => identify(n)))
    await delivery.flush()
    await delivery.enqueue(range(5).map((n) => identify(5 + n)))
    await standIn.arrived(2)
    await clock.advance(12_000)
    expect(logLines.slice(1)).toEqual([
      '[delivery] backlog: 5 events waiting, 1 request in flight, next try in 15 s',
      '[delivery] backlog: 5 events waiting, 1 request in flight, next try in 10 s'
    ])
    expect(standIn.open).toBe(1)
  })
})
