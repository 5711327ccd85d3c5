/**
 * The delivery engine of `npm start`, measured as it runs (issue 15, item 7): the pipeline in a
 * process of its own with its spool on, Ortto a sandbox in another process, the events posted from
 * this one. Three figures:
 *
 * - CPU of the pipeline process per delivered event, as a ratio to `executeBatch` alone on the same
 *   events against the same sandbox (in this process, after a warm-up pass);
 * - events/s delivered while Ortto answers every request after 2 s, overall and per subscription
 *   (read from the pipeline's batch log lines as they come);
 * - peak RSS of the pipeline process once it holds a full backlog (20,000 deliveries, Ortto slow).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { Destination, type SegmentEvent } from '@segment/actions-core'
import { ortto as definition, LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import { ORTTO } from '../src/pipeline/destinations'
import { presetSubscriptions } from '../src/pipeline/subscriptions'
import { actionBatches, collectGarbage } from './compare'
import {
  cpuMicrosOf,
  deliveryOf,
  peakRssOf,
  sendEvents,
  startPipelineProcess,
  startSandboxProcess,
  until
} from './engine-processes'
import { benchEvent, userCountFor } from './events'

const WRITE_KEY = 'bench-engine-write-key'
/** Events per /v1/batch call: about 1 kB each, within the 512 kB a call may carry. */
const CALL_SIZE = 200

export interface EngineFigures {
  cpu?: {
    events: number
    pipelineMicrosPerEvent: number
    executeBatchMicrosPerEvent: number
    ratio: number
    wallMs: number
  }
  slowOrtto?: {
    events: number
    eventsPerSecond: number
    steadyEventsPerSecond: number
    /** Per subscription: events delivered, its rate from its first to its last batch, the longest gap between two of its batches. */
    bySubscription: Record<string, { delivered: number; eventsPerSecond: number; longestGapMs: number }>
  }
  backlog?: { held: number; peakRssBytes: number; busyAnswers: number }
}

/** Runs `body` with a sandbox process and a pipeline process on a fresh spool; both are ended after. */
async function withProcesses<T>(
  sandboxFlags: string[],
  env: NodeJS.ProcessEnv,
  body: (urls: {
    pipeline: string
    sandbox: string
    pid: number
    lines: () => Array<{ at: number; text: string }>
  }) => Promise<T>
): Promise<T> {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'ortto-bench-engine-'))
  const sandbox = await startSandboxProcess(sandboxFlags)
  let pipeline: Awaited<ReturnType<typeof startPipelineProcess>> | undefined
  try {
    pipeline = await startPipelineProcess({
      ORTTO_LOCAL_ENDPOINT: sandbox.url,
      SEGMENT_WRITE_KEY: WRITE_KEY,
      SPOOL_DIR: path.join(folder, 'spool'),
      DEAD_LETTER_FILE: path.join(folder, 'dead.ndjson'),
      ...env
    })
    const { url, process: watched } = pipeline
    return await body({
      pipeline: url,
      sandbox: sandbox.url,
      pid: watched.child.pid as number,
      lines: () => watched.lines
    })
  } finally {
    // A slow sandbox would hold the stop for its whole grace: these are ended at once.
    await pipeline?.process.end('SIGKILL')
    await sandbox.process.end('SIGKILL')
    rmSync(folder, { recursive: true, force: true })
  }
}

const delivered = (url: string) => deliveryOf(url, WRITE_KEY)

/** The pipeline's CPU per event against executeBatch's on the same events. */
async function cpuRatio(events: SegmentEvent[]): Promise<NonNullable<EngineFigures['cpu']>> {
  const pipeline = await withProcesses([], {}, async ({ pipeline, pid }) => {
    const before = cpuMicrosOf(pid) ?? NaN
    const start = performance.now()
    await sendEvents(pipeline, WRITE_KEY, events, { callSize: CALL_SIZE, concurrency: 2 })
    await until(
      'the pipeline to deliver everything',
      async () => {
        const totals = await delivered(pipeline)
        return totals.delivered + totals.failed >= events.length && totals.pending === 0
      },
      10 * 60_000
    )
    return { micros: (cpuMicrosOf(pid) ?? NaN) - before, wallMs: performance.now() - start }
  })
  // executeBatch alone: the same events in Segment's batches of 500 per action, presets' mappings.
  const sandbox = await startSandboxProcess()
  const saved = process.env[LOCAL_ENDPOINT_ENV]
  try {
    process.env[LOCAL_ENDPOINT_ENV] = sandbox.url
    const destination = new Destination(definition)
    const mappings = Object.fromEntries(presetSubscriptions(ORTTO).map((s) => [s.partnerAction, s.mapping]))
    const byAction = actionBatches(events, 500)
    const batches = [...byAction.upsertContact, ...byAction.trackActivity]
    const pass = async () => {
      const cpu = process.cpuUsage()
      for (const batch of batches) {
        await destination.executeBatch(batch.slug, {
          events: batch.events,
          mapping: mappings[batch.slug],
          settings: { api_key: 'pau-bench-engine-key' }
        })
        destination.responses.length = 0
      }
      const used = process.cpuUsage(cpu)
      return used.user + used.system
    }
    await pass()
    collectGarbage()
    const executeBatchMicros = await pass()
    const pipelineMicrosPerEvent = pipeline.micros / events.length
    const executeBatchMicrosPerEvent = executeBatchMicros / events.length
    return {
      events: events.length,
      pipelineMicrosPerEvent,
      executeBatchMicrosPerEvent,
      ratio: pipelineMicrosPerEvent / executeBatchMicrosPerEvent,
      wallMs: pipeline.wallMs
    }
  } finally {
    if (saved === undefined) delete process.env[LOCAL_ENDPOINT_ENV]
    else process.env[LOCAL_ENDPOINT_ENV] = saved
    await sandbox.process.end('SIGKILL')
  }
}

const BATCH_LINE = /^\[delivery\] (\w+): [\d,]+ events? — (\d+) delivered/

/** Delivery while Ortto answers after 2 s: events/s, and each subscription's progress. */
async function slowOrtto(events: SegmentEvent[]): Promise<NonNullable<EngineFigures['slowOrtto']>> {
  return withProcesses(['--slow-rate', '1', '--slow-ms', '2000'], {}, async ({ pipeline, lines }) => {
    const start = performance.now()
    await sendEvents(pipeline, WRITE_KEY, events, { callSize: CALL_SIZE, concurrency: 2 })
    await until(
      'the pipeline to deliver everything',
      async () => (await delivered(pipeline)).pending === 0,
      10 * 60_000
    )
    const batches = lines().flatMap(({ at, text }) => {
      const match = BATCH_LINE.exec(text)
      return match ? [{ at, action: match[1], delivered: Number(match[2]) }] : []
    })
    const bySubscription: NonNullable<EngineFigures['slowOrtto']>['bySubscription'] = {}
    for (const action of new Set(batches.map((b) => b.action))) {
      const own = batches.filter((b) => b.action === action)
      const count = own.reduce((sum, b) => sum + b.delivered, 0)
      const gaps = own.slice(1).map((b, i) => b.at - own[i].at)
      bySubscription[action] = {
        delivered: count,
        eventsPerSecond: count / ((own[own.length - 1].at - start) / 1000),
        longestGapMs: Math.max(0, ...gaps)
      }
    }
    const total = batches.reduce((sum, b) => sum + b.delivered, 0)
    const first = batches[0]?.at ?? start
    const last = batches[batches.length - 1]?.at ?? start
    return {
      events: events.length,
      eventsPerSecond: total / ((last - start) / 1000),
      steadyEventsPerSecond: total / ((last - first) / 1000),
      bySubscription
    }
  })
}

/** Peak RSS of the pipeline process holding a full backlog: Ortto answers nothing for two minutes. */
async function fullBacklog(events: SegmentEvent[]): Promise<NonNullable<EngineFigures['backlog']>> {
  return withProcesses(['--slow-rate', '1', '--slow-ms', '120000'], {}, async ({ pipeline, pid }) => {
    const { busy } = await sendEvents(pipeline, WRITE_KEY, events, { callSize: CALL_SIZE, concurrency: 2 })
    const held = (await delivered(pipeline)).pending
    return { held, peakRssBytes: peakRssOf(pid) ?? NaN, busyAnswers: busy }
  })
}

export async function runEngineBenchmarks(options: { events: number; seed: number }): Promise<EngineFigures> {
  const users = userCountFor(options.events)
  const events = Array.from({ length: options.events }, (_, i) => benchEvent(options.seed, i, users))
  const figures: EngineFigures = {}
  figures.cpu = await cpuRatio(events)
  figures.slowOrtto = await slowOrtto(events)
  // 20,000 is the pipeline's bound (maxPending): exactly a full backlog.
  const backlogUsers = userCountFor(20_000)
  figures.backlog = await fullBacklog(
    Array.from({ length: 20_000 }, (_, i) => events[i] ?? benchEvent(options.seed, i, backlogUsers))
  )
  return figures
}
