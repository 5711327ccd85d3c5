/**
 * The engine when the mappings are replaced while it runs (DeliveryPipeline.replaceSubscriptions,
 * what a reload of the mapping file calls): events taken in afterwards go by the new mappings;
 * deliveries already held (ready, waiting to retry, or still being written to the spool) keep the
 * mapping they were taken in under, even when their subscription is gone; and what a restart with
 * the changed file does with those still held. Real Destination, a stand-in whose answers the test
 * chooses, a ManualClock, the disk spool.
 */
import { existsSync, readFileSync } from 'node:fs'
import { Destination } from '@segment/actions-core'
import { ortto as definition, LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import { TEST_API_KEY } from '../../../../../test/helpers/http-client'
import { ManualClock } from '../../../test/helpers/manual-clock'
import { orttoStandIn, type OrttoStandIn, type StandInReply } from '../../../test/helpers/ortto-stand-in'
import { tempDir } from '../../../test/helpers/pipeline-helpers'
import { identifyOf, trackOf } from '../../../test/helpers/numbered-events'
import { DeadLetterFile, type DeadLetter } from '../dead-letter'
import { DeliveryPipeline, type DeliveryOptions } from '../delivery'
import { DiskSpool } from '../delivery/spool/spool'
import { ORTTO } from '../destinations'
import { presetSubscriptions, type MatchableSubscription } from '../subscriptions'

let temp: ReturnType<typeof tempDir>
let standIn: OrttoStandIn
let answer: () => StandInReply | 'hold'
let clock: ManualClock
const running: DeliveryPipeline[] = []

beforeEach(async () => {
  temp = tempDir('reload-')
  clock = new ManualClock()
  answer = () => ({ status: 200 })
  standIn = await orttoStandIn(
    () => answer(),
    () => clock.now()
  )
  process.env[LOCAL_ENDPOINT_ENV] = standIn.url
})

afterEach(async () => {
  for (const delivery of running.splice(0)) await delivery.stop()
  await standIn.close()
  delete process.env[LOCAL_ENDPOINT_ENV]
  temp.remove()
})

function start(options: Partial<DeliveryOptions> = {}): DeliveryPipeline {
  const delivery = new DeliveryPipeline({
    destinations: new Map([[ORTTO, new Destination(definition)]]),
    settings: { api_key: TEST_API_KEY },
    subscriptions: presetSubscriptions(ORTTO),
    spool: new DiskSpool({ dir: temp.file('spool'), log: () => undefined }),
    deadLetter: new DeadLetterFile(temp.file('dead.ndjson'), TEST_API_KEY),
    batchSize: 10,
    maxAttempts: 100,
    baseBackoffMs: 1_000,
    maxBackoffMs: 1_000,
    clock,
    log: () => undefined,
    ...options
  })
  running.push(delivery)
  return delivery
}

/** The preset Upsert Contact with a fixed plan: a changed mapping (same name, destination and action). */
function changedContacts(): MatchableSubscription {
  const [contacts] = presetSubscriptions(ORTTO)
  return { ...contacts, mapping: { ...contacts.mapping, traits: { plan: 'changed' } } }
}

/** Each contact Ortto was sent (by requests from the `from`th on), as [user_id, traits]. */
const contactsSent = (from = 0) =>
  standIn.requests
    .slice(from)
    .filter((r) => r.path === '/v1/identify')
    .flatMap((r) => r.body as Array<{ user_id: string; traits: unknown }>)
    .map((contact) => [contact.user_id, contact.traits])

const activitiesSent = (from = 0) =>
  standIn.requests
    .slice(from)
    .filter((r) => r.path === '/v1/track')
    .flatMap((r) => r.body as Array<{ user_id: string }>)
    .map((activity) => activity.user_id)

const deadLetters = (): DeadLetter[] =>
  existsSync(temp.file('dead.ndjson'))
    ? readFileSync(temp.file('dead.ndjson'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as DeadLetter)
    : []

describe('replaceSubscriptions', () => {
  it('gives new events the new mappings, while held ones keep theirs, even when their subscription is gone', async () => {
    answer = () => ({ status: 503 })
    const delivery = start()
    await delivery.enqueue([identifyOf(1), trackOf(1)])
    await delivery.flush()
    expect(delivery.status()).toMatchObject({ delivered: 0, pending: 2 })

    // The file now has Upsert Contact with a fixed plan, and no Track Activity.
    delivery.replaceSubscriptions([changedContacts()])
    const after = await delivery.enqueue([identifyOf(2), trackOf(2)])
    expect(after).toEqual({ accepted: 2, unsubscribed: 1 })

    answer = () => ({ status: 200 })
    const before = standIn.requests.length
    // Past the retry: a back-off of 1 s, spread ±20 %.
    await clock.advance(1_500)
    await delivery.flush()
    expect(contactsSent(before).sort()).toEqual([
      ['user-1', { plan: 'pro' }],
      ['user-2', { plan: 'changed' }]
    ])
    // The held track was delivered with Track Activity's mapping, though the file no longer has it.
    expect(activitiesSent(before)).toEqual(['user-1'])
    expect(delivery.status()).toMatchObject({ delivered: 3, failed: 0, unsubscribed: 1, pending: 0 })
    expect(deadLetters()).toEqual([])
  })

  it('leaves an unchanged subscription its lane: what it holds goes once, by the same mapping', async () => {
    answer = () => ({ status: 503 })
    const delivery = start()
    await delivery.enqueue([identifyOf(1), identifyOf(2)])
    await delivery.flush()
    const attempts = standIn.requests.length

    // The same subscriptions, read again (new objects): nothing changes for what is held.
    delivery.replaceSubscriptions(presetSubscriptions(ORTTO))
    expect(delivery.outcomesOf({ userId: 'user-1' })).toEqual([
      expect.objectContaining({ subscription: 'Upsert Contact', outcome: 'pending', attempts: 1 })
    ])
    answer = () => ({ status: 200 })
    // Past the retry: a back-off of 1 s, spread ±20 %.
    await clock.advance(1_500)
    await delivery.flush()
    expect(standIn.requests.length).toBe(attempts + 1)
    expect(contactsSent(attempts)).toEqual([
      ['user-1', { plan: 'pro' }],
      ['user-2', { plan: 'pro' }]
    ])
    expect(delivery.status()).toMatchObject({ delivered: 2, pending: 0 })
  })

  it('delivers events whose spool write was under way during the reload, by the mapping they were matched to', async () => {
    const delivery = start()
    // Matched now, written to the spool asynchronously; the reload lands before the write is done.
    const taking = delivery.enqueue([identifyOf(1)])
    delivery.replaceSubscriptions([changedContacts()])
    expect(await taking).toEqual({ accepted: 1, unsubscribed: 0 })
    expect(delivery.status()).toMatchObject({ pending: 1 })

    await delivery.flush()
    expect(contactsSent()).toEqual([['user-1', { plan: 'pro' }]])
    expect(delivery.status()).toMatchObject({ delivered: 1, pending: 0 })
  })

  it('across a restart with the changed file, held deliveries of a changed mapping keep it, those of a gone one are dead-lettered', async () => {
    answer = () => ({ status: 503 })
    const first = start()
    await first.enqueue([identifyOf(1), trackOf(1)])
    await first.flush()
    first.replaceSubscriptions([changedContacts()])
    expect(await first.stop()).toMatchObject({ delivered: 0, failed: 0, pending: 2 })

    // The next start reads the changed file.
    answer = () => ({ status: 200 })
    const before = standIn.requests.length
    const second = start({ subscriptions: [changedContacts()] })
    expect(second.restored).toBe(2)
    expect(deadLetters()).toEqual([
      expect.objectContaining({
        subscription: 'Track Activity',
        status: 410,
        reason:
          'the subscription "Track Activity" (trackActivity) it was accepted for is no longer in the mappings; it was not sent',
        event: trackOf(1)
      })
    ])
    await second.flush()
    expect(contactsSent(before)).toEqual([['user-1', { plan: 'pro' }]])
    expect(activitiesSent(before)).toEqual([])
    expect(second.status()).toMatchObject({ delivered: 1, failed: 1, pending: 0 })
  })
})
