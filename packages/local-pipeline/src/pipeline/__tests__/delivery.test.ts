/**
 * DeliveryPipeline on its own: a real Destination, the presets' subscriptions, and an embedded
 * sandbox (behind a recording proxy, so request times can be checked) with injected faults.
 * Every event ends delivered, failed with a reason, or unsubscribed; nothing vanishes. Tests about
 * time (flush, back-off, rate-limit pauses) drive the pipeline with a ManualClock: time moves only
 * when the test moves it, and request times are read from that clock.
 */
import { readFileSync } from 'node:fs'
import { Destination, type JSONObject, type SegmentEvent } from '@segment/actions-core'
import { ortto as definition, LOCAL_ENDPOINT_ENV, type Settings } from 'actions-ortto'
import { startSandbox, type FaultOptions, type Sandbox } from 'ortto-sandbox'
import { TEST_API_KEY } from '../../../../../test/helpers/http-client'
import { DeliveryPipeline, PipelineBusyError, type DeliveryOptions, type FailureReport } from '../delivery'
import { ORTTO } from '../destinations'
import { presetSubscriptions } from '../subscriptions'
import { recordingProxy, tempDir, waitFor, type RecordingProxy } from '../../../test/helpers/pipeline-helpers'
import { echoStandIn } from '../../../test/helpers/echo-stand-in'
import { ManualClock } from '../../../test/helpers/manual-clock'
import { DeadLetterFile } from '../dead-letter'
import { heldAtStopLine } from '../delivery/delivery-log'
import type { DeadLetter } from '../dead-letter'

let sandbox: Sandbox | undefined
let proxy: RecordingProxy | undefined
let delivery: DeliveryPipeline | undefined
let destination: Destination<Settings>
let logLines: string[]

afterEach(async () => {
  jest.restoreAllMocks()
  sandbox?.setFaults({})
  await delivery?.stop()
  await proxy?.close()
  await sandbox?.stop()
  sandbox = proxy = delivery = undefined
  delete process.env[LOCAL_ENDPOINT_ENV]
})

interface Setup extends Partial<Omit<DeliveryOptions, 'destinations' | 'subscriptions'>> {
  faults?: FaultOptions
}

async function setup(options: Setup = {}) {
  const { faults, ...deliveryOptions } = options
  sandbox = await startSandbox({ port: 0, faults })
  const clock = deliveryOptions.clock
  proxy = await recordingProxy(sandbox, clock ? () => clock.now() : undefined)
  process.env[LOCAL_ENDPOINT_ENV] = proxy.url
  logLines = []
  destination = new Destination(definition)
  delivery = new DeliveryPipeline({
    destinations: new Map([[ORTTO, destination]]),
    settings: { api_key: TEST_API_KEY },
    subscriptions: presetSubscriptions(ORTTO),
    flushIntervalMs: 50,
    maxAttempts: 3,
    baseBackoffMs: 10,
    maxBackoffMs: 50,
    log: (line) => logLines.push(line),
    ...deliveryOptions
  })
  return { sandbox, proxy, delivery }
}

const TIMESTAMP = '2024-03-01T10:00:00.000Z'

const identify = (n: number | string, traits: JSONObject = {}): SegmentEvent => ({
  type: 'identify',
  userId: `user-${n}`,
  traits,
  messageId: `m-identify-${n}`,
  timestamp: TIMESTAMP,
  receivedAt: TIMESTAMP
})

const track = (n: number | string, properties: JSONObject = {}, extra: Partial<SegmentEvent> = {}) =>
  ({
    type: 'track',
    userId: `user-${n}`,
    event: 'Order Completed',
    properties,
    messageId: `m-track-${n}`,
    timestamp: TIMESTAMP,
    receivedAt: TIMESTAMP,
    ...extra
  }) as SegmentEvent

/** What actions-core calls each status the sandbox's injected failures answer with. */
const ERROR_CODES: Record<number, string> = {
  500: 'INTERNAL_SERVER_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE'
}

const range = (count: number) => Array.from({ length: count }, (_, i) => i)

/** Waits until every delivery has settled (delivered or failed) and nothing is held. */
const settled = (pipeline: DeliveryPipeline, count: number, timeoutMs = 10_000) =>
  waitFor(
    `${count} settled deliveries`,
    () => {
      const status = pipeline.status()
      return status.delivered + status.failed >= count && status.pending === 0 && status
    },
    timeoutMs
  )

describe('batching', () => {
  it('splits 1,200 identify events into requests of 500, 500 and 200', async () => {
    const { sandbox, delivery } = await setup()
    await delivery.enqueue(range(1200).map((n) => identify(n)))
    const status = await settled(delivery, 1200)
    expect(status).toEqual({
      received: 1200,
      restored: 0,
      unsubscribed: 0,
      delivered: 1200,
      failed: 0,
      retried: 0,
      pending: 0,
      recentFailures: []
    })
    expect(sandbox.stats()).toMatchObject({
      requests: 3,
      byRoute: { 'POST /v1/identify': 3 },
      objectsReceived: 1200,
      objectsAccepted: 1200
    })
    expect(sandbox.snapshot().contacts).toHaveLength(1200)
    expect(logLines).toEqual([
      '[delivery] upsertContact: 500 events — 500 delivered, 0 failed, 0 retryable',
      '[delivery] upsertContact: 500 events — 500 delivered, 0 failed, 0 retryable',
      '[delivery] upsertContact: 200 events — 200 delivered, 0 failed, 0 retryable'
    ])
    // actions-core keeps every response on the instance; the pipeline lets go of them.
    expect(destination.responses).toHaveLength(0)
  })

  it('sends a partial batch once flushIntervalMs has passed, not before', async () => {
    const clock = new ManualClock()
    const startedAt = clock.now()
    const { proxy, delivery } = await setup({ flushIntervalMs: 300, clock })
    await delivery.enqueue([identify(1), identify(2), track(3)])
    await clock.advance(299)
    expect(proxy.requests).toEqual([])
    expect(delivery.status().pending).toBe(3)

    await clock.advance(1)
    expect(delivery.status()).toMatchObject({ delivered: 3, pending: 0 })
    expect(proxy.requests.map((r) => [r.path, r.arrivedAt - startedAt]).sort()).toEqual([
      ['/v1/identify', 300],
      ['/v1/track', 300]
    ])
  })

  it('flush() sends partial batches at once', async () => {
    const { sandbox, delivery } = await setup({ flushIntervalMs: 60_000 })
    await delivery.enqueue([identify(1), track(1, { total: 5 })])
    await delivery.flush()
    expect(delivery.status()).toMatchObject({ delivered: 2, failed: 0, pending: 0 })
    expect(sandbox.snapshot().activities.map((a) => [a.event, a.properties])).toEqual([
      ['Order Completed', { total: 5 }]
    ])
    expect(destination.responses).toHaveLength(0)
  })
})

describe('retries', () => {
  it("honours a 429's try-in-seconds: no request before it elapsed, then everything delivered", async () => {
    // Back-off without its spread, so the retries' times (and the log line) are exact.
    jest.spyOn(Math, 'random').mockReturnValue(0)
    const clock = new ManualClock()
    const { sandbox, proxy, delivery } = await setup({
      // Every request refused (a limit of 0 per second) until the test lifts it.
      faults: { rateLimitPerSecond: 0, retryAfterSeconds: 1 },
      batchSize: 10,
      flushIntervalMs: 20,
      maxAttempts: 10,
      // One call at a time, so the first 429 holds back the other two batches.
      maxInFlight: 1,
      clock
    })
    await delivery.enqueue(range(30).map((n) => identify(n)))
    await delivery.flush()
    expect(proxy.requests.map((r) => r.status)).toEqual([429])
    expect(logLines).toEqual([
      '[delivery] upsertContact: 10 events — 0 delivered, 0 failed, 10 retryable: 429 rate limited, next try in 1 s'
    ])
    sandbox.setFaults({})

    await clock.advance(999)
    expect(proxy.requests).toHaveLength(1)
    await clock.advance(1)
    const status = await settled(delivery, 30)
    expect(status).toMatchObject({
      received: 30,
      delivered: 30,
      failed: 0,
      retried: 10,
      pending: 0,
      recentFailures: []
    })
    expect(sandbox.snapshot().contacts).toHaveLength(30)
    const [limited, ...after] = proxy.requests
    expect(after.map((r) => r.status)).toEqual([200, 200, 200])
    for (const request of after) expect(request.arrivedAt - (limited.finishedAt as number)).toBe(1000)
    // Every refused object was retried, and only those.
    const stats = sandbox.stats()
    expect(status.retried).toBe(stats.objectsReceived - stats.objectsAccepted)
  })

  it('delivers everything despite half the requests failing (seeded), and the counts add up', async () => {
    const { sandbox, delivery } = await setup({
      faults: { failRate: 0.5, seed: 7 },
      batchSize: 10,
      flushIntervalMs: 20,
      maxAttempts: 20
    })
    const events = [...range(60).map((n) => identify(n)), ...range(40).map((n) => track(n))]
    await delivery.enqueue(events)
    const status = await settled(delivery, 100, 20_000)
    expect(status).toMatchObject({ received: 100, unsubscribed: 0, delivered: 100, failed: 0, pending: 0 })
    const stats = sandbox.stats()
    expect(stats.faultsInjected.fail).toBeGreaterThan(0)
    expect(status.retried).toBeGreaterThan(0)
    expect(status.retried).toBe(stats.objectsReceived - stats.objectsAccepted)
    expect(stats.objectsAccepted).toBe(100)
    expect(sandbox.snapshot().contacts).toHaveLength(60)
    expect(sandbox.snapshot().activities).toHaveLength(40)
    expect(destination.responses).toHaveLength(0)
  })

  it('fails a delivery with the last reason once maxAttempts is reached', async () => {
    const { proxy, delivery } = await setup({ faults: { failRate: 1, seed: 3 }, maxAttempts: 3 })
    await delivery.enqueue([identify('doomed')])
    const status = await settled(delivery, 1)
    expect(proxy.requests).toHaveLength(3)
    const last = proxy.requests[2].status as number
    expect([500, 502, 503]).toContain(last)
    expect(status).toEqual({
      received: 1,
      restored: 0,
      unsubscribed: 0,
      delivered: 0,
      failed: 1,
      retried: 2,
      pending: 0,
      recentFailures: [
        {
          messageId: 'm-identify-doomed',
          type: 'identify',
          subscription: 'Upsert Contact',
          status: last,
          errortype: ERROR_CODES[last],
          reason: `Ortto could not process the request (${last}): injected failure: nothing was applied.`,
          attempts: 3
        }
      ]
    })
    expect(logLines.at(-1)).toBe(
      `[delivery] upsertContact: 1 event — 0 delivered, 1 failed (e.g. ${last} Ortto could not process the request (${last}): injected failure: nothing was applied.), 0 retryable`
    )
  })

  it('waits longer between attempts (back-off), within its spread', async () => {
    const clock = new ManualClock()
    const { proxy, delivery } = await setup({
      faults: { failRate: 1 },
      maxAttempts: 4,
      baseBackoffMs: 100,
      maxBackoffMs: 1000,
      flushIntervalMs: 10,
      clock
    })
    await delivery.enqueue([identify('slow')])
    for (let tick = 0; tick < 200 && delivery.status().pending > 0; tick++) await clock.advance(10)
    expect(delivery.status()).toMatchObject({ failed: 1, retried: 3, pending: 0 })
    const arrivals = proxy.requests.map((r) => r.arrivedAt)
    expect(arrivals).toHaveLength(4)
    const gaps = arrivals.slice(1).map((t, i) => t - (proxy.requests[i].finishedAt as number))
    // 100, 200, 400 ms ± 20 %, sent at the first flush tick once due (ticks are 10 ms apart).
    const within = gaps.map((gap, i) => {
      const base = 100 * 2 ** i
      return gap >= base * 0.8 && gap <= base * 1.2 + 10
    })
    expect([gaps, within]).toEqual([gaps, [true, true, true]])
  })
})

describe('requestTimeoutMs', () => {
  it('cuts a slow answer short and retries; what never answers in time ends failed with a time-out', async () => {
    const { proxy, delivery } = await setup({
      faults: { slowRate: 1, slowMs: 2000 },
      requestTimeoutMs: 200,
      maxAttempts: 2
    })
    await delivery.enqueue([identify('slow')])
    const status = await settled(delivery, 1)
    // Answered in time (2 s), each attempt would have been delivered: the 408s are the deadline's.
    expect(proxy.requests).toHaveLength(2)
    expect(status).toMatchObject({ delivered: 0, failed: 1, retried: 1, pending: 0 })
    expect(status.recentFailures).toEqual([
      {
        messageId: 'm-identify-slow',
        type: 'identify',
        subscription: 'Upsert Contact',
        status: 408,
        errortype: 'REQUEST_TIMEOUT',
        reason: 'No answer from Ortto in time: REQUESTTIMEOUTERROR Request timed out before receiving a response.',
        attempts: 2
      }
    ])
  })
})

describe('failures that are final at once', () => {
  it('fails an event the sandbox rejects per object (a 5,000-character trait) with the reason, not retried', async () => {
    const observed: FailureReport[] = []
    const clock = new ManualClock()
    const { sandbox, proxy, delivery } = await setup({ onFailure: (report) => observed.push(report), clock })
    await delivery.enqueue([identify(1), identify('long', { bio: 'b'.repeat(5000) }), identify(3)])
    await delivery.flush()
    // Far past any back-off: a retry, had one been scheduled, would have gone by now.
    await clock.advance(60_000)
    const status = delivery.status()
    expect(status).toEqual({
      received: 3,
      restored: 0,
      unsubscribed: 0,
      delivered: 2,
      failed: 1,
      retried: 0,
      pending: 0,
      recentFailures: [
        {
          messageId: 'm-identify-long',
          type: 'identify',
          subscription: 'Upsert Contact',
          status: 400,
          errortype: 'BAD_REQUEST',
          reason:
            'Ortto rejected this event (400): traits.bio is 5000 characters long; text fields take at most 4000 characters',
          attempts: 1
        }
      ]
    })
    expect(observed).toEqual(status.recentFailures)
    expect(proxy.requests).toHaveLength(1)
    expect(sandbox.snapshot().contacts.map((c) => c.user_id)).toEqual(['user-1', 'user-3'])
    expect(logLines).toEqual([
      '[delivery] upsertContact: 3 events — 2 delivered, 1 failed (e.g. 400 Ortto rejected this event (400): ' +
        'traits.bio is 5000 characters long; text fields take at most 4000 characters), 0 retryable'
    ])
  })

  it('records a failure once even when the onFailure hook throws, and goes on delivering', async () => {
    const { proxy, delivery } = await setup({
      onFailure: () => {
        throw new Error('hook broken')
      }
    })
    await delivery.enqueue([identify('long', { bio: 'b'.repeat(5000) }), identify(2)])
    await delivery.flush()
    expect(delivery.status()).toMatchObject({ delivered: 1, failed: 1, retried: 0, pending: 0 })
    expect(logLines).toContain('[delivery] the onFailure hook threw: Error: hook broken')
    expect(proxy.requests).toHaveLength(1)
  })

  it('fails an activity over 16 kB (per-object 413), not retried', async () => {
    const clock = new ManualClock()
    const { proxy, delivery } = await setup({ clock })
    const properties = Object.fromEntries(range(5).map((i) => [`p${i}`, 'x'.repeat(3500)]))
    await delivery.enqueue([track('huge', properties), track('small')])
    await delivery.flush()
    await clock.advance(60_000)
    const status = delivery.status()
    expect(status).toMatchObject({ delivered: 1, failed: 1, retried: 0, pending: 0 })
    expect(status.recentFailures).toEqual([
      expect.objectContaining({ messageId: 'm-track-huge', status: 413, errortype: 'PAYLOAD_TOO_LARGE', attempts: 1 })
    ])
    expect(status.recentFailures[0].reason).toMatch(/^Ortto rejected this event \(413\): activity is \d+ bytes of JSON/)
    expect(proxy.requests).toHaveLength(1)
  })

  it('fails every event at once for a malformed API key: nothing sent, not retried, key not quoted', async () => {
    const clock = new ManualClock()
    const { proxy, delivery } = await setup({ settings: { api_key: 'Xau-malformed-secret' }, clock })
    await delivery.enqueue([identify(1), track(2)])
    await delivery.flush()
    await clock.advance(60_000)
    const status = delivery.status()
    expect(status).toMatchObject({ delivered: 0, failed: 2, retried: 0, pending: 0 })
    expect(status.recentFailures.map((f) => [f.status, f.errortype])).toEqual([
      [401, 'INVALID_AUTHENTICATION'],
      [401, 'INVALID_AUTHENTICATION']
    ])
    expect(JSON.stringify(status)).not.toContain('Xau-malformed-secret')
    expect(logLines.join('\n')).not.toContain('Xau-malformed-secret')
    expect(proxy.requests).toEqual([])
  })

  it('acknowledges an activity from namespace ortto.com as delivered without sending it', async () => {
    const { proxy, delivery } = await setup()
    await delivery.enqueue([track('loop', {}, { context: { app: { namespace: 'ortto.com' } } })])
    await delivery.flush()
    expect(delivery.status()).toMatchObject({ delivered: 1, failed: 0, pending: 0 })
    expect(proxy.requests).toEqual([])
  })
})

describe('what is not delivered is still counted', () => {
  it('counts a page call (no subscription matches it) as unsubscribed, not failed', async () => {
    const { proxy, delivery } = await setup()
    const page = { ...identify('p'), type: 'page', name: 'Home' } as SegmentEvent
    expect(await delivery.enqueue([page, identify('i')])).toEqual({ accepted: 2, unsubscribed: 1 })
    await delivery.flush()
    expect(delivery.status()).toEqual({
      received: 2,
      restored: 0,
      unsubscribed: 1,
      delivered: 1,
      failed: 0,
      retried: 0,
      pending: 0,
      recentFailures: []
    })
    expect(proxy.requests.map((r) => r.path)).toEqual(['/v1/identify'])
  })

  it('throws PipelineBusyError past maxPending and takes nothing of that call', async () => {
    const { delivery } = await setup({ maxPending: 5, flushIntervalMs: 60_000 })
    await expect(delivery.enqueue(range(6).map((n) => identify(n)))).rejects.toThrow(new PipelineBusyError(0).message)
    expect(await delivery.enqueue(range(5).map((n) => identify(n)))).toEqual({ accepted: 5, unsubscribed: 0 })
    let thrown: unknown
    try {
      await delivery.enqueue([identify('one-too-many')])
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(PipelineBusyError)
    expect((thrown as Error).message).toBe(
      'The pipeline already holds 5 deliveries waiting for Ortto; try again shortly.'
    )
    expect(delivery.status()).toMatchObject({ received: 5, pending: 5 })
    await delivery.flush()
    expect(delivery.status()).toMatchObject({ delivered: 5, pending: 0 })
    expect(await delivery.enqueue([identify('room-again')])).toEqual({ accepted: 1, unsubscribed: 0 })
  })
})

describe('stop()', () => {
  it('delivers the events it holds before returning the totals', async () => {
    // A clock that never moves: nothing is sent but what stop() sends.
    const { sandbox, proxy, delivery } = await setup({ clock: new ManualClock() })
    await delivery.enqueue([identify(1), identify(2), identify(3), track(1), track(2)])
    expect(proxy.requests).toEqual([])
    expect(delivery.status().pending).toBe(5)
    const totals = await delivery.stop()
    expect(totals).toEqual({
      received: 5,
      restored: 0,
      unsubscribed: 0,
      delivered: 5,
      failed: 0,
      retried: 0,
      pending: 0,
      recentFailures: []
    })
    expect(sandbox.snapshot().contacts.map((c) => c.user_id)).toEqual(['user-1', 'user-2', 'user-3'])
    expect(sandbox.snapshot().activities).toHaveLength(2)
  })

  it('cuts a waiting retry short and delivers it', async () => {
    // The clock never moves, so the retry (a minute away) can only go because stop() cut it short.
    const { sandbox, proxy, delivery } = await setup({
      faults: { failRate: 1 },
      maxAttempts: 5,
      baseBackoffMs: 60_000,
      maxBackoffMs: 60_000,
      clock: new ManualClock()
    })
    await delivery.enqueue([identify('retry-me')])
    await delivery.flush()
    expect(delivery.status()).toMatchObject({ retried: 1, pending: 1, delivered: 0 })
    sandbox.setFaults({})
    const totals = await delivery.stop()
    expect(proxy.requests).toHaveLength(2)
    expect(totals).toMatchObject({ delivered: 1, failed: 0, pending: 0 })
    expect(sandbox.snapshot().contacts.map((c) => c.user_id)).toEqual(['user-retry-me'])
  })

  it('ends a rate-limited shutdown with every event failed with a reason, nothing pending', async () => {
    // Every request is refused (a limit of 0 per second), so the outcome does not depend on timing.
    const { sandbox, delivery } = await setup({
      faults: { rateLimitPerSecond: 0, retryAfterSeconds: 5 },
      batchSize: 10,
      flushIntervalMs: 60_000
    })
    await delivery.enqueue(range(30).map((n) => identify(n)))
    const totals = await delivery.stop()
    expect(sandbox.snapshot().contacts).toEqual([])
    expect(totals).toMatchObject({ received: 30, delivered: 0, failed: 30, pending: 0 })
    expect(totals.recentFailures).toHaveLength(30)
    expect(new Set(totals.recentFailures.map((f) => f.status))).toEqual(new Set([429]))
  })

  it('counts what still fails at shutdown as failed, leaving nothing pending', async () => {
    // A long back-off, so no retry falls due during stop's last pass: the outcome does not depend on timing.
    const { proxy, delivery } = await setup({
      faults: { failRate: 1 },
      flushIntervalMs: 60_000,
      maxAttempts: 3,
      baseBackoffMs: 60_000,
      maxBackoffMs: 60_000
    })
    await delivery.enqueue([identify('never-sent-before-stop'), track('never-sent-before-stop')])
    const totals = await delivery.stop()
    expect(proxy.requests.length).toBeGreaterThan(0)
    expect(totals).toMatchObject({ received: 2, delivered: 0, failed: 2, pending: 0 })
    expect(totals.recentFailures).toHaveLength(2)
  })
})

/** An array nested `depth` deep: at 3,000, actions-core overflows its stack on the event. */
function nestedArray(depth: number): unknown {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = [value]
  return value
}

const deadLettersIn = (file: string): DeadLetter[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as DeadLetter)

describe('an event the destination cannot process', () => {
  it('fails alone, at once and for good, while its neighbours are delivered in the first round', async () => {
    const { sandbox, delivery } = await setup({ batchSize: 10, flushIntervalMs: 20 })
    const poison = identify('poison', { deep: nestedArray(3_000) as JSONObject })
    const events = [...range(4).map((n) => identify(n)), poison, ...range(5).map((n) => identify(n + 4))]
    await delivery.enqueue(events)
    const status = await settled(delivery, 10)
    expect(status).toMatchObject({ received: 10, delivered: 9, failed: 1, retried: 0, pending: 0 })
    expect(status.recentFailures).toEqual([
      {
        messageId: 'm-identify-poison',
        type: 'identify',
        subscription: 'Upsert Contact',
        status: 400,
        reason: 'the destination could not process this event (Maximum call stack size exceeded); it is not retried',
        attempts: 1
      }
    ])
    expect(
      sandbox
        .snapshot()
        .contacts.map((c) => c.user_id)
        .sort()
    ).toEqual(
      range(9)
        .map((n) => `user-${n}`)
        .sort()
    )
  })

  it('is found by splitting the batch: the other events are each sent once', async () => {
    const { sandbox, delivery } = await setup({ batchSize: 8, flushIntervalMs: 20 })
    const poison = track('poison', { deep: nestedArray(3_000) as JSONObject })
    await delivery.enqueue([...range(3).map((n) => track(n)), poison, ...range(4).map((n) => track(n + 3))])
    await settled(delivery, 8)
    const stats = sandbox.stats()
    expect(stats.objectsReceived).toBe(7)
    expect(sandbox.snapshot().activities).toHaveLength(7)
  })

  it('keeps treating a time-out as Ortto being slow: the whole batch is retried', async () => {
    const { sandbox, delivery } = await setup({
      faults: { slowRate: 1, slowMs: 400, seed: 1 },
      requestTimeoutMs: 100,
      maxAttempts: 2,
      batchSize: 5,
      flushIntervalMs: 20
    })
    await delivery.enqueue(range(5).map((n) => identify(n)))
    const status = await settled(delivery, 5)
    sandbox.setFaults({})
    expect(status.retried).toBe(5)
    expect(status.recentFailures.every((f) => f.status !== 400)).toBe(true)
  })
})

describe('the dead-letter file', () => {
  let temp: ReturnType<typeof tempDir>
  beforeEach(() => {
    temp = tempDir('dead-letter-')
  })
  afterEach(() => temp.remove())

  const deadLetter = () => new DeadLetterFile(temp.file('dead.ndjson'), TEST_API_KEY)

  it('holds every event that ends failed, with its reason and the event itself, ready to send again', async () => {
    const file = deadLetter()
    const { delivery } = await setup({ batchSize: 10, flushIntervalMs: 20, deadLetter: file })
    const tooLong = track('too-long', { note: 'x'.repeat(5_000) })
    await delivery.enqueue([identify(1), tooLong])
    await settled(delivery, 2)
    const letters = deadLettersIn(file.file)
    expect(letters).toEqual([
      {
        failedAt: expect.any(String) as unknown,
        subscription: 'Track Activity',
        partnerAction: 'trackActivity',
        status: 400,
        errortype: 'BAD_REQUEST',
        reason: expect.stringMatching(/^Ortto rejected this event \(400\)/) as unknown,
        attempts: 1,
        event: JSON.parse(JSON.stringify(tooLong)) as unknown
      }
    ])
    expect(file.written).toBe(1)
  })

  it('holds what ran out of retries and what was still held at stop, with why', async () => {
    const file = deadLetter()
    const { delivery } = await setup({
      faults: { failRate: 1 },
      flushIntervalMs: 60_000,
      maxAttempts: 2,
      baseBackoffMs: 60_000,
      maxBackoffMs: 60_000,
      deadLetter: file
    })
    await delivery.enqueue([identify('a'), track('b')])
    await delivery.stop()
    const letters = deadLettersIn(file.file)
    expect(letters.map((l) => [l.event.messageId, l.status >= 500])).toEqual([
      ['m-identify-a', true],
      ['m-track-b', true]
    ])
  })

  it('abandon() ends everything held at once, each event written with why, and says how many', async () => {
    const file = deadLetter()
    const { delivery } = await setup({ flushIntervalMs: 60_000, deadLetter: file })
    await delivery.enqueue([identify(1), identify(2), track(3)])
    const count = delivery.abandon('abandoned: a second Ctrl+C stopped the pipeline')
    expect(count).toBe(3)
    expect(delivery.status()).toMatchObject({ failed: 3, pending: 0 })
    const letters = deadLettersIn(file.file)
    expect(letters.map((l) => l.event.messageId).sort()).toEqual(['m-identify-1', 'm-identify-2', 'm-track-3'])
    for (const letter of letters) {
      expect(letter).toMatchObject({
        status: 503,
        reason: 'abandoned: a second Ctrl+C stopped the pipeline; it was never sent'
      })
    }
  })

  it('refuses a path it cannot write before anything fails', () => {
    expect(() => new DeadLetterFile(temp.dir, TEST_API_KEY).checkWritable()).toThrow(/is a folder/)
    expect(() => new DeadLetterFile(temp.file('missing/dead.ndjson'), TEST_API_KEY).checkWritable()).toThrow(
      /DEAD_LETTER_FILE .* cannot be written .*; choose a writable path\./
    )
  })
})

describe('the API key', () => {
  it('is in no failure report, log line or dead letter, even when Ortto echoes it in every answer', async () => {
    // Ortto refuses the first event of each request, quoting the key, and the second request whole.
    let requests = 0
    const standIn = await echoStandIn((authorization) =>
      ++requests % 2 === 1
        ? { status: 207, body: { errors: [{ index: 0, status: 400, message: `not for ${authorization}` }] } }
        : { status: 400, body: { error: { message: `refused ${authorization}` } } }
    )
    const temp = tempDir('echo-')
    try {
      process.env[LOCAL_ENDPOINT_ENV] = standIn.url
      const file = new DeadLetterFile(temp.file('dead.ndjson'), TEST_API_KEY)
      const reports: FailureReport[] = []
      const lines: string[] = []
      const echoing = new DeliveryPipeline({
        destinations: new Map([[ORTTO, new Destination(definition)]]),
        settings: { api_key: TEST_API_KEY },
        subscriptions: presetSubscriptions(ORTTO),
        flushIntervalMs: 20,
        maxAttempts: 1,
        deadLetter: file,
        onFailure: (report) => reports.push(report),
        log: (line) => lines.push(line)
      })
      await echoing.enqueue([identify(1), track(2)])
      const status = await echoing.stop()
      const everything = JSON.stringify([status, reports, lines]) + readFileSync(file.file, 'utf8')
      expect(status).toMatchObject({ delivered: 0, failed: 2 })
      expect(reports.map((r) => r.reason).join(' ')).toMatch(/not for Bearer «redacted».*refused Bearer «redacted»/)
      expect(everything).not.toContain(TEST_API_KEY)
      expect(everything).not.toContain(TEST_API_KEY.slice(4))
    } finally {
      await standIn.close()
      temp.remove()
    }
  })
})

describe('log lines', () => {
  it('say why deliveries are retryable, grouped by status, and when the next try is', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0)
    // Ortto refuses the first three objects of the first request with different retryable statuses.
    let requests = 0
    const standIn = await echoStandIn(() =>
      ++requests === 1
        ? {
            status: 207,
            body: {
              errors: [
                { index: 0, status: 503, message: 'busy' },
                { index: 1, status: 408, message: 'slow' },
                { index: 2, status: 503, message: 'busy' }
              ]
            }
          }
        : { status: 200, body: {} }
    )
    try {
      process.env[LOCAL_ENDPOINT_ENV] = standIn.url
      const lines: string[] = []
      delivery = new DeliveryPipeline({
        destinations: new Map([[ORTTO, new Destination(definition)]]),
        settings: { api_key: TEST_API_KEY },
        subscriptions: presetSubscriptions(ORTTO),
        baseBackoffMs: 2_000,
        clock: new ManualClock(),
        log: (line) => lines.push(line)
      })
      await delivery.enqueue([identify(1), identify(2), identify(3), identify(4)])
      await delivery.flush()
      expect(lines).toEqual([
        '[delivery] upsertContact: 4 events — 1 delivered, 0 failed, 3 retryable: 2 × 503 service unavailable, ' +
          '1 × 408 request timeout, next try in 1.6 s'
      ])
    } finally {
      await delivery?.stop()
      await standIn.close()
    }
  })

  it('write a backlog line every few seconds while deliveries wait, and none once they are done', async () => {
    // Back-off without its spread: the one retry is due exactly 20 s after the first attempt.
    jest.spyOn(Math, 'random').mockReturnValue(0.5)
    const clock = new ManualClock()
    const { sandbox, delivery } = await setup({
      faults: { failRate: 1, seed: 1 },
      flushIntervalMs: 1_000,
      baseBackoffMs: 20_000,
      maxBackoffMs: 20_000,
      backlogEveryMs: 5_000,
      clock
    })
    await delivery.enqueue([identify('waits')])
    await clock.advance(1_000)
    expect(logLines).toEqual([
      expect.stringMatching(
        /^\[delivery\] upsertContact: 1 event — 0 delivered, 0 failed, 1 retryable: 50\d [a-z ]+, next try in 20 s$/
      )
    ])
    await clock.advance(15_000)
    expect(logLines.slice(1)).toEqual([
      '[delivery] backlog: 1 event waiting, next try in 15 s',
      '[delivery] backlog: 1 event waiting, next try in 10 s',
      '[delivery] backlog: 1 event waiting, next try in 5 s'
    ])

    // Two more fail at 17 s (next try at 37 s); Ortto comes back, and the first retry (21 s) is delivered.
    await delivery.enqueue([identify('second'), track('third')])
    await clock.advance(1_000)
    sandbox.setFaults({})
    await clock.advance(4_000)
    // The two went out together, so their lines come in either order.
    expect(logLines.slice(4, 6).sort()).toEqual([
      expect.stringMatching(/^\[delivery\] trackActivity: 1 event — 0 delivered, 0 failed, 1 retryable: /),
      expect.stringMatching(/^\[delivery\] upsertContact: 1 event — 0 delivered, 0 failed, 1 retryable: /)
    ])
    // The backlog line is due (5 s after the last) while the retry is in flight: it does not wait for it.
    expect(logLines.slice(6)).toEqual([
      '[delivery] backlog: 2 events waiting (upsertContact 1, trackActivity 1), 1 request in flight, next try in 16 s',
      '[delivery] upsertContact: 1 event — 1 delivered, 0 failed, 0 retryable'
    ])
    for (let tick = 0; tick < 60 && delivery.status().pending > 0; tick++) await clock.advance(1_000)
    expect(delivery.status()).toMatchObject({ delivered: 3, failed: 0, pending: 0 })
    const linesWhenDone = logLines.length
    await clock.advance(30_000)
    expect(logLines).toHaveLength(linesWhenDone)
    expect(logLines.filter((line) => line.includes('backlog')).slice(4)).toEqual([
      '[delivery] backlog: 2 events waiting (upsertContact 1, trackActivity 1), next try in 11 s',
      '[delivery] backlog: 2 events waiting (upsertContact 1, trackActivity 1), next try in 6 s',
      '[delivery] backlog: 2 events waiting (upsertContact 1, trackActivity 1), next try in 1 s'
    ])
  })

  it('count in the singular for one and the plural otherwise, down to the shutdown line', async () => {
    const { delivery } = await setup({
      faults: { rateLimitPerSecond: 0, retryAfterSeconds: 5 },
      batchSize: 1,
      maxInFlight: 1,
      clock: new ManualClock()
    })
    await delivery.enqueue([identify('a'), identify('b')])
    await delivery.stop()
    // Without a spool, what is held at stop ends failed (a 429 pauses the second one: it is never sent).
    expect(logLines).toEqual([
      expect.stringMatching(
        /^\[delivery\] upsertContact: 1 event — 0 delivered, 0 failed, 1 retryable: 429 rate limited, next try in [56](\.\d)? s$/
      ),
      '[delivery] 2 deliveries were not delivered before shutdown (no spool): each failed with why'
    ])
    expect(heldAtStopLine(1, 'ortto-spool')).toBe(
      '[delivery] 1 delivery not delivered yet stays in the spool (ortto-spool) for the next start'
    )
    expect(new PipelineBusyError(1).message).toBe(
      'The pipeline already holds 1 delivery waiting for Ortto; try again shortly.'
    )
  })
})

describe('outcomesOf', () => {
  let temp: ReturnType<typeof tempDir>
  beforeEach(() => {
    temp = tempDir('outcomes-')
  })
  afterEach(() => temp.remove())

  it('finds every outcome of an event, by messageId and by userId: delivered, failed, pending, unsubscribed, abandoned', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.5)
    const clock = new ManualClock()
    const startedAt = clock.now()
    const iso = (ms: number) => new Date(startedAt + ms).toISOString()
    const { sandbox, delivery } = await setup({
      deadLetter: new DeadLetterFile(temp.file('dead.ndjson'), TEST_API_KEY),
      baseBackoffMs: 4_000,
      maxBackoffMs: 4_000,
      clock
    })
    const page = { ...identify('ada'), type: 'page', name: 'Home', messageId: 'm-page-ada' } as SegmentEvent
    await delivery.enqueue([identify('ada'), identify('long', { bio: 'b'.repeat(5000) }), page])
    await clock.advance(50)
    sandbox.setFaults({ failRate: 1, seed: 2 })
    await delivery.enqueue([track('ada')])
    await clock.advance(50)

    expect(delivery.outcomesOf({ messageId: 'm-identify-ada' })).toEqual([
      {
        messageId: 'm-identify-ada',
        userId: 'user-ada',
        type: 'identify',
        subscription: 'Upsert Contact',
        partnerAction: 'upsertContact',
        outcome: 'delivered',
        status: 200,
        attempts: 1,
        at: iso(50)
      }
    ])
    expect(delivery.outcomesOf({ messageId: 'm-identify-long' })).toEqual([
      expect.objectContaining({
        outcome: 'failed',
        status: 400,
        errortype: 'BAD_REQUEST',
        reason: expect.stringMatching(/^Ortto rejected this event \(400\): traits\.bio is 5000 characters long/),
        attempts: 1,
        deadLettered: true
      })
    ])
    const [pending] = delivery.outcomesOf({ messageId: 'm-track-ada' })
    expect(pending).toEqual({
      messageId: 'm-track-ada',
      userId: 'user-ada',
      type: 'track',
      subscription: 'Track Activity',
      partnerAction: 'trackActivity',
      outcome: 'pending',
      status: pending.status,
      errortype: expect.any(String),
      reason: expect.stringMatching(/^Ortto could not process the request \(50\d\): injected failure/),
      attempts: 1,
      at: iso(100),
      nextTryAt: iso(100 + 4_000)
    })
    expect([500, 502, 503]).toContain(pending.status)
    expect(delivery.outcomesOf({ userId: 'user-ada' }).map((o) => [o.messageId, o.subscription, o.outcome])).toEqual([
      // In the order they ended: the page call at once, the identify once sent; the pending last.
      ['m-page-ada', undefined, 'unsubscribed'],
      ['m-identify-ada', 'Upsert Contact', 'delivered'],
      ['m-track-ada', 'Track Activity', 'pending']
    ])

    delivery.abandon('abandoned: the test stopped the pipeline at once')
    // Without a spool, it ends failed at once, with its last attempt's status and reason.
    expect(delivery.outcomesOf({ messageId: 'm-track-ada' })).toEqual([
      expect.objectContaining({
        outcome: 'failed',
        status: pending.status,
        reason: `abandoned: the test stopped the pipeline at once; it was waiting to be retried (its last attempt: ${pending.reason})`,
        attempts: 1,
        deadLettered: true
      })
    ])
    expect(delivery.outcomesOf({ userId: 'nobody' })).toEqual([])
  })

  it('keeps the last 10,000 outcomes: the 10,001st evicts the oldest', async () => {
    const { delivery } = await setup({ clock: new ManualClock() })
    expect(delivery.outcomeCapacity).toBe(10_000)
    // Page calls match no subscription: each is one outcome, and nothing is sent.
    const pages = range(10_001).map((n): SegmentEvent => ({ ...identify(n), type: 'page', messageId: `m-page-${n}` }))
    await delivery.enqueue(pages.slice(0, 10_000))
    expect(delivery.outcomesOf({ messageId: 'm-page-0' })).toHaveLength(1)
    await delivery.enqueue(pages.slice(10_000))
    expect(delivery.outcomesOf({ messageId: 'm-page-0' })).toEqual([])
    expect(delivery.outcomesOf({ userId: 'user-0' })).toEqual([])
    expect(delivery.outcomesOf({ messageId: 'm-page-1' })).toHaveLength(1)
    expect(delivery.outcomesOf({ messageId: 'm-page-10000' })).toEqual([
      expect.objectContaining({ outcome: 'unsubscribed', attempts: 0 })
    ])
  })
})
