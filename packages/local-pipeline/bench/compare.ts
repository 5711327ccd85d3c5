/**
 * Timed rounds: the same events, in the same batches, through `Destination.executeBatch` of
 * each target, each target against its own sandbox (all reset before every round so their
 * state never grows from one round to the next).
 *
 * Nothing here may favour a target by the order it runs in: each target sends all its batches
 * in one pass, the order of the passes rotates from round to round, and every pass starts on a
 * heap just collected, so no target pays for the garbage another left behind.
 */
import type { Destination, JSONObject, SegmentEvent, StatsContext } from '@segment/actions-core'
import { LOCAL_ENDPOINT_ENV, type Settings } from 'actions-ortto'
import type { Sandbox, SandboxStats } from 'ortto-sandbox'
import { difference, type CountingServer } from './counting-server'
import { kindOf } from './events'
import type { ActionSlug } from './targets'

export interface Batch {
  /** The action the batch goes to, as a subscription names it (its partnerAction). */
  slug: string
  events: SegmentEvent[]
}

/** What a lane drives: a destination and the mapping of each action its batches go to. */
export interface LaneTarget {
  name: string
  label: string
  destination: Pick<Destination<Settings>, 'executeBatch' | 'responses'>
  mappings: Record<string, JSONObject>
}

export interface RunFigures {
  target: string
  round: number
  events: number
  /** Sum of the target's executeBatch calls (the time each call took, awaited one at a time). */
  wallMs: number
  /** Each executeBatch call's time, in batch order. */
  callMs: number[]
  eventsPerSecond: number
  /** process.cpuUsage() (user + system) over those calls, per event: client, framework and sandbox. */
  cpuMicrosPerEvent: number
  /** Requests the sandbox answered on its API routes, and requests the counting server saw. */
  requests: number
  countedRequests: number
  bodyBytes: number
  wireBytes: number
  bodyBytesPerEvent: number
  wireBytesPerEvent: number
  /** HTTP statuses the sandbox answered, e.g. {"200": 40}. */
  byStatus: Record<string, number>
  objectsReceived: number
  objectsAccepted: number
  objectsRejected: number
  /** Results executeBatch returned with a 2xx status, and the rest. */
  delivered: number
  failed: number
  firstFailure?: string
}

/** `events` in batches of at most `size`, all to the action `slug`, as Segment hands them over. */
export function batchesFor(slug: string, events: SegmentEvent[], size: number): Batch[] {
  const batches: Batch[] = []
  for (let i = 0; i < events.length; i += size) batches.push({ slug, events: events.slice(i, i + size) })
  return batches
}

/** Segment hands an action up to `size` events of its own subscription: identify and track apart. */
export function actionBatches(events: SegmentEvent[], size: number): Record<ActionSlug, Batch[]> {
  const identify = events.filter((event) => kindOf(event) === 'identify')
  const track = events.filter((event) => kindOf(event) === 'track')
  return {
    upsertContact: batchesFor('upsertContact', identify, size),
    trackActivity: batchesFor('trackActivity', track, size)
  }
}

export const collectGarbage = (): void => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc) gc()
}

/** A target with its own sandbox (so no target's state or counts mix with another's). */
export interface Lane {
  target: LaneTarget
  sandbox: Sandbox
  counter: CountingServer
  /**
   * Runs after each reset, before the round: what the sandbox must hold for the batches to be
   * accepted (Sync Audience's audience). Its requests are not counted in the round's figures.
   */
  afterReset?: () => Promise<void>
  /** Runs right before the lane's pass, untimed (points the events at this lane's audience). */
  beforePass?: () => void
}

interface Tally {
  callMs: number[]
  wallMs: number
  cpuMicros: number
  delivered: number
  failed: number
  firstFailure?: string
}

const rotate = <T>(items: T[], by: number): T[] => items.map((_, i) => items[(i + by) % items.length])

async function timedCall(
  lane: Lane,
  batch: Batch,
  settings: Settings,
  statsContext: StatsContext | undefined,
  tally: Tally
): Promise<void> {
  const { destination, mappings } = lane.target
  // The real destination reads the endpoint per call, so each lane's calls reach its own sandbox.
  process.env[LOCAL_ENDPOINT_ENV] = lane.counter.url
  const cpuBefore = process.cpuUsage()
  const start = performance.now()
  const results = await destination.executeBatch(batch.slug, {
    events: batch.events,
    mapping: mappings[batch.slug],
    settings,
    statsContext
  })
  // actions-core keeps every response on the instance otherwise.
  destination.responses.length = 0
  const ms = performance.now() - start
  tally.callMs.push(ms)
  tally.wallMs += ms
  const cpu = process.cpuUsage(cpuBefore)
  tally.cpuMicros += cpu.user + cpu.system

  for (let i = 0; i < batch.events.length; i++) {
    const result = results[i]
    if (result && result.status >= 200 && result.status < 300) {
      tally.delivered++
    } else {
      tally.failed++
      tally.firstFailure ??= result
        ? `${result.status} ${'errormessage' in result ? result.errormessage : ''}`
        : 'no result for the event'
    }
  }
}

/** The counts of the sandbox's `after` stats that `before` does not hold yet. */
function statsSince(
  after: SandboxStats,
  before: SandboxStats
): Pick<SandboxStats, 'requests' | 'byStatus' | 'objectsReceived' | 'objectsAccepted' | 'objectsRejected'> {
  const byStatus: Record<string, number> = {}
  for (const [status, count] of Object.entries(after.byStatus)) {
    const added = count - (before.byStatus[status] ?? 0)
    if (added > 0) byStatus[status] = added
  }
  return {
    requests: after.requests - before.requests,
    byStatus,
    objectsReceived: after.objectsReceived - before.objectsReceived,
    objectsAccepted: after.objectsAccepted - before.objectsAccepted,
    objectsRejected: after.objectsRejected - before.objectsRejected
  }
}

/**
 * One round: every target sends every batch once, in a pass of its own that starts on a
 * collected heap, in an order that rotates with `round`; one figure per target. Every target
 * gets the same `statsContext`.
 */
export async function runRound(
  lanes: Lane[],
  batches: Batch[],
  settings: Settings,
  round: number,
  statsContext?: StatsContext
): Promise<RunFigures[]> {
  const statsBefore = new Map<Lane, SandboxStats>()
  for (const lane of lanes) {
    await lane.sandbox.reset()
    await lane.afterReset?.()
    statsBefore.set(lane, lane.sandbox.stats())
  }
  const events = batches.reduce((sum, batch) => sum + batch.events.length, 0)
  const tallies = new Map<Lane, Tally>(
    lanes.map((lane) => [lane, { callMs: [], wallMs: 0, cpuMicros: 0, delivered: 0, failed: 0 }])
  )
  const bytesBefore = new Map(lanes.map((lane) => [lane, lane.counter.counts()]))

  for (const lane of rotate(lanes, round)) {
    lane.beforePass?.()
    collectGarbage()
    for (const batch of batches) await timedCall(lane, batch, settings, statsContext, tallies.get(lane)!)
  }

  return lanes.map((lane) => {
    const tally = tallies.get(lane)!
    const bytes = difference(lane.counter.counts(), bytesBefore.get(lane)!)
    const stats = statsSince(lane.sandbox.stats(), statsBefore.get(lane)!)
    return {
      target: lane.target.name,
      round,
      events,
      wallMs: tally.wallMs,
      callMs: tally.callMs,
      eventsPerSecond: events / (tally.wallMs / 1000),
      cpuMicrosPerEvent: tally.cpuMicros / events,
      requests: stats.requests,
      countedRequests: bytes.requests,
      bodyBytes: bytes.bodyBytes,
      wireBytes: bytes.wireBytes,
      bodyBytesPerEvent: bytes.bodyBytes / events,
      wireBytesPerEvent: bytes.wireBytes / events,
      byStatus: stats.byStatus,
      objectsReceived: stats.objectsReceived,
      objectsAccepted: stats.objectsAccepted,
      objectsRejected: stats.objectsRejected,
      delivered: tally.delivered,
      failed: tally.failed,
      firstFailure: tally.firstFailure
    }
  })
}
