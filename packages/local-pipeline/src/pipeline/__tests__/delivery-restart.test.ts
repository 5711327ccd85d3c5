/**
 * The engine with its spool across stops and starts: a stop ends on time and keeps what is not
 * delivered, the next start takes it back; a delivery keeps the mapping it was accepted under, and
 * one whose subscription is gone ends in the dead-letter file with why; a failure whose dead letter
 * cannot be written stays owed; attempts count across restarts, so a delivery that always fails
 * retryably is given up at the retry limit however often the pipeline restarts. Real Destination,
 * a stand-in whose answers the test chooses, a ManualClock.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { Destination, type SegmentEvent } from '@segment/actions-core'
import { ortto as definition, LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import { TEST_API_KEY } from '../../../../../test/helpers/http-client'
import { ManualClock } from '../../../test/helpers/manual-clock'
import { orttoStandIn, type OrttoStandIn, type StandInReply } from '../../../test/helpers/ortto-stand-in'
import { tempDir } from '../../../test/helpers/pipeline-helpers'
import { identifyOf, numbers, trackOf } from '../../../test/helpers/numbered-events'
import { DeadLetterFile, type DeadLetter } from '../dead-letter'
import { DeliveryPipeline, type DeliveryOptions } from '../delivery'
import { DiskSpool } from '../delivery/spool/spool'
import { ORTTO } from '../destinations'
import { parseBatch } from '../segment-events'
import { presetSubscriptions, type MatchableSubscription } from '../subscriptions'

let temp: ReturnType<typeof tempDir>
let standIn: OrttoStandIn
let answer: () => StandInReply | 'hold'
let clock: ManualClock
let logLines: string[]
const running: DeliveryPipeline[] = []

beforeEach(async () => {
  temp = tempDir('restart-')
  clock = new ManualClock()
  logLines = []
  answer = () => ({ status: 200 })
  standIn = await orttoStandIn(
    () => answer(),
    () => clock.now()
  )
  process.env[LOCAL_ENDPOINT_ENV] = standIn.url
})

afterEach(async () => {
  standIn.answerAllWith({ status: 200 })
  for (const delivery of running.splice(0)) await delivery.stop()
  await standIn.close()
  delete process.env[LOCAL_ENDPOINT_ENV]
  temp.remove()
})

/** A pipeline on the test's spool folder (and dead-letter file), as one start of `npm start` makes it. */
function start(options: Partial<DeliveryOptions> = {}) {
  const spool = new DiskSpool({ dir: temp.file('spool'), log: (line) => logLines.push(line) })
  const delivery = new DeliveryPipeline({
    destinations: new Map([[ORTTO, new Destination(definition)]]),
    settings: { api_key: TEST_API_KEY },
    subscriptions: presetSubscriptions(ORTTO),
    spool,
    deadLetter: new DeadLetterFile(temp.file('dead.ndjson'), TEST_API_KEY),
    batchSize: 10,
    maxAttempts: 100,
    clock,
    log: (line) => logLines.push(line),
    ...options
  })
  running.push(delivery)
  return { delivery, spool }
}

const identify = (n: number, plan = 'pro'): SegmentEvent => identifyOf(n, { plan })
const range = numbers
const deadLetters = (): DeadLetter[] =>
  existsSync(temp.file('dead.ndjson'))
    ? readFileSync(temp.file('dead.ndjson'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as DeadLetter)
    : []

describe('stop', () => {
  it('ends once the grace is over, aborting the calls in flight; what they held stays owed, not failed', async () => {
    answer = () => 'hold'
    const first = start({ stopGraceMs: 2_000 })
    await first.delivery.enqueue(range(30).map((n) => identify(n)))
    await standIn.arrived(3)
    let stopped = false
    const stopping = first.delivery.stop().then((totals) => {
      stopped = true
      return totals
    })
    await clock.advance(1_999)
    expect(stopped).toBe(false)
    await clock.advance(1)
    expect(await stopping).toMatchObject({ received: 30, delivered: 0, failed: 0, retried: 0, pending: 30 })
    expect(deadLetters()).toEqual([])
    expect(logLines).toContain(
      '[delivery] 30 deliveries not delivered yet stay in the spool (' + temp.file('spool') + ') for the next start'
    )

    answer = () => ({ status: 200 })
    const second = start()
    expect(second.delivery.restored).toBe(30)
    await second.delivery.flush()
    expect(second.delivery.status()).toMatchObject({ received: 0, restored: 30, delivered: 30, pending: 0 })
    // Attempts cut short at stop are not counted.
    expect(second.delivery.outcomesOf({ messageId: 'm-identify-0' })).toEqual([
      expect.objectContaining({ outcome: 'delivered', attempts: 1 })
    ])
    await second.delivery.stop()
    expect(second.spool.usage().files).toBe(0)
  })
})

describe('the next start', () => {
  it('keeps the mapping a delivery was accepted under, and dead-letters one whose subscription is gone', async () => {
    answer = () => ({ status: 503 })
    const first = start()
    await first.delivery.enqueue([identify(1, 'accepted-before'), trackOf(1)])
    await first.delivery.flush()
    expect(await first.delivery.stop()).toMatchObject({ delivered: 0, failed: 0, pending: 2 })

    // The mapping file changed: Upsert Contact now sends a fixed plan, Track Activity is gone.
    answer = () => ({ status: 200 })
    const [contacts] = presetSubscriptions(ORTTO)
    const changed: MatchableSubscription = {
      ...contacts,
      mapping: { ...contacts.mapping, traits: { plan: 'changed' } }
    }
    const second = start({ subscriptions: [changed] })
    expect(second.delivery.restored).toBe(2)
    expect(deadLetters()).toEqual([
      expect.objectContaining({
        subscription: 'Track Activity',
        partnerAction: 'trackActivity',
        status: 410,
        reason:
          'the subscription "Track Activity" (trackActivity) it was accepted for is no longer in the mappings; it was not sent',
        event: trackOf(1)
      })
    ])
    await second.delivery.enqueue([identify(2, 'accepted-after')])
    await second.delivery.flush()
    const traits = standIn.requests
      .filter((r) => r.path === '/v1/identify')
      .slice(-2)
      .flatMap((r) => r.body as Array<{ user_id: string; traits: unknown }>)
      .map((contact) => [contact.user_id, contact.traits])
    expect(traits.sort()).toEqual([
      ['user-1', { plan: 'accepted-before' }],
      ['user-2', { plan: 'changed' }]
    ])
    expect(second.delivery.status()).toMatchObject({ restored: 2, delivered: 2, failed: 1, pending: 0 })
    await second.delivery.stop()

    const third = start({ subscriptions: [changed] })
    expect(third.delivery.restored).toBe(0)
  })
})

describe('a failure whose dead letter cannot be written', () => {
  it('is not counted and stays owed, to be tried again', async () => {
    answer = () => ({ status: 400, body: { error: { message: 'refused' } } })
    const folder = temp.file('letters')
    const first = start({ deadLetter: new DeadLetterFile(`${folder}/dead.ndjson`, TEST_API_KEY) })
    await first.delivery.enqueue([identify(1)])
    await first.delivery.flush()
    expect(first.delivery.status()).toMatchObject({ failed: 0, pending: 1 })
    expect(logLines).toContainEqual(
      expect.stringMatching(
        /^\[delivery\] the dead-letter file .*letters\/dead\.ndjson could not be written \(.*ENOENT.*\); 1 failed delivery stays held and is tried again$/
      )
    )
    await first.delivery.stop()
    rmSync(folder, { recursive: true, force: true })
    const second = start()
    expect(second.delivery.restored).toBe(1)
  })
})

describe('attempts across restarts', () => {
  it('gives up on a delivery that always fails retryably after the retry limit in all, however often it is restarted', async () => {
    answer = () => ({ status: 503 })
    const sent = () => standIn.requests.filter((r) => r.path === '/v1/identify').length
    const sentPerRun: number[] = []
    let run = start({ maxAttempts: 5 })
    await run.delivery.enqueue([identify(1)])
    // Each run tries it once (and once more as it stops), then stops: a pipeline killed over and over.
    for (let restarts = 0; restarts < 10 && deadLetters().length === 0; restarts++) {
      const before = sent()
      await run.delivery.flush()
      await run.delivery.stop()
      sentPerRun.push(sent() - before)
      run = start({ maxAttempts: 5 })
    }
    expect(sentPerRun.length).toBeGreaterThan(1)
    expect(sent()).toBe(5)
    expect(deadLetters()).toEqual([
      expect.objectContaining({ subscription: 'Upsert Contact', status: 503, attempts: 5, event: identify(1) })
    ])
    expect(run.delivery.restored).toBe(0)
  })
})

describe('a batch whose calls share its context', () => {
  it('is delivered after a restart, the context taken back shared and frozen, as ingest gave it', async () => {
    answer = () => ({ status: 503 })
    const text = Buffer.from(
      JSON.stringify({
        context: { ip: '203.0.113.9', locale: 'fr-FR', app: { name: 'shop' } },
        batch: [...range(20).map((n) => ({ type: 'identify', userId: `user-${n}`, traits: { n } })), trackOf(20)]
      })
    )
    const { events, items, receivedAt } = parseBatch(JSON.parse(text.toString()))
    const first = start()
    await first.delivery.enqueue(events, { kind: 'batch', body: text, receivedAt, items })
    await first.delivery.flush()
    expect(await first.delivery.stop()).toMatchObject({ delivered: 0, failed: 0, pending: 21 })

    answer = () => ({ status: 200 })
    // What delivery is given to send, seen as it is made ready.
    const given: SegmentEvent[] = []
    const second = start({
      prepare: (_subscription, batch) => {
        given.push(...batch)
        return Promise.resolve(batch.map((event) => ({ event })))
      }
    })
    expect(second.delivery.restored).toBe(21)
    const sentBefore = standIn.requests.length
    await second.delivery.flush()
    // Nothing wrote into the shared, frozen context (a write would throw and fail the event).
    expect(second.delivery.status()).toMatchObject({ restored: 21, delivered: 21, failed: 0, pending: 0 })
    expect(given).toHaveLength(21)
    const shared = given[0].context
    expect(given.every((event) => event.context === shared)).toBe(true)
    expect(Object.isFrozen(shared)).toBe(true)
    expect(shared).toEqual(events[0].context)
    const contacts = standIn.requests
      .slice(sentBefore)
      .filter((r) => r.path === '/v1/identify')
      .flatMap((r) => r.body as Array<{ user_id: string }>)
    expect(contacts.map((contact) => contact.user_id).sort()).toEqual(
      range(20)
        .map((n) => `user-${n}`)
        .sort()
    )
  })
})
