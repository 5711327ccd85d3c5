/**
 * Fault injection over real sockets: a delivery run through the local pipeline while the Ortto
 * sandbox rate limits, fails requests with 5xx, drops connections, answers past the delivery
 * deadline and sends answers the client cannot read. Retryable failures are retried until done,
 * as Segment would. Then the sandbox is checked event by event: every valid event arrived exactly
 * once, every invalid one was reported with its reason, nothing else arrived.
 *
 * Engage audience events (entries and exits, each user's alternating, identify and track) are
 * interleaved with the others and go through Sync Audience, their audiences created under the same
 * faults: every delivered one is in the sandbox's membership history with its instruction, and
 * after a last round of one instruction per user and audience, each audience's members are exactly
 * the users whose last instruction was an entry.
 *
 * Every accepted event goes through the spool (SPOOL_DIR), which is back to nearly nothing at the end.
 *
 * `SOAK_EVENTS` sets the size (default 20,000, and a tenth as many Engage events; `npm run soak`
 * runs 200,000).
 */
import { readdirSync, statSync } from 'node:fs'
import * as path from 'node:path'
import { startPipeline, type Pipeline } from '../../src/pipeline'
import type { FailureReport } from '../../src/pipeline/delivery'
import { startSandbox, type Sandbox, type SandboxState } from 'ortto-sandbox'
import { LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import { engageIdentify, engageTrack, type EngageAudience } from '../helpers/engage-events'
import { TEST_WRITE_KEY, basicAuth, get, post, tempDir, waitFor, type Answer } from '../helpers/pipeline-helpers'

const EVENTS = Number(process.env.SOAK_EVENTS ?? 20_000)
/** Every INVALID_EVERY-th event carries a 5,000-character value, which Ortto refuses (400). */
const INVALID_EVERY = 97
const CALLS_PER_POST = 250
const TIMESTAMP = '2024-06-01T00:00:00.000Z'
/** Deliveries the pipeline holds before it answers 503 (it is given this bound, so the sender can wait for room). */
const MAX_PENDING = 20_000

/** One Engage event after every ENGAGE_AFTER others. */
const ENGAGE_AFTER = 10
const ENGAGE_EVENTS = Math.floor(EVENTS / ENGAGE_AFTER)
const ENGAGE_USERS = 100
/** The first is named by its Audience Name setting, the others by their computation keys. */
const AUDIENCES: EngageAudience[] = [
  { computationId: 'aud_0', key: 'engage_vip', audienceName: 'Engage VIP' },
  { computationId: 'aud_1', key: 'engage_churn' },
  { computationId: 'aud_2', key: 'engage_trial' }
]
const PAIRS = ENGAGE_USERS * AUDIENCES.length
/** Every ENGAGE_INVALID_EVERY-th Engage event carries a 5,000-character trait, which Ortto refuses (400). */
const ENGAGE_INVALID_EVERY = 53

jest.setTimeout(Math.max(240_000, EVENTS * 12))

interface Sent {
  event: Record<string, unknown>
  valid: boolean
  /** Engage events: the audience, and whether the user entered (true) or left it. */
  engage?: { audience: EngageAudience; member: boolean }
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

/**
 * Engage event k: user e-<k mod users> and audience k mod audiences, so each (user, audience) pair
 * gets every PAIRS-th event, entering and leaving in turn; an identify or a track, each pair's
 * entries one kind and its exits the other. `messageId` tells the last round apart.
 */
function engageAt(k: number, messageId = `e-${k}`, member = Math.floor(k / PAIRS) % 2 === 0): Sent {
  const user = `e-${k % ENGAGE_USERS}`
  const audience = AUDIENCES[k % AUDIENCES.length]
  const valid = messageId.startsWith('f-') || k % ENGAGE_INVALID_EVERY !== ENGAGE_INVALID_EVERY - 1
  const extra = { messageId, timestamp: TIMESTAMP }
  const filler = valid ? {} : { note: 'x'.repeat(5_000) }
  const identify = engageIdentify(user, audience, member, extra)
  const track = engageTrack(user, audience, member, extra)
  const body =
    (k + Math.floor(k / PAIRS)) % 2 === 0
      ? { ...identify, type: 'identify', traits: { ...identify.traits, ...filler } }
      : { ...track, type: 'track', properties: { ...track.properties, ...filler } }
  return { event: body, valid, engage: { audience, member } }
}

/** Sends like a Segment library: batches, and after a 503 (pipeline full) waits until it has room again. */
async function sendAll(pipeline: Pipeline, events: Sent[]): Promise<void> {
  for (let start = 0; start < events.length; start += CALLS_PER_POST) {
    const batch = events.slice(start, start + CALLS_PER_POST).map((s) => s.event)
    for (;;) {
      const response = await post(pipeline.url, '/v1/batch', { batch })
      if (response.status === 503) {
        const room = () => pipeline.delivery.status().pending + batch.length <= MAX_PENDING
        await waitFor('room in the pipeline', room, EVENTS * 10, 50)
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
  const spool = tempDir('fault-injection-spool-')

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
        maxPending: MAX_PENDING,
        writeKey: TEST_WRITE_KEY,
        // Every accepted event goes through the spool, as under npm start.
        spoolDir: spool.dir
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
    spool.remove()
  })

  it('delivers every valid event exactly once and reports every invalid one with its reason', async () => {
    // One Engage event after every ENGAGE_AFTER others.
    const sent = Array.from({ length: EVENTS }, (_, i) => eventAt(i)).flatMap((s, i) =>
      (i + 1) % ENGAGE_AFTER === 0 ? [s, engageAt((i + 1) / ENGAGE_AFTER - 1)] : [s]
    )
    const badInput = hammerWithBadInput(pipeline.url)
    await sendAll(pipeline, sent)
    await badInput
    await waitFor('the pipeline to drain', () => pipeline.delivery.status().pending === 0, EVENTS * 10, 100)

    const state = sandbox.snapshot()
    const valid = sent.filter((s) => s.valid)
    const invalid = sent.filter((s) => !s.valid)
    expect(sent.filter((s) => s.engage)).toHaveLength(ENGAGE_EVENTS)

    // Activities: by (message_id, timestamp), exactly the valid track events, each once.
    const activityCounts = new Map<string, number>()
    for (const a of state.activities) {
      const key = `${a.message_id}|${a.timestamp}`
      activityCounts.set(key, (activityCounts.get(key) ?? 0) + 1)
    }
    const expectedActivities = new Set(
      valid.filter((s) => s.event.type === 'track' && !s.engage).map((s) => `${String(s.event.messageId)}|${TIMESTAMP}`)
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
      .filter((s) => s.event.type === 'identify' && !s.engage)
      .filter((s) => contactsByUser.get(String(s.event.userId))?.traits.plan !== 'pro').length

    const status = pipeline.delivery.status()
    const faults = sandbox.stats().faultsInjected
    const rejectedIds = new Set(failures.map((f) => f.messageId))
    console.log(
      [
        `fault-injection run: ${EVENTS} events and ${ENGAGE_EVENTS} Engage audience events`,
        `  sent ${sent.length}, delivered ${status.delivered}, retried ${status.retried}, rejected ${failures.length}, ` +
          `lost ${lostActivities.length + lostContacts.length}, duplicated ${duplicated + duplicatedContacts}`,
        `  faults injected: ${JSON.stringify(faults)}`,
        `  Engage: ${AUDIENCES.length} audiences, ${JSON.stringify(byRoute(sandbox, 'audiences'))}`,
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
      expect(failure.reason).toMatch(/Ortto rejected this event \(400\): .*4,?000 characters/)
    }
    expect(status).toMatchObject({
      received: EVENTS + ENGAGE_EVENTS,
      delivered: valid.length,
      failed: invalid.length,
      pending: 0
    })

    // Engage: each audience created once, whatever createAudience met; every delivered event's
    // instruction applied to its audience, no failed one's; members as the last instruction applied.
    const audienceIds = checkAudiences(state)
    const engageEvents = sent.filter((s) => s.engage)
    const history = new Map<string, Array<[audienceId: string, mode: string]>>()
    for (const h of state.membership_history) {
      history.set(String(h.message_id), [...(history.get(String(h.message_id)) ?? []), [h.audience_id, h.mode]])
    }
    const misapplied = engageEvents.filter((s) => {
      const applied = history.get(String(s.event.messageId)) ?? []
      if (!s.valid) return applied.length > 0
      const expected = [audienceIds.get(s.engage?.audience.computationId ?? ''), s.engage?.member ? 'add' : 'remove']
      return applied.length === 0 || applied.some((entry) => entry.join() !== expected.join())
    })
    expect(misapplied.map((s) => s.event.messageId)).toEqual([])
    expect(membersOf(state)).toEqual(lastAppliedOf(state))

    // Memory stays bounded: the pipeline keeps nothing per request (a leak of request bodies would
    // be gigabytes). The allowance per event covers what the in-process sandbox and this test hold.
    expect(peakRss - baselineRss).toBeLessThan(200 * 2 ** 20 + EVENTS * 20 * 2 ** 10)

    // A last round under the same faults: one instruction per (user, audience) pair, entries and
    // exits mixed. Afterwards each audience holds exactly the users whose last instruction was an entry.
    const last = Array.from({ length: PAIRS }, (_, k) => engageAt(k, `f-${k}`, k % 7 < 4))
    await sendAll(pipeline, last)
    const total = EVENTS + ENGAGE_EVENTS + PAIRS
    await waitFor(
      'the last round to be delivered',
      () => pipeline.delivery.status().delivered === valid.length + PAIRS && pipeline.delivery.status().pending === 0,
      EVENTS * 10,
      100
    )
    expect(pipeline.delivery.status()).toMatchObject({ received: total, failed: invalid.length, pending: 0 })
    const final = sandbox.snapshot()
    const ids = checkAudiences(final)
    const expectedMembers = new Map(AUDIENCES.map((a) => [ids.get(a.computationId) ?? '', new Set<string>()]))
    for (const { event, engage } of last) {
      if (engage?.member) expectedMembers.get(ids.get(engage.audience.computationId) ?? '')?.add(String(event.userId))
    }
    expect(membersOf(final)).toEqual(sortedSets(expectedMembers))
    // Every delivery ended, so the spool holds (almost) nothing: its files follow the backlog.
    const spooled = readdirSync(spool.dir).filter((name) => name.endsWith('.spool'))
    const spooledBytes = spooled.reduce((sum, name) => sum + statSync(path.join(spool.dir, name)).size, 0)
    expect(spooledBytes).toBeLessThan(1024 * 1024)
  })
})

/** The sandbox's requests to the routes whose path contains `part`, by route. */
const byRoute = (sandbox: Sandbox, part: string) =>
  Object.fromEntries(Object.entries(sandbox.stats().byRoute).filter(([route]) => route.includes(part)))

/** The sandbox's audiences are the three Engage audiences, each once, by name; their ids by computation id. */
function checkAudiences(state: SandboxState): Map<string, string> {
  const names = AUDIENCES.map((a) => a.audienceName ?? a.key)
  expect(state.audiences.map((a) => a.name).sort()).toEqual([...names].sort())
  const idOf = new Map(state.audiences.map((a) => [a.name, a.id]))
  return new Map(AUDIENCES.map((a, i) => [a.computationId, idOf.get(names[i]) ?? '']))
}

const sortedSets = (byAudience: Map<string, Set<string>>) =>
  Object.fromEntries([...byAudience].map(([id, users]) => [id, [...users].sort()]))

/** Each audience's members, as user ids. */
function membersOf(state: SandboxState): Record<string, string[]> {
  const userOf = new Map(state.contacts.map((c) => [c.id, String(c.user_id)]))
  return sortedSets(
    new Map(state.audiences.map((a) => [a.id, new Set(a.member_ids.map((id) => userOf.get(id) ?? id))]))
  )
}

/** Per audience, the users whose last applied instruction (by the history's sequence) was an entry. */
function lastAppliedOf(state: SandboxState): Record<string, string[]> {
  const last = new Map<string, { user: string; audience: string; mode: string }>()
  for (const h of [...state.membership_history].sort((a, b) => a.sequence - b.sequence)) {
    last.set(`${h.audience_id} ${String(h.user_id)}`, {
      user: String(h.user_id),
      audience: h.audience_id,
      mode: h.mode
    })
  }
  const members = new Map(state.audiences.map((a) => [a.id, new Set<string>()]))
  for (const { user, audience, mode } of last.values()) if (mode === 'add') members.get(audience)?.add(user)
  return sortedSets(members)
}

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
  expectError(await send('/v1/batch', 'x'.repeat(10 * 2 ** 20)), 413, /a batch takes at most 512,000 bytes/)
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
