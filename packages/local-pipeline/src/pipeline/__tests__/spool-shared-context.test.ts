/**
 * A context that the calls of a /v1/batch share costs the spool its size once, not once per call
 * ("no body costs more than its size" holds on disk too): the spool grows by at most twice the
 * body, whether it writes the call as it came or event by event, and when compaction copies what
 * a file still owes. A restart gives back every event exactly as it was taken in, the context
 * included, shared and frozen as ingest made it.
 */
import { existsSync } from 'node:fs'
import * as path from 'node:path'
import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import { DiskSpool, type SpoolEntry, type SpooledCall, type SpoolRef } from '../delivery/spool/spool'
import type { SpooledSubscription } from '../delivery/spool/records'
import { MAX_EVENT_BYTES, jsonBytes } from '../ingest-limits'
import { parseBatch, rebuildEvents, type TakenItem } from '../segment-events'
import { tempDir } from '../../../test/helpers/pipeline-helpers'

let temp: ReturnType<typeof tempDir>
const opened: DiskSpool[] = []

beforeEach(() => {
  temp = tempDir('spool-context-')
})

afterEach(async () => {
  for (const spool of opened.splice(0)) await spool.close().catch(() => undefined)
  temp.remove()
})

function openSpool(sizes: { segmentBytes?: number } = {}) {
  const spool = new DiskSpool({ dir: temp.file('spool'), log: () => undefined, ...sizes })
  const restored = spool.open()
  opened.push(spool)
  return { spool, restored }
}

/** The spool folder's events after a restart (the spool closed, then opened again). */
async function restart(spool: DiskSpool, sizes: { segmentBytes?: number } = {}): Promise<SegmentEvent[]> {
  await spool.close()
  opened.splice(opened.indexOf(spool), 1)
  return openSpool(sizes).restored.map((r) => r.event)
}

const TRACK: SpooledSubscription = {
  name: 'Track Activity',
  destination: 'ortto',
  partnerAction: 'trackActivity',
  subscribe: 'type = "track"',
  mapping: { user_id: { '@path': '$.userId' } }
}

/** An object of `count` keys k0, k1… with small values: a wide context. */
const wideContext = (count: number): Record<string, number> => {
  const context: Record<string, number> = {}
  for (let i = 0; i < count; i++) context[`k${i}`] = i
  return context
}

/** A context of exactly `bytes` bytes of JSON. */
const contextOf = (bytes: number): Record<string, string> => {
  const context = { pad: '' }
  context.pad = 'x'.repeat(bytes - jsonBytes(context))
  return context
}

/** `count` small track calls (no context of their own, some without a messageId: ingest makes one). */
const calls = (count: number) =>
  Array.from({ length: count }, (_, i) => ({
    type: 'track',
    userId: `user-${i}`,
    event: 'Viewed',
    ...(i % 2 === 0 && { messageId: `m-${i}` })
  }))

interface Taken {
  text: Buffer
  events: SegmentEvent[]
  items: TakenItem[]
  receivedAt: string
}

/** The 2,500 × 31 kB case through ingest itself: every call taken, each within 32 kB with the context. */
function takenByIngest(): Taken {
  const text = Buffer.from(JSON.stringify({ context: contextOf(31 * 1024), batch: calls(2_500) }))
  const { events, items, receivedAt, rejected } = parseBatch(JSON.parse(text.toString()))
  expect(rejected).toEqual([])
  expect(events).toHaveLength(2_500)
  return { text, events, items, receivedAt }
}

/**
 * The issue's body (3,000 calls sharing 8,000 context keys): ingest refuses each of its calls as
 * over 32 kB, so its events are made here as ingest makes the events of a call it takes.
 */
function issueBody(): Taken {
  const text = Buffer.from(JSON.stringify({ context: wideContext(8_000), batch: calls(3_000) }))
  const items = Array.from({ length: 3_000 }, (_, index) => ({
    index,
    ...(index % 2 === 1 && { messageId: `made-${index}` })
  }))
  const receivedAt = new Date().toISOString()
  const body = JSON.parse(text.toString()) as Record<string, unknown>
  const events = rebuildEvents('batch', body, receivedAt, items)
  expect(jsonBytes(events[0])).toBeGreaterThan(MAX_EVENT_BYTES)
  return { text, events, items, receivedAt }
}

const entriesOf = ({ events, items }: Taken): SpoolEntry[] =>
  events.map((event, k) => ({ event, subscriptions: [TRACK], item: items[k] }))
const callOf = ({ text, receivedAt }: Taken): SpooledCall => ({ kind: 'batch', body: text, receivedAt })

const bodies: Array<[string, () => Taken]> = [
  ['2,500 calls inheriting a 31 kB context', takenByIngest],
  ['the issue’s 3,000 calls sharing 8,000 context keys', issueBody]
]

/**
 * The events restored are those taken in, each deep-equal, and their context is one frozen object
 * that they all share, equal to the one taken in. (Compared once, not per event: 3,000 deep
 * comparisons of 8,000 keys take jest minutes.)
 */
function expectAsTakenIn(restored: SegmentEvent[], taken: SegmentEvent[]) {
  const shared = restored[0].context as JSONObject
  expect(Object.isFrozen(shared)).toBe(true)
  expect(restored.every((event) => event.context === shared)).toBe(true)
  expect(taken.every((event) => event.context === taken[0].context)).toBe(true)
  expect(shared).toEqual(taken[0].context)
  const withoutContext = (event: SegmentEvent) => ({ ...event, context: undefined })
  expect(restored.map(withoutContext)).toEqual(taken.map(withoutContext))
}

describe.each(bodies)('%s', (_, take) => {
  it('costs the spool at most twice its body when the call is written as it came, and comes back as taken in', async () => {
    const taken = take()
    const { spool } = openSpool()
    const before = spool.usage().bytes
    await spool.append(entriesOf(taken), callOf(taken))
    expect(spool.usage().bytes - before).toBeLessThanOrEqual(2 * taken.text.length)

    expectAsTakenIn(await restart(spool), taken.events)
  })

  // Each event's line holds what ingest added (receivedAt, a timestamp, a messageId): about 100
  // bytes, twice the size of calls as small as these; their context is written once.
  it('costs the spool at most four times its body when written event by event, the context once', async () => {
    const taken = take()
    const { spool } = openSpool()
    const before = spool.usage().bytes
    await spool.append(taken.events.map((event) => ({ event, subscriptions: [TRACK] })))
    expect(spool.usage().bytes - before).toBeLessThanOrEqual(4 * taken.text.length)

    expectAsTakenIn(await restart(spool), taken.events)
  })

  it('keeps both when compaction copies what the file still owes', async () => {
    const taken = take()
    // Every append starts a segment of its own, so the call's file is two segments old after two more.
    const sizes = { segmentBytes: 1 }
    const { spool } = openSpool(sizes)
    const refs = await spool.append(entriesOf(taken), callOf(taken))
    const owed = 500
    spool.end(refs.slice(owed).flat())
    const later = (n: number) => ({ event: { ...taken.events[0], messageId: `later-${n}` }, subscriptions: [TRACK] })
    const laterRefs: SpoolRef[][] = []
    for (const n of [1, 2]) laterRefs.push(...(await spool.append([later(n)])))
    await spool.idle()
    // The call's file is gone: its 500 events owed were copied, with the context once.
    expect(existsSync(path.join(spool.dir, '00000001.spool'))).toBe(false)
    spool.end(laterRefs.flat())
    await spool.idle()
    const copied = spool.usage().bytes
    expect(copied).toBeLessThanOrEqual(2 * taken.text.length)
    expect(copied).toBeLessThan(jsonBytes(taken.events[0].context) + owed * jsonBytes(later(0).event))

    expectAsTakenIn(await restart(spool, sizes), taken.events.slice(0, owed))
  })
})
