/**
 * The benchmark's table of the action rows, and its verdicts: for each action, this
 * destination's throughput over the floor's (the median of the paired per-round ratios, with
 * their spread), and the request bytes per event this destination sends against the naive variant.
 */
import type { ComparisonResult } from './comparisons'
import { num, pad, padEnd, spreadText } from './format'

/** This destination must keep at least this share of the floor's throughput (median of the paired ratios). */
export const THROUGHPUT_TARGET = 0.95
/** And send at most this share of the naive variant's request bytes (only Ortto's keys). */
export const BYTES_TARGET = 0.9

interface Verdict {
  target: number
  median: number
  pass: boolean
}

export interface ActionVerdicts {
  /** Per action: events per second of wall-clock time, and per second of CPU time, this/floor. */
  throughput: Record<string, { wallClock: Verdict; cpu: Verdict }>
  /** Request body bytes per event, this destination over naive, trackActivity and upsertContact together. */
  bytes?: { target: number; ratio: number; pass: boolean }
}

const verdictText = (pass: boolean) => (pass ? 'PASS' : 'FAIL')

export function actionTable(
  comparisons: ComparisonResult[],
  rounds: number
): { lines: string[]; verdicts: ActionVerdicts } {
  const lines = [
    `${padEnd(`target (median of ${rounds} rounds)`, 48)}${pad('events/s', 10)}${pad('min–max', 17)}` +
      `${pad('CPU µs/ev', 11)}${pad('body B/ev', 11)}${pad('wire B/ev', 11)}${pad('requests', 10)}` +
      `${pad('delivered', 11)}${pad('objects', 9)}`
  ]
  for (const comparison of comparisons) {
    for (const s of Object.values(comparison.summaries)) {
      lines.push(
        `${padEnd(`${comparison.action}: ${s.label}`, 48)}${pad(num(s.eventsPerSecond), 10)}` +
          `${pad(`${num(s.minEventsPerSecond)}–${num(s.maxEventsPerSecond)}`, 17)}` +
          `${pad(num(s.cpuMicrosPerEvent, 1), 11)}${pad(num(s.bodyBytesPerEvent, 1), 11)}` +
          `${pad(num(s.wireBytesPerEvent, 1), 11)}${pad(num(s.requests), 10)}${pad(num(s.delivered), 11)}` +
          `${pad(num(s.objectsReceived), 9)}`
      )
    }
  }
  lines.push('')
  const verdicts: ActionVerdicts = { throughput: {} }
  const verdict = (median: number): Verdict => ({
    target: THROUGHPUT_TARGET,
    median,
    pass: median >= THROUGHPUT_TARGET
  })
  for (const { action, throughput, perCpuSecond } of comparisons) {
    const wallClock = verdict(throughput.median)
    const cpu = verdict(perCpuSecond.median)
    verdicts.throughput[action] = { wallClock, cpu }
    lines.push(
      `${padEnd(action, 15)} events/s this/floor       ${spreadText(throughput)}  ` +
        `target ≥ ${THROUGHPUT_TARGET} ${verdictText(wallClock.pass)}`
    )
    lines.push(
      `${padEnd('', 15)} events/CPU-s this/floor   ${spreadText(perCpuSecond)}  ` +
        `target ≥ ${THROUGHPUT_TARGET} ${verdictText(cpu.pass)}`
    )
  }
  const withNaive = comparisons.filter((comparison) => comparison.summaries.naive !== undefined)
  if (withNaive.length > 0) {
    const bytes = (name: string) =>
      withNaive.reduce((sum, c) => sum + c.summaries[name].bodyBytesPerEvent * c.events, 0)
    const ratio = bytes('this') / bytes('naive')
    verdicts.bytes = { target: BYTES_TARGET, ratio, pass: ratio <= BYTES_TARGET }
    lines.push(
      `${padEnd('request bytes', 15)} per event this/naive ${num(ratio, 3)} (${withNaive.map((c) => c.action).join(' + ')})` +
        `  target ≤ ${BYTES_TARGET} ${verdictText(ratio <= BYTES_TARGET)}`
    )
  }
  return { lines, verdicts }
}
