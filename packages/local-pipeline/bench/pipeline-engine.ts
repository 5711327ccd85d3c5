/**
 * The delivery engine of `npm start`, measured as it runs (issue 15, item 7): the pipeline in a
 * process of its own with its spool on, Ortto a sandbox in another process, the events posted from
 * this one. Three figures:
 *
 * - CPU of the pipeline process per delivered event, as a ratio to `executeBatch` alone on the same
 *   events, each warm in a process of its own against a sandbox process of its own, over several
 *   rounds (median and spread of the per-round ratios);
 * - events/s delivered while Ortto answers every request after 2 s, overall and per subscription
 *   (read from the pipeline's batch log lines as they come);
 * - peak RSS of the pipeline process once it holds a full backlog (20,000 deliveries, Ortto slow).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import type { SegmentEvent } from '@segment/actions-core'
import {
  cpuMicrosOf,
  deliveryOf,
  peakRssOf,
  sendEvents,
  startExecuteBatchProcess,
  startPipelineProcess,
  startSandboxProcess,
  until,
  type Watched
} from './engine-processes'
import { benchEvent, userCountFor } from './events'
import { spreadOf, type Spread } from './ratios'

const WRITE_KEY = 'bench-engine-write-key'
/** ORTTO_REQUESTS_PER_SECOND for the CPU figure: more than the pipeline ever makes, so none waits. */
const UNCAPPED_REQUESTS_PER_SECOND = 1_000
/** Events per /v1/batch call: about 1 kB each, within the 512 kB a call may carry. */
const CALL_SIZE = 200

/** One measured round of the CPU figure: each side took every event once. */
export interface EngineCpuRound {
  round: number
  /** The pipeline took the events before executeBatch did (the order alternates). */
  pipelineFirst: boolean
  pipelineMicrosPerEvent: number
  executeBatchMicrosPerEvent: number
  ratio: number
  /** From the pipeline's first call to its last delivery. */
  wallMs: number
  /** Calls the pipeline answered 503 (it held all it may); the sender tries them again 100 ms later. */
  busy: number
}

export interface EngineFigures {
  cpu?: {
    /** Events of the warm-up round, and of each measured round. */
    events: number
    roundEvents: number
    rounds: EngineCpuRound[]
    /** Over the measured rounds: each round's ratio, and each side's CPU µs per event. */
    ratio: Spread
    /** All the measured rounds' pipeline CPU over all their executeBatch CPU (a cost that comes in some rounds only counts here in full). */
    totalRatio: number
    pipelineMicrosPerEvent: Spread
    executeBatchMicrosPerEvent: Spread
    /** Where the pipeline process's --cpu-prof profile went, when one was asked for. */
    profileDir?: string
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
  body: (urls: { pipeline: string; sandbox: string; pid: number; watched: Watched }) => Promise<T>,
  /** Node flags of the pipeline process; with --cpu-prof it is stopped with SIGTERM, so the profile is written. */
  nodeFlags: string[] = []
): Promise<T> {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'ortto-bench-engine-'))
  const sandbox = await startSandboxProcess(sandboxFlags)
  let pipeline: Awaited<ReturnType<typeof startPipelineProcess>> | undefined
  try {
    pipeline = await startPipelineProcess(
      {
        ORTTO_LOCAL_ENDPOINT: sandbox.url,
        SEGMENT_WRITE_KEY: WRITE_KEY,
        SPOOL_DIR: path.join(folder, 'spool'),
        DEAD_LETTER_FILE: path.join(folder, 'dead.ndjson'),
        ...env
      },
      nodeFlags
    )
    const { url, process: watched } = pipeline
    return await body({ pipeline: url, sandbox: sandbox.url, pid: watched.child.pid as number, watched })
  } finally {
    // A slow sandbox would hold the stop for its whole grace: these are ended at once, unless profiled.
    await pipeline?.process.end(nodeFlags.length > 0 ? 'SIGTERM' : 'SIGKILL')
    await sandbox.process.end('SIGKILL')
    rmSync(folder, { recursive: true, force: true })
  }
}

const delivered = (url: string) => deliveryOf(url, WRITE_KEY)

/** Deliveries that ended (delivered or failed) per the pipeline's batch lines, from line `from` on. */
const ENDED_LINE = /^\[delivery\] \w+: [\d,]+ events? — (\d+) delivered, (\d+) failed/

/**
 * The pipeline's CPU per event against executeBatch's on the same events, both warm: each in a
 * process of its own that stays up for the whole measure (the pipeline with its spool, each with a
 * sandbox process of its own); a warm-up round in which each takes all the events, then `rounds`
 * short measured rounds in which each takes the same `roundEvents` of them (the next slice each
 * round), in an order that alternates: rounds of a second or two, so that load other processes put
 * on the machine, which comes and goes, falls on both sides of a round alike. Per round the ratio
 * of the two; the median and spread of those. Neither process's garbage is collected for it.
 */
async function cpuRatio(
  events: SegmentEvent[],
  seed: number,
  rounds: number,
  roundEvents: number,
  profileDir?: string
): Promise<NonNullable<EngineFigures['cpu']>> {
  let runDir: string | undefined
  if (profileDir !== undefined) {
    // A folder of this run's own inside the one given, so only its profile is read.
    mkdirSync(profileDir, { recursive: true })
    runDir = mkdtempSync(path.join(profileDir, 'engine-'))
  }
  const nodeFlags = runDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${runDir}`]
  return withProcesses(
    [],
    // The sandbox has no plan rate: the pipeline works flat out, as executeBatch alone does. (At 10
    // requests a second it would idle between requests, and work that follows idling costs more CPU
    // and varies more from round to round.)
    { ORTTO_REQUESTS_PER_SECOND: String(UNCAPPED_REQUESTS_PER_SECOND) },
    async ({ pipeline, pid, watched }) => {
      const sandbox = await startSandboxProcess()
      const yardstick = await startExecuteBatchProcess(sandbox.url, events.length, seed)
      try {
        let owed = 0
        let ended = 0
        let read = 0
        const pipelineRound = async (
          taken: SegmentEvent[]
        ): Promise<{ micros: number; wallMs: number; busy: number }> => {
          const before = cpuMicrosOf(pid) ?? NaN
          const start = performance.now()
          const { busy } = await sendEvents(pipeline, WRITE_KEY, taken, { callSize: CALL_SIZE, concurrency: 2 })
          owed += taken.length
          // Read from its log lines, which it prints anyway: polling /status would add work to what is measured.
          await watched.when('delivering every event', (lines) => {
            for (; read < lines.length; read++) {
              const match = ENDED_LINE.exec(lines[read].text)
              if (match) ended += Number(match[1]) + Number(match[2])
            }
            return ended >= owed ? true : undefined
          })
          const micros = (cpuMicrosOf(pid) ?? NaN) - before
          const wallMs = performance.now() - start
          const totals = await delivered(pipeline)
          if (totals.delivered !== owed) throw new Error(`the pipeline delivered ${totals.delivered} of ${owed} events`)
          return { micros, wallMs, busy }
        }
        const yardstickPid = yardstick.process.child.pid as number
        const executeBatchPass = async (from: number, to: number): Promise<number> => {
          const before = cpuMicrosOf(yardstickPid) ?? NaN
          const done = await yardstick.pass(from, to)
          if (done !== to - from) throw new Error(`executeBatch delivered ${done} of ${to - from} events`)
          return (cpuMicrosOf(yardstickPid) ?? NaN) - before
        }
        await pipelineRound(events)
        await executeBatchPass(0, events.length)
        const slices = Math.max(1, Math.floor(events.length / roundEvents))
        const measured: EngineCpuRound[] = []
        for (let round = 1; round <= rounds; round++) {
          const from = ((round - 1) % slices) * roundEvents
          const to = Math.min(events.length, from + roundEvents)
          const pipelineFirst = round % 2 === 1
          const yardstickBefore = pipelineFirst ? undefined : await executeBatchPass(from, to)
          const { micros, wallMs, busy } = await pipelineRound(events.slice(from, to))
          const executeBatchMicros = yardstickBefore ?? (await executeBatchPass(from, to))
          const pipelineMicrosPerEvent = micros / (to - from)
          const executeBatchMicrosPerEvent = executeBatchMicros / (to - from)
          measured.push({
            round,
            pipelineFirst,
            pipelineMicrosPerEvent,
            executeBatchMicrosPerEvent,
            ratio: pipelineMicrosPerEvent / executeBatchMicrosPerEvent,
            wallMs,
            busy
          })
        }
        return {
          events: events.length,
          roundEvents,
          rounds: measured,
          ratio: spreadOf(measured.map((r) => r.ratio)),
          totalRatio:
            measured.reduce((sum, r) => sum + r.pipelineMicrosPerEvent, 0) /
            measured.reduce((sum, r) => sum + r.executeBatchMicrosPerEvent, 0),
          pipelineMicrosPerEvent: spreadOf(measured.map((r) => r.pipelineMicrosPerEvent)),
          executeBatchMicrosPerEvent: spreadOf(measured.map((r) => r.executeBatchMicrosPerEvent)),
          ...(runDir !== undefined && { profileDir: runDir })
        }
      } finally {
        await yardstick.process.end('SIGKILL')
        await sandbox.process.end('SIGKILL')
      }
    },
    nodeFlags
  )
}

const BATCH_LINE = /^\[delivery\] (\w+): [\d,]+ events? — (\d+) delivered/

/** Delivery while Ortto answers after 2 s: events/s, and each subscription's progress. */
async function slowOrtto(events: SegmentEvent[]): Promise<NonNullable<EngineFigures['slowOrtto']>> {
  return withProcesses(['--slow-rate', '1', '--slow-ms', '2000'], {}, async ({ pipeline, watched }) => {
    const start = performance.now()
    await sendEvents(pipeline, WRITE_KEY, events, { callSize: CALL_SIZE, concurrency: 2 })
    await until(
      'the pipeline to deliver everything',
      async () => (await delivered(pipeline)).pending === 0,
      10 * 60_000
    )
    const batches = watched.lines.flatMap(({ at, text }) => {
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

export async function runEngineBenchmarks(options: {
  events: number
  seed: number
  rounds: number
  roundEvents: number
  profileDir?: string
}): Promise<EngineFigures> {
  const users = userCountFor(options.events)
  const events = Array.from({ length: options.events }, (_, i) => benchEvent(options.seed, i, users))
  const figures: EngineFigures = {}
  figures.cpu = await cpuRatio(events, options.seed, options.rounds, options.roundEvents, options.profileDir)
  figures.slowOrtto = await slowOrtto(events)
  // 20,000 is the pipeline's bound (maxPending): exactly a full backlog.
  const backlogUsers = userCountFor(20_000)
  figures.backlog = await fullBacklog(
    Array.from({ length: 20_000 }, (_, i) => events[i] ?? benchEvent(options.seed, i, backlogUsers))
  )
  return figures
}
