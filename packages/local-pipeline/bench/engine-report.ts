/** Runs the engine benchmarks (pipeline-engine.ts) for `npm run bench` and prints their figures. */
import { runEngineBenchmarks, type EngineFigures } from './pipeline-engine'

const num = (value: number, digits = 0) =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const mib = (bytes: number) => `${num(bytes / 1024 / 1024)} MiB`
const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL')

/** Issue 15's targets: CPU per event at most 1.5× executeBatch's, 2,000 events/s at 2 s answers, 250 MB at a full backlog. */
const CPU_RATIO_TARGET = 1.5
const SLOW_ORTTO_TARGET = 2_000
const BACKLOG_RSS_TARGET = 250 * 1000 * 1000

export async function runEngine(events: number, seed: number): Promise<EngineFigures> {
  console.log(
    `\nnpm start's delivery engine: the pipeline (spool on) and the sandbox each in a process of their own, ` +
      `${num(events)} events posted from this one …`
  )
  const figures = await runEngineBenchmarks({ events, seed })
  const { cpu, slowOrtto, backlog } = figures
  if (cpu) {
    console.log(
      `engine CPU             pipeline process ${num(cpu.pipelineMicrosPerEvent, 1)} µs/event (ingest, spool, delivery; ` +
        `${num(cpu.events)} events in ${num(cpu.wallMs / 1000, 1)} s) vs executeBatch alone ${num(cpu.executeBatchMicrosPerEvent, 1)} µs/event: ` +
        `${num(cpu.ratio, 2)}× (target ≤ ${CPU_RATIO_TARGET}×)  ${verdict(cpu.ratio <= CPU_RATIO_TARGET)}`
    )
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
