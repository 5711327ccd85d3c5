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
import { writeFileSync } from 'node:fs'
import type { Settings } from 'actions-ortto'
import { runActionRows } from './action-rows'
import { actionTable } from './action-table'
import { num, padEnd } from './format'
import { BUSY_PRESSURE, cpuPressure, describeMachine, machineLine, machineLoad } from './machine'
import { readOptions } from './options'
import { benchPipeline, pipelineProblems, pipelineSummary } from './pipeline-report'
import { benchStore, storeProblems, storeSummary } from './store-report'
import { ingestLine, runIngestBench, type IngestCase } from './ingest-limits'
import { replayLine, replayProblems, runReplayBench, type ReplayRunFigures } from './replay'
import { runEngine } from './engine-report'

async function main(): Promise<void> {
  const options = readOptions()
  const gcExposed = typeof (globalThis as { gc?: unknown }).gc === 'function'
  const machine = describeMachine()
  const loadAtStart = machineLoad()
  const pressureAtStart = cpuPressure()
  console.log('Ortto (Actions) benchmark')
  console.log(machineLine(machine))
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

  const pipelines = await benchPipeline(options)
  const store = await benchStore(options)

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

  const problems = [
    ...rows.problems,
    ...replays.flatMap(replayProblems),
    ...(store ? storeProblems(store) : []),
    ...pipelineProblems(pipelines)
  ]

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
  for (const line of pipelineSummary(pipelines)) console.log(line)
  if (store) console.log(storeSummary(store))
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
      `${pipelines.pipeline ? ', pipeline delivered all' : ''}`
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
      pipeline: pipelines.pipeline,
      pipelineWithData: pipelines.pipelineWithData,
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
