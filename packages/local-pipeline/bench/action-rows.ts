/**
 * The benchmark's rows per action: trackActivity and upsertContact through this destination,
 * its floor and the naive variant (targets.ts), then syncAudience through Ortto (Audiences) and
 * its own floor (sync-audience-floor.ts). Each target has its own sandbox, mounted in a server
 * that counts request bytes; every target gets the same stats client.
 */
import { createHash } from 'node:crypto'
import type { SegmentEvent } from '@segment/actions-core'
import { LOCAL_ENDPOINT_ENV, type Settings } from 'actions-ortto'
import { startSandbox } from 'ortto-sandbox'
import { actionBatches, type Lane } from './compare'
import { runComparison, type ComparisonResult } from './comparisons'
import { startCountingServer } from './counting-server'
import { benchEvent, userCountFor } from './events'
import { num } from './format'
import { measureOwnWork, type OwnWork } from './own-work'
import { benchStats } from './stats-client'
import { createAudienceLanes, engageEvent } from './sync-audience'
import { createTargets, type ActionSlug } from './targets'

export interface ActionRowOptions {
  /** Events per action per target per round. */
  events: number
  audienceEvents: number
  batchSize: number
  rounds: number
  seed: number
}

export interface ActionRows {
  comparisons: ComparisonResult[]
  ownWork: OwnWork
  problems: string[]
}

const ACTIONS: ActionSlug[] = ['trackActivity', 'upsertContact']

const hashOf = (events: SegmentEvent[]): string => createHash('sha256').update(JSON.stringify(events)).digest('hex')

async function orttoActionRows(
  options: ActionRowOptions,
  settings: Settings,
  log: (line: string) => void
): Promise<ActionRows> {
  // Even indexes are identify calls, odd ones track calls: `events` of each.
  const users = userCountFor(options.events * 2)
  const events = Array.from({ length: options.events * 2 }, (_, i) => benchEvent(options.seed, i, users))
  const eventsHash = hashOf(events)
  const batches = actionBatches(events, options.batchSize)
  const ownWork = await measureOwnWork(batches.trackActivity.flatMap((batch) => batch.events))
  log(
    `\nthis destination's own work: Track Activity's performBatch with an answer stubbed, ${ownWork.eventsPerCall} activities per call: ` +
      `${num(ownWork.withStats, 2)} µs CPU per event (${num(ownWork.withoutStats, 2)} without a stats client)`
  )
  const lanes: Lane[] = []
  for (const target of createTargets()) {
    const sandbox = await startSandbox({ port: 0 })
    lanes.push({ target, sandbox, counter: await startCountingServer((req, res) => sandbox.handle(req, res)) })
  }
  const stats = benchStats()
  const comparisons: ComparisonResult[] = []
  try {
    for (const action of ACTIONS) {
      log(`\n${action}: ${num(options.events)} events per target per round, ${batches[action].length} batches`)
      comparisons.push(
        await runComparison({ action, lanes, batches: batches[action] }, settings, options.rounds, stats, log)
      )
    }
  } finally {
    for (const lane of lanes) {
      await lane.counter.close()
      // Emptied first: a stopped sandbox keeps its store, which would count in the pipeline's memory.
      await lane.sandbox.reset()
      await lane.sandbox.stop()
    }
    delete process.env[LOCAL_ENDPOINT_ENV]
  }
  const problems = comparisons.flatMap((comparison) => comparison.problems)
  if (hashOf(events) !== eventsHash)
    problems.push('the events were changed by a target (their hash differs after the passes)')
  return { comparisons, ownWork, problems }
}

async function syncAudienceRow(
  options: ActionRowOptions,
  settings: Settings,
  log: (line: string) => void
): Promise<ComparisonResult> {
  const users = userCountFor(options.audienceEvents)
  const events = Array.from({ length: options.audienceEvents }, (_, i) => engageEvent(options.seed, i, users))
  const audience = await createAudienceLanes(events, options.batchSize, settings)
  log(
    `\nsyncAudience (Ortto (Audiences)): ${num(options.audienceEvents)} Engage audience events per target per round ` +
      `(50/50 identify/track, 60 % entering), ${audience.batches.length} batches; after each round each ` +
      `target's audience must hold exactly the people the events leave in it`
  )
  try {
    return await runComparison(
      { action: 'syncAudience', lanes: audience.lanes, batches: audience.batches, check: audience.check },
      settings,
      options.rounds,
      benchStats(),
      log
    )
  } finally {
    await audience.close()
    delete process.env[LOCAL_ENDPOINT_ENV]
  }
}

export async function runActionRows(
  options: ActionRowOptions,
  settings: Settings,
  log: (line: string) => void
): Promise<ActionRows> {
  const rows = await orttoActionRows(options, settings, log)
  if (options.audienceEvents > 0) {
    const syncAudience = await syncAudienceRow(options, settings, log)
    rows.comparisons.push(syncAudience)
    rows.problems.push(...syncAudience.problems)
  }
  return rows
}
