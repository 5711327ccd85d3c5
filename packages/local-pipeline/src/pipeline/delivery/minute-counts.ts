/**
 * What each subscription's deliveries came to, since start and minute by minute over the last
 * MINUTES_KEPT minutes (the console's Event delivery view). Fed where outcomes are settled: a
 * ring of minute buckets per subscription, so counting costs the same whatever the traffic.
 */

/** Minutes a subscription's counts are kept for, one bucket each. */
export const MINUTES_KEPT = 15

const MINUTE_MS = 60_000

type CountKind = 'delivered' | 'retried' | 'failed'
const KINDS: readonly CountKind[] = ['delivered', 'retried', 'failed']

interface MinuteCount {
  /** The minute's start, ISO 8601. */
  minute: string
  delivered: number
  retried: number
  failed: number
}

export interface SubscriptionCounts {
  name: string
  partnerAction: string
  /** Since start: deliveries delivered, retries scheduled, deliveries that ended failed. */
  delivered: number
  retried: number
  failed: number
  /** The last MINUTES_KEPT minutes, the oldest first; the last is the minute under way. */
  minutes: MinuteCount[]
}

interface Named {
  name: string
  partnerAction: string
}

class Tally {
  readonly totals = { delivered: 0, retried: 0, failed: 0 }
  /** Which minute (since the epoch) each bucket holds; -1 for none yet. */
  private readonly minuteOf = new Array<number>(MINUTES_KEPT).fill(-1)
  private readonly counts = KINDS.map(() => new Array<number>(MINUTES_KEPT).fill(0))

  constructor(readonly subscription: Named) {}

  add(kind: CountKind, at: number, count: number): void {
    this.totals[kind] += count
    const minute = Math.floor(at / MINUTE_MS)
    const slot = minute % MINUTES_KEPT
    if (this.minuteOf[slot] !== minute) {
      // The bucket held a minute that has left the window: it starts over.
      this.minuteOf[slot] = minute
      for (const counts of this.counts) counts[slot] = 0
    }
    this.counts[KINDS.indexOf(kind)][slot] += count
  }

  minutes(now: number): MinuteCount[] {
    const current = Math.floor(now / MINUTE_MS)
    const shown: MinuteCount[] = []
    for (let minute = current - MINUTES_KEPT + 1; minute <= current; minute++) {
      const slot = minute % MINUTES_KEPT
      const held = this.minuteOf[slot] === minute
      const [delivered, retried, failed] = this.counts.map((counts) => (held ? counts[slot] : 0))
      shown.push({ minute: new Date(minute * MINUTE_MS).toISOString(), delivered, retried, failed })
    }
    return shown
  }
}

export class MinuteCounts {
  private readonly tallies = new Map<string, Tally>()

  /** `count` deliveries of `subscription` came to `kind` at `at` (ms since the epoch). */
  add(subscription: Named, kind: CountKind, at: number, count = 1): void {
    if (count <= 0) return
    const key = JSON.stringify([subscription.name, subscription.partnerAction])
    let tally = this.tallies.get(key)
    if (!tally) {
      tally = new Tally({ name: subscription.name, partnerAction: subscription.partnerAction })
      this.tallies.set(key, tally)
    }
    tally.add(kind, at, count)
  }

  /** The counts of a subscription as of `now`: zeros for one with nothing counted yet. */
  of(subscription: Named, now: number): SubscriptionCounts {
    const tally =
      this.tallies.get(JSON.stringify([subscription.name, subscription.partnerAction])) ?? new Tally(subscription)
    return {
      name: subscription.name,
      partnerAction: subscription.partnerAction,
      ...tally.totals,
      minutes: tally.minutes(now)
    }
  }
}
