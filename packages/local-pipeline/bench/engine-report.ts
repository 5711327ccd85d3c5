/** Runs the engine benchmarks (pipeline-engine.ts) for `npm run bench` and prints their figures. */
import { profilesIn, summarizeProfile } from './cpu-profile'
import { mib, num, spreadText } from './format'
import { runEngineBenchmarks, type EngineFigures } from './pipeline-engine'

const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL')

/** Issue 15's targets: CPU per event at most 1.5× executeBatch's, 2,000 events/s at 2 s answers, 250 MB at a full backlog. */
const CPU_RATIO_TARGET = 1.5
const SLOW_ORTTO_TARGET = 2_000
const BACKLOG_RSS_TARGET = 250 * 1000 * 1000

const percent = (share: number) => `${num(share * 100, 1)} %`

/** Where the profiled pipeline's busy time went. */
function printProfile(dir: string): void {
  for (const file of profilesIn(dir)) {
    const summary = summarizeProfile(file)
    console.log(`  profile ${file}: ${num(summary.busyMs)} ms busy (idle left out); self time by area:`)
    for (const { area, share } of summary.areas) console.log(`    ${percent(share).padStart(7)}  ${area}`)
    console.log('  by function:')
    for (const { name, share } of summary.functions) console.log(`    ${percent(share).padStart(7)}  ${name}`)
  }
}

export async function runEngine(
  events: number,
  seed: number,
  rounds: number,
  roundEvents: number,
  profileDir?: string
): Promise<EngineFigures> {
  console.log(
    `\nnpm start's delivery engine: the pipeline (spool on) and the sandbox each in a process of their own, ` +
      `${num(events)} events posted from this one …`
  )
  const figures = await runEngineBenchmarks({ events, seed, rounds, roundEvents, profileDir })
  const { cpu, slowOrtto, backlog } = figures
  if (cpu) {
    const ratio = cpu.ratio.median
    console.log(
      `engine CPU             pipeline process ${num(cpu.pipelineMicrosPerEvent.median, 1)} µs/event (ingest, spool, delivery) ` +
        `vs executeBatch alone ${num(cpu.executeBatchMicrosPerEvent.median, 1)} µs/event, both warm (${num(cpu.events)} events), ` +
        `${num(cpu.roundEvents)} events a round: ` +
        `${spreadText(cpu.ratio, 2)}, all rounds together ${num(cpu.totalRatio, 2)}× ` +
        `(target ≤ ${CPU_RATIO_TARGET}×)  ${verdict(ratio <= CPU_RATIO_TARGET && cpu.totalRatio <= CPU_RATIO_TARGET)}` +
        (profileDir === undefined
          ? ''
          : ' [profiled: the profiler slows the pipeline, so read the profile, not this ratio]')
    )
    for (const round of cpu.rounds) {
      console.log(
        `  round ${round.round} (${round.pipelineFirst ? 'pipeline first' : 'executeBatch first'}): pipeline ` +
          `${num(round.pipelineMicrosPerEvent, 1)} µs/event (${num(round.wallMs / 1000, 1)} s, ${num(round.busy)} calls answered 503), executeBatch ` +
          `${num(round.executeBatchMicrosPerEvent, 1)}: ${num(round.ratio, 2)}×`
      )
    }
    if (cpu.profileDir !== undefined) printProfile(cpu.profileDir)
  }
  if (slowOrtto) {
    const subscriptions = Object.entries(slowOrtto.bySubscription)
      .map(
        ([action, s]) =>
          `${action} ${num(s.delivered)} at ${num(s.eventsPerSecond)}/s (longest gap ${num(s.longestGapMs / 1000, 1)} s)`
      )
      .join(', ')
    console.log(
      `engine, Ortto at 2 s   ${num(slowOrtto.eventsPerSecond)} events/s delivered from the first call ` +
        `(${num(slowOrtto.steadyEventsPerSecond)} once the first answers came; target ≥ ${num(SLOW_ORTTO_TARGET)})  ` +
        `${verdict(slowOrtto.eventsPerSecond >= SLOW_ORTTO_TARGET)}; ${subscriptions}`
    )
  }
  if (backlog) {
    console.log(
      `engine, full backlog   peak RSS of the pipeline process ${mib(backlog.peakRssBytes)} holding ${num(backlog.held)} deliveries ` +
        `(${num(backlog.busyAnswers)} calls answered 503 on the way; target ≤ 250 MB)  ${verdict(backlog.peakRssBytes <= BACKLOG_RSS_TARGET)}`
    )
  }
  return figures
}
