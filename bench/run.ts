/**
 * `npm run bench`: prints throughput, CPU and bytes per event of this destination next to a
 * floor (the least work actions-core allows) and a naive variant, over loopback against the
 * sandbox, then the same figures for Ortto (Audiences)' Sync Audience, then the full local
 * pipeline's end-to-end rate and peak memory.
 *
 *   node --expose-gc dist/bench/run.js [--events N] [--rounds R] [--audience-events N] [--pipeline-events N] [--json FILE]
 *
 * It prints figures; it is not a test. It exits 1 only when a correctness check fails (an
 * event not delivered, a status other than 200/207, objects missing at the sandbox, an
 * audience whose members are not what the events say); the performance targets are printed as
 * PASS/FAIL.
 */
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parseArgs } from 'node:util'
import type { SegmentEvent } from '@segment/actions-core'
import { LOCAL_ENDPOINT_ENV } from '../src/destinations/ortto/constants'
import type { Settings } from '../src/destinations/ortto/generated-types'
import { startSandbox } from '../src/sandbox'
import { batchesOf, runRound, type Interleave, type Lane, type RunFigures } from './compare'
import { startCountingServer } from './counting-server'
import { benchEvent, userCountFor } from './events'
import { runPipeline, type PipelineFigures } from './pipeline-run'
import { prefillDataFile, runStoreIngest } from './sandbox-store'
import type { StoreIngestFigures } from './sandbox-store'
import { createAudienceLane, engageEvent } from './sync-audience'
import { createTargets, type TargetName } from './targets'
import { runEngine } from './engine-report'

const USAGE = `Usage: node --expose-gc dist/bench/run.js [options]
  --events N           events through each target per round (default 20000; half identify, half track)
  --batch-size N       events per executeBatch call (default 500, at most 500)
  --rounds R           measured rounds after one warm-up round (default 5); the median is reported
  --interleave MODE    batch (default): each batch goes to every target in turn within a round;
                       pass: each target sends all its batches before the next (order rotates per round)
  --seed S             seed of the generated events (default 42)
  --audience-events N  Engage audience events through syncAudience per round (default: as --events; 0 skips it)
  --pipeline-events N  events through the full local pipeline (default 100000; 0 skips it)
  --flush-at N         analytics-node flushAt for the pipeline run (default 200)
  --store-events N     objects posted straight to the sandbox with a pre-filled data file (default 20000; 0 skips it)
  --store-mb N         size the data file is pre-filled to, in MiB (default 47)
  --pipeline-data-mb N also run the full pipeline with SANDBOX_DATA pre-filled to N MiB (default 0: skipped)
  --engine-events N    events through npm start's delivery engine in processes of their own (default 40000; 0 skips it):
                       CPU against executeBatch, events/s with Ortto answering in 2 s, memory at a full backlog
  --json FILE          also write every figure as JSON to FILE
  --help               this text`

const THROUGHPUT_TARGET = 0.95
const BYTES_TARGET = 0.9

interface Options {
  events: number
  batchSize: number
  rounds: number
  seed: number
  audienceEvents: number
  pipelineEvents: number
  flushAt: number
  storeEvents: number
  storeMiB: number
  pipelineDataMiB: number
  engineEvents: number
  interleave: Interleave
  json?: string
}

const parseOptions = () =>
  parseArgs({
    options: {
      events: { type: 'string' },
      'batch-size': { type: 'string' },
      rounds: { type: 'string' },
      interleave: { type: 'string' },
      seed: { type: 'string' },
      'audience-events': { type: 'string' },
      'pipeline-events': { type: 'string' },
      'flush-at': { type: 'string' },
      'store-events': { type: 'string' },
      'store-mb': { type: 'string' },
      'pipeline-data-mb': { type: 'string' },
      'engine-events': { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean' }
    }
  })

function readOptions(): Options {
  let parsed: ReturnType<typeof parseOptions>
  try {
    parsed = parseOptions()
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`)
    process.exit(2)
  }
  const { values } = parsed
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const whole = (name: string, raw: string | undefined, fallback: number, min: number, max = Infinity): number => {
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!Number.isInteger(value) || value < min || value > max) {
      const range = max === Infinity ? `at least ${min}` : `from ${min} to ${max}`
      console.error(`--${name} must be a whole number ${range} (got "${raw}")\n\n${USAGE}`)
      process.exit(2)
    }
    return value
  }

  const interleave = values.interleave ?? 'batch'
  if (interleave !== 'batch' && interleave !== 'pass') {
    console.error(`--interleave must be batch or pass (got "${interleave}")\n\n${USAGE}`)
    process.exit(2)
  }
  const events = whole('events', values.events, 20_000, 2)
  return {
    interleave,
    events,
    // Ortto takes at most 500 objects per request; the floor and naive variants send a batch as one.
    batchSize: whole('batch-size', values['batch-size'], 500, 1, 500),
    rounds: whole('rounds', values.rounds, 5, 1),
    seed: whole('seed', values.seed, 42, 0),
    audienceEvents: whole('audience-events', values['audience-events'], events, 0),
    pipelineEvents: whole('pipeline-events', values['pipeline-events'], 100_000, 0),
    flushAt: whole('flush-at', values['flush-at'], 200, 1),
    storeEvents: whole('store-events', values['store-events'], 20_000, 0),
    storeMiB: whole('store-mb', values['store-mb'], 47, 0),
    pipelineDataMiB: whole('pipeline-data-mb', values['pipeline-data-mb'], 0, 0),
    engineEvents: whole('engine-events', values['engine-events'], 40_000, 0),
    json: values.json
  }
}

// ---- formatting --------------------------------------------------------------------------

const num = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const mib = (bytes: number): string => `${num(bytes / 1024 / 1024, 1)} MiB`
const pad = (text: string, width: number): string => text.padStart(width)
const padEnd = (text: string, width: number): string => text.padEnd(width)

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const statusText = (byStatus: Record<string, number>): string =>
  Object.entries(byStatus)
    .map(([status, count]) => `${status}×${count}`)
    .join(' ')

function runLine(run: RunFigures, label: string): string {
  return (
    `  ${padEnd(label, 7)} ${padEnd(run.target, 6)} ${pad(num(run.eventsPerSecond), 8)} ev/s ` +
    `${pad(num(run.cpuMicrosPerEvent, 1), 7)} µs/ev ${pad(num(run.bodyBytesPerEvent, 1), 8)} B/ev ` +
    `${pad(num(run.wallMs), 6)} ms  ${run.requests} req [${statusText(run.byStatus)}]  ` +
    `delivered ${num(run.delivered)}/${num(run.events)}  sandbox objects ${num(run.objectsReceived)}`
  )
}

/** Medians over the measured rounds; delivered and objects are the lowest of any round. */
interface TargetSummary {
  label: string
  eventsPerSecond: number
  minEventsPerSecond: number
  maxEventsPerSecond: number
  cpuMicrosPerEvent: number
  bodyBytesPerEvent: number
  wireBytesPerEvent: number
  requests: number
  delivered: number
  objectsReceived: number
}

function summarize(label: string, mine: RunFigures[]): TargetSummary {
  const eventsPerSecond = mine.map((r) => r.eventsPerSecond)
  return {
    label,
    eventsPerSecond: median(eventsPerSecond),
    minEventsPerSecond: Math.min(...eventsPerSecond),
    maxEventsPerSecond: Math.max(...eventsPerSecond),
    cpuMicrosPerEvent: median(mine.map((r) => r.cpuMicrosPerEvent)),
    bodyBytesPerEvent: median(mine.map((r) => r.bodyBytesPerEvent)),
    wireBytesPerEvent: median(mine.map((r) => r.wireBytesPerEvent)),
    requests: median(mine.map((r) => r.requests)),
    delivered: Math.min(...mine.map((r) => r.delivered)),
    objectsReceived: Math.min(...mine.map((r) => r.objectsReceived))
  }
}

// ---- checks ------------------------------------------------------------------------------

function checkRun(run: RunFigures): string[] {
  const problems: string[] = []
  const where = `${run.target} round ${run.round}`
  const badStatuses = Object.keys(run.byStatus).filter((status) => status !== '200' && status !== '207')
  if (badStatuses.length > 0) problems.push(`${where}: sandbox answered ${statusText(run.byStatus)}`)
  if (run.delivered !== run.events) {
    problems.push(`${where}: ${run.delivered}/${run.events} delivered (first failure: ${run.firstFailure ?? '?'})`)
  }
  if (run.objectsReceived !== run.events) {
    problems.push(`${where}: the sandbox received ${run.objectsReceived} objects for ${run.events} events`)
  }
  if (run.countedRequests !== run.requests) {
    problems.push(`${where}: ${run.countedRequests} requests counted but the sandbox answered ${run.requests}`)
  }
  if (run.objectsAccepted !== run.events) {
    problems.push(`${where}: the sandbox accepted ${run.objectsAccepted} of ${run.events} objects`)
  }
  return problems
}

function checkPipeline(figures: PipelineFigures): string[] {
  const problems: string[] = []
  if (figures.timedOut) problems.push(`pipeline: timed out with ${figures.pending} deliveries pending`)
  if (figures.received !== figures.events) problems.push(`pipeline: took in ${figures.received}/${figures.events}`)
  if (figures.delivered !== figures.events) problems.push(`pipeline: delivered ${figures.delivered}/${figures.events}`)
  if (figures.clientErrors > 0) {
    problems.push(
      `pipeline: analytics-node reported ${figures.clientErrors} errors (${figures.clientFirstError ?? '?'})`
    )
  }
  if (figures.sandboxObjectsReceived !== figures.events) {
    problems.push(`pipeline: the sandbox received ${figures.sandboxObjectsReceived} objects`)
  }
  return problems
}

/** Load average and, where the kernel reports it, how much of the time runnable tasks waited for a CPU. */
function machineLoad(): string {
  const [one, five] = os.loadavg()
  let pressure = ''
  try {
    const some = /some avg10=([\d.]+) avg60=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))
    if (some) pressure = `, CPU pressure ${some[1]} % (10 s) / ${some[2]} % (60 s)`
  } catch {
    // not Linux, or no PSI
  }
  return `load average ${num(one, 2)} (1 min) / ${num(five, 2)} (5 min)${pressure}`
}

const hashOf = (events: SegmentEvent[]): string => createHash('sha256').update(JSON.stringify(events)).digest('hex')

// ---- main --------------------------------------------------------------------------------

async function main(): Promise<void> {
  const options = readOptions()
  const gcExposed = typeof (globalThis as { gc?: unknown }).gc === 'function'
  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    totalMemoryBytes: os.totalmem(),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`
  }
  const loadAtStart = machineLoad()
  console.log('Ortto (Actions) benchmark')
  console.log(
    `machine: ${machine.cpu} · ${machine.cores} cores · ${mib(machine.totalMemoryBytes)} · Node ${machine.node} · ${machine.platform}`
  )
  console.log(
    `events ${num(options.events)} per target per round (50/50 identify/track, seed ${options.seed}), ` +
      `batches of ${options.batchSize}, 1 warm-up + ${options.rounds} rounds, pipeline ${num(options.pipelineEvents)} events` +
      (gcExposed ? '' : '  [run node with --expose-gc for a GC between passes]')
  )
  console.log(`load at start: ${loadAtStart}`)

  const users = userCountFor(options.events)
  const events = Array.from({ length: options.events }, (_, i) => benchEvent(options.seed, i, users))
  const eventsHash = hashOf(events)
  const batches = batchesOf(events, options.batchSize)
  const settings: Settings = { api_key: 'pau-bench-key' }

  const targets = createTargets()
  const lanes: Lane[] = []
  for (const target of targets) {
    const sandbox = await startSandbox({ port: 0 })
    lanes.push({ target, sandbox, counter: await startCountingServer((req, res) => sandbox.handle(req, res)) })
  }
  console.log(
    `each target has its own sandbox, its router mounted in a server that counts request bytes; ` +
      `${batches.length} executeBatch calls per target per round, interleaved per ${options.interleave}\n`
  )

  const runs: RunFigures[] = []
  try {
    console.log('rounds (events/s, CPU µs per event, request body bytes per event, time in executeBatch, requests):')
    for (const run of await runRound(lanes, batches, settings, 0, options.interleave))
      console.log(runLine(run, 'warm-up'))
    for (let round = 1; round <= options.rounds; round++) {
      for (const run of await runRound(lanes, batches, settings, round, options.interleave)) {
        runs.push(run)
        console.log(runLine(run, `round ${round}`))
      }
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
  const eventsUnchanged = hashOf(events) === eventsHash

  const summary = {} as Record<TargetName, TargetSummary>
  for (const target of targets) {
    summary[target.name] = summarize(
      target.label,
      runs.filter((run) => run.target === target.name)
    )
  }

  const throughputRatio = summary.this.eventsPerSecond / summary.floor.eventsPerSecond
  const perRoundRatios = Array.from({ length: options.rounds }, (_, i) => {
    const of = (name: TargetName) => runs.find((r) => r.round === i + 1 && r.target === name)!.eventsPerSecond
    return of('this') / of('floor')
  })
  // Robust to a pause (GC, another process) landing on one call: the same batch, same round, side by side.
  const perCallRatio = median(
    runs
      .filter((run) => run.target === 'this')
      .flatMap((mine) => {
        const floor = runs.find((run) => run.target === 'floor' && run.round === mine.round)!
        return mine.callMs.map((ms, i) => floor.callMs[i] / ms)
      })
  )
  const bytesRatio = summary.this.bodyBytesPerEvent / summary.naive.bodyBytesPerEvent
  const cpuRatio = summary.this.cpuMicrosPerEvent / summary.floor.cpuMicrosPerEvent

  // The pipeline's memory figures should not carry this part's events.
  events.length = 0
  batches.length = 0

  let syncAudience: { summary: TargetSummary; runs: RunFigures[]; problems: string[] } | undefined
  if (options.audienceEvents > 0) {
    const audienceUsers = userCountFor(options.audienceEvents)
    const audienceEvents = Array.from({ length: options.audienceEvents }, (_, i) =>
      engageEvent(options.seed, i, audienceUsers)
    )
    const audience = await createAudienceLane(audienceEvents, options.batchSize, settings)
    console.log(
      `\nsyncAudience (Ortto (Audiences)): ${num(options.audienceEvents)} Engage audience events per round ` +
        `(50/50 identify/track, 60 % entering), batches of ${options.batchSize}, its own sandbox; ` +
        `after each round its audience must hold exactly the people the events leave in it`
    )
    const audienceRuns: RunFigures[] = []
    const audienceProblems: string[] = []
    try {
      for (let round = 0; round <= options.rounds; round++) {
        const [run] = await runRound([audience.lane], audience.batches, settings, round, 'batch')
        audienceProblems.push(...audience.check(round))
        if (round > 0) audienceRuns.push(run)
        console.log(runLine(run, round === 0 ? 'warm-up' : `round ${round}`))
      }
    } finally {
      await audience.close()
      delete process.env[LOCAL_ENDPOINT_ENV]
    }
    audienceProblems.push(...audienceRuns.flatMap(checkRun))
    syncAudience = {
      summary: summarize(audience.lane.target.label, audienceRuns),
      runs: audienceRuns,
      problems: audienceProblems
    }
    audienceEvents.length = 0
  }

  let pipeline: PipelineFigures | undefined
  if (options.pipelineEvents > 0) {
    console.log(
      `\nfull local pipeline: ${num(options.pipelineEvents)} events via analytics-node → ingest → delivery → sandbox …`
    )
    pipeline = await runPipeline({
      events: options.pipelineEvents,
      seed: options.seed + 1,
      flushAt: options.flushAt,
      window: 5_000,
      timeoutMs: 10 * 60_000
    })
    console.log(
      `  ${num(pipeline.eventsPerSecond)} events/s end to end, ${num(pipeline.wallMs)} ms; CPU per event: pipeline process ` +
        `${num(pipeline.cpuMicrosPerEvent, 1)} µs, source process ${num(pipeline.clientCpuMicrosPerEvent, 1)} µs; ` +
        `delivered ${num(pipeline.delivered)}, failed ${num(pipeline.failed)}, retried ${num(pipeline.retried)}; ` +
        `sandbox ${pipeline.sandboxRequests} requests [${statusText(pipeline.sandboxByStatus)}], ` +
        `${num(pipeline.sandboxObjectsReceived)} objects`
    )
  }

  let pipelineWithData: { storeBytes: number; figures: PipelineFigures } | undefined
  if (options.pipelineEvents > 0 && options.pipelineDataMiB > 0) {
    const folder = mkdtempSync(path.join(os.tmpdir(), 'ortto-bench-pipeline-'))
    try {
      const dataFile = path.join(folder, 'state.json')
      const storeBytes = prefillDataFile(dataFile, options.pipelineDataMiB * 1024 * 1024)
      console.log(`
the same pipeline run with SANDBOX_DATA pre-filled to ${mib(storeBytes)} …`)
      const figures = await runPipeline({
        events: options.pipelineEvents,
        seed: options.seed + 1,
        flushAt: options.flushAt,
        window: 5_000,
        timeoutMs: 10 * 60_000,
        dataFile
      })
      pipelineWithData = { storeBytes, figures }
      console.log(
        `  ${num(figures.eventsPerSecond)} events/s end to end, ${num(figures.wallMs)} ms; ` +
          `delivered ${num(figures.delivered)}, failed ${num(figures.failed)}, retried ${num(figures.retried)}`
      )
    } finally {
      rmSync(folder, { recursive: true, force: true })
    }
  }

  let store: StoreIngestFigures | undefined
  if (options.storeEvents > 0) {
    console.log(
      `\nsandbox ingest: ${num(options.storeEvents)} objects posted straight to the sandbox, in memory only, ` +
        `then with a data file pre-filled to ${options.storeMiB} MiB …`
    )
    store = await runStoreIngest({ events: options.storeEvents, storeMiB: options.storeMiB, concurrency: 4 })
    for (const [label, figures] of [
      ['in memory only', store.memoryOnly],
      [`with a ${mib(store.storeBytes)} data file`, store.withDataFile]
    ] as const) {
      console.log(
        `  ${padEnd(label, 28)} ${pad(num(figures.eventsPerSecond), 8)} events/s  ${pad(num(figures.wallMs), 6)} ms` +
          (figures.diskBytesPerEvent === undefined
            ? ''
            : `  ${num(figures.diskBytesPerEvent)} disk bytes written/event`) +
          `  [${statusText(figures.statuses)}]`
      )
    }
    console.log(`  loading the data file took ${num(store.loadMs)} ms, stop() ${num(store.stopMs)} ms`)
  }

  const engine = options.engineEvents > 0 ? await runEngine(options.engineEvents, options.seed + 2) : undefined

  const problems = runs.flatMap(checkRun)
  if (syncAudience) problems.push(...syncAudience.problems)
  if (store) {
    for (const [label, figures] of [
      ['in memory', store.memoryOnly],
      ['with a data file', store.withDataFile]
    ] as const) {
      if (Object.keys(figures.statuses).some((status) => status !== '200')) {
        problems.push(`sandbox ingest ${label}: answers ${statusText(figures.statuses)}`)
      }
    }
  }
  if (!eventsUnchanged) problems.push('the events were changed by a target (their hash differs after the passes)')
  if (pipeline) problems.push(...checkPipeline(pipeline))
  if (pipelineWithData) problems.push(...checkPipeline(pipelineWithData.figures).map((p) => `with SANDBOX_DATA: ${p}`))

  // ---- the table ----
  const rule = '─'.repeat(112)
  console.log(`\n${rule}`)
  console.log(
    `${padEnd('target (median of ' + options.rounds + ' rounds)', 40)}${pad('events/s', 10)}${pad('min–max', 17)}` +
      `${pad('CPU µs/ev', 11)}${pad('body B/ev', 11)}${pad('wire B/ev', 11)}${pad('requests', 10)}${pad('delivered', 11)}` +
      `${pad('objects', 9)}`
  )
  const rows = [...targets.map((target) => summary[target.name]), ...(syncAudience ? [syncAudience.summary] : [])]
  for (const s of rows) {
    console.log(
      `${padEnd(s.label, 40)}${pad(num(s.eventsPerSecond), 10)}${pad(`${num(s.minEventsPerSecond)}–${num(s.maxEventsPerSecond)}`, 17)}` +
        `${pad(num(s.cpuMicrosPerEvent, 1), 11)}${pad(num(s.bodyBytesPerEvent, 1), 11)}${pad(num(s.wireBytesPerEvent, 1), 11)}` +
        `${pad(num(s.requests), 10)}${pad(num(s.delivered), 11)}${pad(num(s.objectsReceived), 9)}`
    )
  }
  console.log(rule)
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL')
  console.log(
    `throughput this/floor  ${num(throughputRatio, 3)}  (target ≥ ${THROUGHPUT_TARGET})  ${verdict(throughputRatio >= THROUGHPUT_TARGET)}` +
      `   per round: ${perRoundRatios.map((r) => num(r, 3)).join(' ')}; median per call: ${num(perCallRatio, 3)}`
  )
  console.log(
    `bytes/event this/naive ${num(bytesRatio, 3)}  (target ≤ ${BYTES_TARGET})  ${verdict(bytesRatio <= BYTES_TARGET)}` +
      `   (CPU/event this/floor ${num(cpuRatio, 3)})`
  )
  if (syncAudience) {
    const s = syncAudience.summary
    console.log(
      `syncAudience           ${num(s.eventsPerSecond)} events/s, ${num(s.cpuMicrosPerEvent, 1)} µs CPU/event, ` +
        `${num(s.bodyBytesPerEvent, 1)} request bytes/event (${num(s.requests)} PUT /v1/audiences/members per round); ` +
        `audience membership ${syncAudience.problems.length === 0 ? 'as the events say' : 'WRONG'} after every round`
    )
  }
  if (pipeline) {
    const m = pipeline.memory
    console.log(
      `full pipeline          ${num(pipeline.eventsPerSecond)} events/s end to end (${num(pipeline.events)} events, ` +
        `${num(pipeline.wallMs / 1000, 1)} s); pipeline process ${num(pipeline.cpuMicrosPerEvent, 1)} µs CPU/event ` +
        `(≈ ${num(1e6 / pipeline.cpuMicrosPerEvent)} events/s per core), ` +
        `analytics-node source ${num(pipeline.clientCpuMicrosPerEvent, 1)} µs CPU/event`
    )
    console.log(
      `memory                 peak RSS ${mib(m.peakRssBytes)} (baseline ${mib(m.baselineRssBytes)}), ` +
        `peak heapUsed ${mib(m.peakHeapUsedBytes)} (baseline ${mib(m.baselineHeapUsedBytes)}); ${m.samples} samples; ` +
        `pipeline backlog peaked at ${num(m.peakPending)} deliveries` +
        (m.heapAfterDeliveryBytes !== undefined && m.heapAfterSandboxResetBytes !== undefined
          ? `; sandbox store held ${mib(m.heapAfterDeliveryBytes - m.heapAfterSandboxResetBytes)} at the end`
          : '')
    )
  }
  if (pipelineWithData) {
    console.log(
      `pipeline + data file   ${num(pipelineWithData.figures.eventsPerSecond)} events/s end to end with ` +
        `${mib(pipelineWithData.storeBytes)} stored (SANDBOX_DATA)`
    )
  }
  if (store) {
    const disk = store.withDataFile.diskBytesPerEvent
    console.log(
      `sandbox data file      ${num(store.withDataFile.eventsPerSecond)} events/s with ${mib(store.storeBytes)} stored ` +
        `vs ${num(store.memoryOnly.eventsPerSecond)} in memory only` +
        (disk === undefined ? '' : `; ${num(disk)} bytes written to disk per event`)
    )
  }
  const loadAtEnd = machineLoad()
  console.log(`load                   at start ${loadAtStart}; at end ${loadAtEnd}`)
  console.log(
    `checks                 ${problems.length === 0 ? 'OK' : 'FAILED'}: every pass 200/207 only, every event delivered, ` +
      `sandbox received and accepted every object, events unchanged` +
      `${syncAudience ? ', audience members as the events say' : ''}${pipeline ? ', pipeline delivered all' : ''}`
  )
  for (const problem of problems.slice(0, 20)) console.log(`  ✗ ${problem}`)
  console.log(rule)

  if (options.json) {
    const report = {
      machine,
      load: { atStart: loadAtStart, atEnd: loadAtEnd },
      options,
      gcExposed,
      targets: summary,
      ratios: {
        throughputThisOverFloor: throughputRatio,
        throughputPerRound: perRoundRatios,
        throughputMedianPerCall: perCallRatio,
        bytesThisOverNaive: bytesRatio,
        cpuThisOverFloor: cpuRatio
      },
      verdicts: {
        throughput: { target: THROUGHPUT_TARGET, pass: throughputRatio >= THROUGHPUT_TARGET },
        bytes: { target: BYTES_TARGET, pass: bytesRatio <= BYTES_TARGET }
      },
      runs,
      syncAudience,
      pipeline,
      pipelineWithData,
      store,
      engine,
      problems
    }
    writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`)
    console.log(`figures written to ${options.json}`)
  }
  if (problems.length > 0) process.exitCode = 1
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
