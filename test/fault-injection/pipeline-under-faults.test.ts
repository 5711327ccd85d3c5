/**
 * Fault injection over real sockets: a delivery run through the local pipeline while the Ortto
 * sandbox rate limits, fails requests with 5xx, drops connections, answers past the delivery
 * deadline and sends answers the client cannot read. Retryable failures are retried until done,
 * as Segment would. Then the sandbox is checked event by event: every valid event arrived exactly
 * once, every invalid one was reported with its reason, nothing else arrived.
 *
 * `SOAK_EVENTS` sets the size (default 20,000; `npm run soak` runs 200,000).
 */
import { startPipeline, type Pipeline } from '../../src/pipeline'
import type { FailureReport } from '../../src/pipeline/delivery'
import { startSandbox, type Sandbox } from '../../src/sandbox'
import { LOCAL_ENDPOINT_ENV } from '../../src/destinations/ortto/constants'
import { TEST_WRITE_KEY, basicAuth, get, post, sleep, waitFor, type Answer } from '../helpers/pipeline-helpers'

const EVENTS = Number(process.env.SOAK_EVENTS ?? 20_000)
/** Every INVALID_EVERY-th event carries a 5,000-character value, which Ortto refuses (400). */
const INVALID_EVERY = 97
const CALLS_PER_POST = 250
const TIMESTAMP = '2024-06-01T00:00:00.000Z'

jest.setTimeout(Math.max(240_000, EVENTS * 12))

interface Sent {
  event: Record<string, unknown>
  valid: boolean
}

/** Event i: identify for even i, track for odd i; user u-<i/2> gets both. */
function eventAt(i: number): Sent {
  const valid = i % INVALID_EVERY !== 0
  const user = `u-${Math.floor(i / 2)}`
  const filler = valid ? 'ok' : 'x'.repeat(5_000)
  const common = { userId: user, messageId: `m-${i}`, timestamp: TIMESTAMP, context: { ip: '203.0.113.9' } }
  const event =
    i % 2 === 0
      ? { ...common, type: 'identify', traits: { plan: 'pro', seq: i, note: filler } }
      : { ...common, type: 'track', event: 'Order Completed', properties: { seq: i, note: filler } }
  return { event, valid }
}

/** Sends like a Segment library: batches, and a 503 (pipeline full) is retried after a pause. */
async function sendAll(url: string, events: Sent[]): Promise<void> {
  for (let start = 0; start < events.length; start += CALLS_PER_POST) {
    const batch = events.slice(start, start + CALLS_PER_POST).map((s) => s.event)
    for (;;) {
      const response = await post(url, '/v1/batch', { batch })
      if (response.status === 503) {
        await sleep(200)
        continue
      }
      expect(response.status).toBe(200)
      expect(response.json).toMatchObject({ accepted: batch.length, rejected: [] })
      break
    }
  }
}

describe(`a ${EVENTS}-event run through the pipeline while Ortto misbehaves`, () => {
  let sandbox: Sandbox
  let pipeline: Pipeline
  const failures: FailureReport[] = []
  let peakRss = 0
  let baselineRss = 0
  let sampler: NodeJS.Timeout

  beforeAll(async () => {
    sandbox = await startSandbox({
      port: 0,
      faults: {
        rateLimitPerSecond: 4,
        retryAfterSeconds: 1,
        failRate: 0.12,
        dropRate: 0.1,
        slowRate: 0.08,
        slowMs: 1_500,
        malformedRate: 0.1,
        seed: 20_241_129
      }
    })
    process.env[LOCAL_ENDPOINT_ENV] = sandbox.url
    pipeline = await startPipeline(
      {
        port: 0,
        target: { kind: 'endpoint', url: sandbox.url },
        flushIntervalMs: 50,
        maxAttempts: 1_000,
        deliveryTimeoutMs: 1_000,
        baseBackoffMs: 50,
        maxBackoffMs: 1_000,
        // Long enough for the 10 MB upload below to finish on a loaded machine (it must get its 413,
        // not the slow-client 408), short enough for the stalled client to get its 408 quickly.
        clientTimeoutMs: 4_000,
        writeKey: TEST_WRITE_KEY
      },
      () => undefined,
      { onFailure: (report) => failures.push(report) }
    )
    baselineRss = process.memoryUsage().rss
    sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50)
  })

  afterAll(async () => {
    clearInterval(sampler)
    await pipeline?.stop()
    await sandbox?.stop()
    delete process.env[LOCAL_ENDPOINT_ENV]
  })

  it('delivers every valid event exactly once and reports every invalid one with its reason', async () => {
    const sent = Array.from({ length: EVENTS }, (_, i) => eventAt(i))
    const badInput = hammerWithBadInput(pipeline.url)
    await sendAll(pipeline.url, sent)
    await badInput
    await waitFor('the pipeline to drain', () => pipeline.delivery.status().pending === 0, EVENTS * 10, 100)

    const state = sandbox.snapshot()
    const valid = sent.filter((s) => s.valid)
    const invalid = sent.filter((s) => !s.valid)

    // Activities: by (message_id, timestamp), exactly the valid track events, each once.
    const activityCounts = new Map<string, number>()
    for (const a of state.activities) {
      const key = `${a.message_id}|${a.timestamp}`
      activityCounts.set(key, (activityCounts.get(key) ?? 0) + 1)
    }
    const expectedActivities = new Set(
      valid.filter((s) => s.event.type === 'track').map((s) => `${String(s.event.messageId)}|${TIMESTAMP}`)
    )
    const lostActivities = [...expectedActivities].filter((key) => !activityCounts.has(key))
    const duplicated = [...activityCounts.values()].filter((n) => n > 1).length
    const unexpected = [...activityCounts.keys()].filter((key) => !expectedActivities.has(key))

    // Contacts: by user id, exactly the users of valid events, each once.
    const contactCounts = new Map<string, number>()
    for (const c of state.contacts)
      contactCounts.set(String(c.user_id), (contactCounts.get(String(c.user_id)) ?? 0) + 1)
    const expectedUsers = new Set(valid.map((s) => String(s.event.userId)))
    const lostContacts = [...expectedUsers].filter((user) => !contactCounts.has(user))
    const duplicatedContacts = [...contactCounts.values()].filter((n) => n > 1).length
    const unexpectedContacts = [...contactCounts.keys()].filter((user) => !expectedUsers.has(user))

    // Every identify of a valid event left its traits (a retried upsert must not lose them).
    const contactsByUser = new Map(state.contacts.map((c) => [c.user_id, c]))
    const traitsLost = valid
      .filter((s) => s.event.type === 'identify')
      .filter((s) => contactsByUser.get(String(s.event.userId))?.traits.plan !== 'pro').length

    const status = pipeline.delivery.status()
    const faults = sandbox.stats().faultsInjected
    const rejectedIds = new Set(failures.map((f) => f.messageId))
    console.log(
      [
        `fault-injection run: ${EVENTS} events`,
        `  sent ${EVENTS}, delivered ${status.delivered}, retried ${status.retried}, rejected ${failures.length}, ` +
          `lost ${lostActivities.length + lostContacts.length}, duplicated ${duplicated + duplicatedContacts}`,
        `  faults injected: ${JSON.stringify(faults)}`,
        `  sandbox dropped ${sandbox.stats().duplicateActivitiesDropped} repeated activities (retries after Ortto had applied them)`,
        `  memory: rss ${(baselineRss / 2 ** 20).toFixed(0)} MB at start, peak ${(peakRss / 2 ** 20).toFixed(0)} MB`
      ].join('\n')
    )

    expect(lostActivities).toEqual([])
    expect(lostContacts).toEqual([])
    expect(duplicated).toBe(0)
    expect(duplicatedContacts).toBe(0)
    expect(unexpected).toEqual([])
    expect(unexpectedContacts).toEqual([])
    expect(traitsLost).toBe(0)

    // The faults really happened, and retries really ran.
    for (const kind of ['rate-limit', 'fail', 'slow', 'malformed']) expect(faults[kind]).toBeGreaterThan(0)
    expect(faults['drop-before-apply'] + faults['drop-after-apply']).toBeGreaterThan(0)
    expect(status.retried).toBeGreaterThan(0)

    // Every invalid event, and only those, was reported failed with Ortto's reason (a 400 ends it:
    // earlier attempts of it can only have been whole-request failures).
    expect(failures).toHaveLength(invalid.length)
    expect(rejectedIds).toEqual(new Set(invalid.map((s) => String(s.event.messageId))))
    for (const failure of failures) {
      expect(failure.status).toBe(400)
      expect(failure.message).toMatch(/Ortto rejected this event \(400\): .*4,?000 characters/)
    }
    expect(status).toMatchObject({ received: EVENTS, delivered: valid.length, failed: invalid.length, pending: 0 })

    // Memory stays bounded: the pipeline keeps nothing per request (a leak of request bodies would
    // be gigabytes). The allowance per event covers what the in-process sandbox and this test hold.
    expect(peakRss - baselineRss).toBeLessThan(200 * 2 ** 20 + EVENTS * 20 * 2 ** 10)
  })
})

/**
 * Bad input sent while the run is on: each gets a clear 4xx and the server keeps serving.
 * Returns once all have been answered.
 */
async function hammerWithBadInput(url: string): Promise<void> {
  const expectError = (response: Answer, status: number, reason: RegExp) => {
    expect(response.status).toBe(status)
    expect((response.json as { error: { message: string } }).error.message).toMatch(reason)
  }
  const send = (route: string, body: unknown) => post(url, route, body)
  expectError(await send('/v1/track', 'not json {'), 400, /not valid JSON/)
  expectError(await send('/v1/track', [{ event: 'x' }]), 400, /must be a JSON object/)
  expectError(await send('/v1/identify', { traits: {} }), 400, /needs a userId or an anonymousId/)
  expectError(await send('/v1/batch', { batch: 'no' }), 400, /"batch" array/)
  expectError(await send('/v1/batch', 'x'.repeat(10 * 2 ** 20)), 413, /at most 524288 bytes/)
  expectError(await send('/nowhere', {}), 404, /no such route/)
  expectError(await send('/v1/track', { userId: 'u', event: ' ' }), 400, /non-empty "event"/)
  expect(await slowClientStatus(url)).toBe(408)
  // Still serving.
  const ok = await get(url, '/status')
  expect(ok.status).toBe(200)
}

/** A client that sends its headers and then only part of its body, and stalls. */
async function slowClientStatus(url: string): Promise<number> {
  const { request } = await import('node:http')
  return new Promise((resolve, reject) => {
    const headers = {
      'content-length': '1000',
      'content-type': 'application/json',
      authorization: basicAuth(TEST_WRITE_KEY)
    }
    const req = request(`${url}/v1/track`, { method: 'POST', headers }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    req.write('{"userId": "slow"')
  })
}
