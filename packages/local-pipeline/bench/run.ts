/**
 * `npm run bench`: per action (trackActivity, upsertContact, syncAudience), this destination
 * next to a floor (the least work actions-core allows) and, for the two Ortto (Actions) rows, a
 * naive variant, over loopback against the sandbox: throughput, CPU and bytes per event, and the
 * paired per-round ratios this/floor. Then the full local pipeline's end-to-end rate and peak
 * memory, and the sandbox's data file.
 *
 *   node --expose-gc dist/bench/run.js [--events N] [--rounds R] [--audience-events N] [--pipeline-events N] [--json FILE]
 *
 * It prints figures; it is not a test. It exits 1 only when a correctness check fails (an
 * event not delivered, a status other than 200/207, objects missing at the sandbox, an
 * audience whose members are not what the events say, this destination's own figures not
 * matching what the sandbox saw); the performance targets are printed as PASS/FAIL.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { parseArgs } from 'node:util'
import type { Settings } from 'actions-ortto'
import { runActionRows } from './action-rows'
import { actionTable } from './action-table'
import { mib, num, pad, padEnd, statusText } from './format'
import { runPipeline, type PipelineFigures } from './pipeline-run'
import { prefillDataFile, runStoreIngest } from './sandbox-store'
import type { StoreIngestFigures } from './sandbox-store'
import { ingestLine, runIngestBench, type IngestCase } from './ingest-limits'
import { replayLine, replayProblems, runReplayBench, type ReplayRunFigures } from './replay'
import { runEngine } from './engine-report'

const USAGE = `Usage: npm run bench -- [options]
  --events N           events per action through each target per round (default 20000: a pass of 40 batches)
  --batch-size N       events per executeBatch call (default 500, at most 500)
  --rounds R           measured rounds after one warm-up round (default 7); medians and paired ratios over them
  --seed S             seed of the generated events (default 42)
  --audience-events N  Engage audience events through syncAudience per target per round (default: as --events; 0 skips it)
  --pipeline-events N  events through the full local pipeline (default 100000; 0 skips it)
  --flush-at N         analytics-node flushAt for the pipeline run (default 200)
  --store-events N     objects posted straight to the sandbox with a pre-filled data file (default 20000; 0 skips it)
  --store-mb N         size the data file is pre-filled to, in MiB (default 47)
  --pipeline-data-mb N also run the full pipeline with SANDBOX_DATA pre-filled to N MiB (default 0: skipped)
  --ingest-rounds N    rounds of each /v1/batch body with a wide shared context (default 5; 0 skips it)
  --replay-events N    events in the files npm run replay sends, plain then gzip (default 1000000; 0 skips it)
  --engine-events N    events through npm start's delivery engine in processes of their own (default 40000; 0 skips it):
                       CPU against executeBatch, events/s with Ortto answering in 2 s, memory at a full backlog
  --engine-rounds R    measured rounds of the engine's CPU figure, after a warm-up round of all its events (default 15)
  --engine-round-events N  events each side takes in one of those rounds (default 10000)
  --engine-profile DIR profile the pipeline process of the CPU figure (node --cpu-prof into DIR) and print where its time went
  --json FILE          also write every figure as JSON to FILE
  --help               this text

Each round, every target sends all the batches of an action in a pass of its own, on a heap just
collected (global.gc), in an order that rotates from round to round.`

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
  ingestRounds: number
  replayEvents: number
  engineEvents: number
  engineRounds: number
  engineRoundEvents: number
  engineProfile?: string
  json?: string
}

const parseOptions = () =>
  parseArgs({
    options: {
      events: { type: 'string' },
      'batch-size': { type: 'string' },
      rounds: { type: 'string' },
      seed: { type: 'string' },
      'audience-events': { type: 'string' },
      'pipeline-events': { type: 'string' },
      'flush-at': { type: 'string' },
      'store-events': { type: 'string' },
      'store-mb': { type: 'string' },
      'pipeline-data-mb': { type: 'string' },
      'ingest-rounds': { type: 'string' },
      'replay-events': { type: 'string' },
      'engine-events': { type: 'string' },
      'engine-rounds': { type: 'string' },
      'engine-round-events': { type: 'string' },
      'engine-profile': { type: 'string' },
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

  const events = whole('events', values.events, 20_000, 1)
  return {
    events,
    // Ortto takes at most 500 objects per request; the floor and naive variants send a batch as one.
    batchSize: whole('batch-size', values['batch-size'], 500, 1, 500),
    rounds: whole('rounds', values.rounds, 7, 1),
    seed: whole('seed', values.seed, 42, 0),
    audienceEvents: whole('audience-events', values['audience-events'], events, 0),
    pipelineEvents: whole('pipeline-events', values['pipeline-events'], 100_000, 0),
    flushAt: whole('flush-at', values['flush-at'], 200, 1),
    storeEvents: whole('store-events', values['store-events'], 20_000, 0),
    storeMiB: whole('store-mb', values['store-mb'], 47, 0),
    pipelineDataMiB: whole('pipeline-data-mb', values['pipeline-data-mb'], 0, 0),
    ingestRounds: whole('ingest-rounds', values['ingest-rounds'], 5, 0),
    replayEvents: whole('replay-events', values['replay-events'], 1_000_000, 0),
    engineEvents: whole('engine-events', values['engine-events'], 40_000, 0),
    engineRounds: whole('engine-rounds', values['engine-rounds'], 15, 1),
    engineRoundEvents: whole('engine-round-events', values['engine-round-events'], 10_000, 1),
    engineProfile: values['engine-profile'],
    json: values.json
  }
}

// ---- checks ------------------------------------------------------------------------------

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

/** Share of the last minute in which runnable tasks waited for a CPU (Linux PSI), when the kernel says. */
function cpuPressure(): { avg10: number; avg60: number } | undefined {
  try {
    const some = /some avg10=([\d.]+) avg60=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))
    return some ? { avg10: Number(some[1]), avg60: Number(some[2]) } : undefined
  } catch {
    return undefined // not Linux, or no PSI
  }
}

/** Load average and, where the kernel reports it, how much of the time runnable tasks waited for a CPU. */
function machineLoad(): string {
  const [one, five] = os.loadavg()
  const pressure = cpuPressure()
  const psi = pressure ? `, CPU pressure ${num(pressure.avg10, 2)} % (10 s) / ${num(pressure.avg60, 2)} % (60 s)` : ''
  return `load average ${num(one, 2)} (1 min) / ${num(five, 2)} (5 min)${psi}`
}

/** Above this share of time waiting for a CPU, wall-clock figures say more about the machine than the code. */
const BUSY_PRESSURE = 25

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
  const pressureAtStart = cpuPressure()
  console.log('Ortto (Actions) benchmark')
  console.log(
    `machine: ${machine.cpu} · ${machine.cores} cores · ${mib(machine.totalMemoryBytes)} · Node ${machine.node} · ${machine.platform}`
  )
  console.log(
    `events ${num(options.events)} per action per target per round (seed ${options.seed}), batches of ` +
      `${options.batchSize}, 1 warm-up + ${options.rounds} rounds; each target a pass of its own on a collected heap, ` +
      `the order rotating per round; pipeline ${num(options.pipelineEvents)} events` +
      (gcExposed ? '' : '  [run node with --expose-gc: without it no pass starts on a collected heap]')
  )
  console.log(`load at start: ${loadAtStart}`)

  const settings: Settings = { api_key: 'pau-bench-key' }
  console.log('per pass: events/s, CPU µs per event, request body bytes per event, time in executeBatch, requests')
  const rows = await runActionRows(options, settings, (line) => console.log(line))
  const byAction = new Map(rows.comparisons.map((comparison) => [comparison.action, comparison]))

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

  const engine =
    options.engineEvents > 0
      ? await runEngine(
          options.engineEvents,
          options.seed + 2,
          options.engineRounds,
          options.engineRoundEvents,
          options.engineProfile
        )
      : undefined

  let ingest: IngestCase[] | undefined
  if (options.ingestRounds > 0) {
    console.log(`\none /v1/batch call with a wide shared context (${options.ingestRounds} rounds each) …`)
    ingest = await runIngestBench(options.ingestRounds)
    for (const result of ingest) console.log(ingestLine(result))
  }

  const replays: ReplayRunFigures[] = []
  if (options.replayEvents > 0) {
    console.log(`\nnpm run replay: ${num(options.replayEvents)} events per file, into a counting stand-in …`)
    for (const kind of ['plain', 'gzip'] as const) {
      replays.push(await runReplayBench(options.replayEvents, kind))
      console.log(replayLine(replays[replays.length - 1]))
    }
  }

  const problems = [...rows.problems, ...replays.flatMap(replayProblems)]
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
  if (pipeline) problems.push(...checkPipeline(pipeline))
  if (pipelineWithData) problems.push(...checkPipeline(pipelineWithData.figures).map((p) => `with SANDBOX_DATA: ${p}`))

  // ---- the table ----
  const rule = '─'.repeat(112)
  console.log(`\n${rule}`)
  const table = actionTable(rows.comparisons, options.rounds)
  for (const line of table.lines) console.log(line)
  console.log(
    `${padEnd('own work', 15)} performBatch alone ${num(rows.ownWork.withStats, 2)} µs CPU/event ` +
      `(${num(rows.ownWork.withoutStats, 2)} without stats): the rest of each event's cost is actions-core's and the sandbox's`
  )
  console.log(rule)
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
  const pressure = Math.max(pressureAtStart?.avg60 ?? 0, cpuPressure()?.avg60 ?? 0)
  if (pressure > BUSY_PRESSURE) {
    console.log(
      `busy machine           other processes kept tasks waiting for a CPU ${num(pressure)} % of the time: the ` +
        `events/s ratios mostly measure the scheduler; read events/CPU-s`
    )
  }
  console.log(
    `checks                 ${problems.length === 0 ? 'OK' : 'FAILED'}: every pass 200/207 only, every event delivered, ` +
      `sandbox received and accepted every object, events unchanged, this destination's figures as the sandbox saw` +
      `${byAction.has('syncAudience') ? ', audience members as the events say' : ''}` +
      `${pipeline ? ', pipeline delivered all' : ''}`
  )
  for (const problem of problems.slice(0, 20)) console.log(`  ✗ ${problem}`)
  console.log(rule)

  if (options.json) {
    const report = {
      machine,
      load: { atStart: loadAtStart, atEnd: loadAtEnd },
      options,
      gcExposed,
      actions: Object.fromEntries(byAction),
      ownWork: rows.ownWork,
      verdicts: table.verdicts,
      pipeline,
      pipelineWithData,
      store,
      ingest,
      replays,
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
