/**
 * A Clock (src/pipeline/clock.ts) that moves only when a test says so: `advance(ms)` runs every
 * tick that falls due on the way, in time order, and waits for each (a tick may deliver over real
 * sockets). Nothing waits on wall-clock time, so what a test sees does not depend on how loaded
 * the machine is.
 */
import type { Clock } from '../../src/pipeline/clock'

interface Ticker {
  every: number
  due: number
  tick: () => unknown
}

export class ManualClock implements Clock {
  private time: number
  private readonly tickers = new Set<Ticker>()

  constructor(start = Date.parse('2024-03-01T10:00:00.000Z')) {
    this.time = start
  }

  now(): number {
    return this.time
  }

  every(ms: number, tick: () => unknown): () => void {
    const ticker = { every: ms, due: this.time + ms, tick }
    this.tickers.add(ticker)
    return () => this.tickers.delete(ticker)
  }

  /** How many tickers run (a stopped pipeline has none). */
  get running(): number {
    return this.tickers.size
  }

  /** Moves time forward by `ms`, running (and awaiting) each tick that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms
    for (;;) {
      let next: Ticker | undefined
      for (const ticker of this.tickers) if (ticker.due <= end && (!next || ticker.due < next.due)) next = ticker
      if (!next) break
      this.time = next.due
      next.due += next.every
      await next.tick()
    }
    this.time = end
  }
}
