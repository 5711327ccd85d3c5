/**
 * The stats client the benchmark hands every target through `statsContext`, as Segment's runtime
 * does: it keeps running totals per metric and tag set in memory, the way a statsd client
 * buffers before it flushes. Every target gets the same one, so the floor pays for whatever
 * actions-core itself reports, and this destination for its own figures on top.
 */
import type { StatsContext } from '@segment/actions-core'

export interface BenchStats {
  statsContext: StatsContext
  /** The total of one metric, over every tag set, since the last reset. */
  total(name: string): number
  /** Every metric name counted since the last reset. */
  names(): string[]
  reset(): void
}

export function benchStats(tags: string[] = ['bench:true']): BenchStats {
  const totals = new Map<string, number>()
  const byName = new Map<string, number>()
  const incr = (name: string, value = 1, incrTags: string[] = []): void => {
    const key = `${name}|${incrTags.join(',')}`
    totals.set(key, (totals.get(key) ?? 0) + value)
    byName.set(name, (byName.get(name) ?? 0) + value)
  }
  const statsClient: StatsContext['statsClient'] = {
    incr,
    set: () => undefined,
    histogram: () => undefined,
    observe: () => undefined,
    _name: (name: string) => name,
    _tags: (incrTags: string[] = []) => incrTags
  }
  return {
    statsContext: { statsClient, tags },
    total: (name) => byName.get(name) ?? 0,
    names: () => [...byName.keys()],
    reset: () => {
      totals.clear()
      byName.clear()
    }
  }
}
