/**
 * One row of the benchmark per action: the same batches through this destination and its floor
 * (and any other target of the row), a warm-up round then `rounds` measured ones (see
 * compare.ts for what keeps a round fair), every round checked, and the throughput of this
 * destination over the floor's as the spread of the paired per-round ratios.
 */
import type { Settings } from 'actions-ortto'
import { runRound, type Batch, type Lane, type RunFigures } from './compare'
import { runLine, statusText } from './format'
import { median, pairedRatios, spreadOf, type Spread } from './ratios'
import type { BenchStats } from './stats-client'

export interface Comparison {
  /** The action's key, which is also the prefix of the figures this destination reports. */
  action: string
  /** Every target of the row, each with its own sandbox; `this` and `floor` among them. */
  lanes: Lane[]
  batches: Batch[]
  /** What is wrong with a lane's sandbox after a round, beyond what every round checks. */
  check?: (lane: Lane, round: number) => string[]
}

/** Medians over the measured rounds; delivered and objects are the lowest of any round. */
export interface TargetSummary {
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

export interface ComparisonResult {
  action: string
  /** Events per pass. */
  events: number
  runs: RunFigures[]
  summaries: Record<string, TargetSummary>
  /** Events per second of wall-clock time, this destination over the floor, paired per round. */
  throughput: Spread
  /**
   * Events per second of CPU time (the floor's CPU time per event over this destination's),
   * paired per round: what a busy machine disturbs least, since time spent waiting for a CPU
   * is not in it.
   */
  perCpuSecond: Spread
  problems: string[]
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

/** What every pass must show: every event delivered, every object at the sandbox, 200/207 only. */
export function checkRun(run: RunFigures, where: string): string[] {
  const problems: string[] = []
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

/** This destination's own figures for the round must match what the sandbox saw of it. */
function checkStats(action: string, mine: RunFigures | undefined, stats: BenchStats, where: string): string[] {
  if (!mine) return [`${where}: no pass of this destination`]
  const delivered = stats.total(`${action}.delivered`)
  const requests = stats.total(`${action}.requests`)
  const problems: string[] = []
  if (delivered !== mine.events) problems.push(`${where}: ${action}.delivered counted ${delivered} of ${mine.events}`)
  if (requests !== mine.requests)
    problems.push(`${where}: ${action}.requests counted ${requests}, sandbox ${mine.requests}`)
  return problems
}

export async function runComparison(
  comparison: Comparison,
  settings: Settings,
  rounds: number,
  stats: BenchStats,
  log: (line: string) => void
): Promise<ComparisonResult> {
  const { action, lanes, batches } = comparison
  const runs: RunFigures[] = []
  const problems: string[] = []
  for (let round = 0; round <= rounds; round++) {
    stats.reset()
    const figures = await runRound(lanes, batches, settings, round, stats.statsContext)
    for (const run of figures) {
      const where = `${action} ${run.target} round ${round}`
      log(runLine(run, round === 0 ? 'warm-up' : `round ${round}`))
      problems.push(...checkRun(run, where))
      const lane = lanes.find((candidate) => candidate.target.name === run.target)
      if (lane && comparison.check) problems.push(...comparison.check(lane, round))
    }
    problems.push(
      ...checkStats(
        action,
        figures.find((run) => run.target === 'this'),
        stats,
        `${action} round ${round}`
      )
    )
    if (round > 0) runs.push(...figures)
  }
  const summaries: Record<string, TargetSummary> = {}
  for (const lane of lanes) {
    summaries[lane.target.name] = summarize(
      lane.target.label,
      runs.filter((run) => run.target === lane.target.name)
    )
  }
  return {
    action,
    events: batches.reduce((sum, batch) => sum + batch.events.length, 0),
    runs,
    summaries,
    throughput: spreadOf(pairedRatios(runs, 'this', 'floor', (run) => run.eventsPerSecond)),
    perCpuSecond: spreadOf(pairedRatios(runs, 'this', 'floor', (run) => 1 / run.cpuMicrosPerEvent)),
    problems
  }
}
