/** How the benchmark writes its figures. */
import type { RunFigures } from './compare'
import type { Spread } from './ratios'

export const num = (value: number, digits = 0): string =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
export const mib = (bytes: number): string => `${num(bytes / 1024 / 1024, 1)} MiB`
export const pad = (text: string, width: number): string => text.padStart(width)
export const padEnd = (text: string, width: number): string => text.padEnd(width)

export const statusText = (byStatus: Record<string, number>): string =>
  Object.entries(byStatus)
    .map(([status, count]) => `${status}×${count}`)
    .join(' ')

/** One target's pass of one round. */
export function runLine(run: RunFigures, label: string): string {
  return (
    `  ${padEnd(label, 7)} ${padEnd(run.target, 6)} ${pad(num(run.eventsPerSecond), 8)} ev/s ` +
    `${pad(num(run.cpuMicrosPerEvent, 1), 7)} µs/ev ${pad(num(run.bodyBytesPerEvent, 1), 8)} B/ev ` +
    `${pad(num(run.wallMs), 6)} ms  ${run.requests} req [${statusText(run.byStatus)}]  ` +
    `delivered ${num(run.delivered)}/${num(run.events)}  sandbox objects ${num(run.objectsReceived)}`
  )
}

/** `0.981 (min–max 0.942–1.020, IQR 0.960–0.998, 5 rounds)` */
export const spreadText = (spread: Spread, digits = 3): string =>
  `${num(spread.median, digits)} (min–max ${num(spread.min, digits)}–${num(spread.max, digits)}, ` +
  `IQR ${num(spread.q1, digits)}–${num(spread.q3, digits)}, ${spread.values.length} rounds)`
