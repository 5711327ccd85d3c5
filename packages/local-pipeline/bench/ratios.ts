/**
 * How the benchmark compares two targets: per round, the ratio of the figures they measured in
 * that same round (paired, so load on the machine that comes and goes falls on both), then the
 * median of those ratios and how far they spread.
 */

export function median(values: number[]): number {
  return quantile(values, 0.5)
}

/** The q-quantile by linear interpolation between the closest ranks (q = 0.25, 0.5, 0.75…). */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const at = (sorted.length - 1) * q
  const below = Math.floor(at)
  const above = Math.ceil(at)
  return sorted[below] + (sorted[above] - sorted[below]) * (at - below)
}

/** A set of paired ratios: the median, the extremes and the interquartile range. */
export interface Spread {
  median: number
  min: number
  max: number
  q1: number
  q3: number
  /** Every ratio, in round order. */
  values: number[]
}

export function spreadOf(values: number[]): Spread {
  return {
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    q1: quantile(values, 0.25),
    q3: quantile(values, 0.75),
    values
  }
}

/**
 * `figure(mine) / figure(theirs)` round by round, over the rounds both measured: each ratio is
 * of two passes over the same events in the same round.
 */
export function pairedRatios<R extends { target: string; round: number }>(
  runs: R[],
  mine: string,
  theirs: string,
  figure: (run: R) => number
): number[] {
  const rounds = [...new Set(runs.map((run) => run.round))].sort((a, b) => a - b)
  const ratios: number[] = []
  for (const round of rounds) {
    const a = runs.find((run) => run.round === round && run.target === mine)
    const b = runs.find((run) => run.round === round && run.target === theirs)
    if (a && b) ratios.push(figure(a) / figure(b))
  }
  return ratios
}
