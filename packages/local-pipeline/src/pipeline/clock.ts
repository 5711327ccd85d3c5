/**
 * Time as the delivery engine sees it: when it is, a steady tick and one-off wake-ups. Injected,
 * so tests move time forward by hand instead of waiting for it.
 */
export interface Clock {
  /** Milliseconds since the epoch, as Date.now(). */
  now(): number
  /** Calls `tick` every `ms` until the returned function is called; never keeps the process alive. */
  every(ms: number, tick: () => unknown): () => void
  /** Calls `fire` once, `ms` from now, unless the returned function is called first; never keeps the process alive. */
  after(ms: number, fire: () => unknown): () => void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every: (ms, tick) => {
    const timer = setInterval(tick, ms)
    timer.unref()
    return () => clearInterval(timer)
  },
  after: (ms, fire) => {
    const timer = setTimeout(fire, Math.max(0, ms))
    timer.unref()
    return () => clearTimeout(timer)
  }
}
