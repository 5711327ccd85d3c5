/**
 * A Clock (src/pipeline/clock.ts) that moves only when a test says so: `advance(ms)` runs every
 * tick and one-off timer that falls due on the way, in time order, and waits for each (a tick may
 * deliver over real sockets). Nothing waits on wall-clock time, so what a test sees does not
 * depend on how loaded the machine is.
 */
import type { Clock } from '../../src/pipeline/clock'

interface Timer {
  /** Repeats every this many ms; undefined for a one-off timer. */
  every?: number
  due: number
  run: () => unknown
}

export class ManualClock implements Clock {
  private time: number
  private readonly timers = new Set<Timer>()

  constructor(start = Date.parse('2024-03-01T10:00:00.000Z')) {
    this.time = start
  }

  now(): number {
    return this.time
  }

  every(ms: number, tick: () => unknown): () => void {
    const timer: Timer = { every: ms, due: this.time + ms, run: tick }
    this.timers.add(timer)
    return () => this.timers.delete(timer)
  }

  after(ms: number, fire: () => unknown): () => void {
    const timer: Timer = { due: this.time + Math.max(0, ms), run: fire }
    this.timers.add(timer)
    return () => this.timers.delete(timer)
  }

  /** How many repeating tickers run (a stopped pipeline has none). */
  get running(): number {
    return [...this.timers].filter((timer) => timer.every !== undefined).length
  }

  /** Moves time forward by `ms`, running (and awaiting) each tick and timer that falls due on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms
    for (;;) {
      let next: Timer | undefined
      for (const timer of this.timers) if (timer.due <= end && (!next || timer.due < next.due)) next = timer
      if (!next) break
      this.time = next.due
      if (next.every === undefined) this.timers.delete(next)
      else next.due += next.every
      await next.run()
    }
    this.time = end
  }
}
