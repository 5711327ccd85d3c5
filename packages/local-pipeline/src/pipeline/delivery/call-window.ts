/**
 * How many onBatch calls may run at once right now: at most MAX_IN_FLIGHT, fewer while Ortto (or
 * the way to it) is struggling. A call that fails whole (a time-out, a 429, a 5xx: nothing of it
 * got through) halves the window, once per round of calls, as TCP does; each call that gets
 * through widens it by a call's share, back up to the maximum. Without it, ten calls that each
 * time out because the other nine share the line would be retried as ten again, and again (the
 * idea is Vector's adaptive request concurrency, in its simplest form).
 */
export class CallWindow {
  private size: number
  /** Bumped at each halving: a call started before it does not halve again. */
  private round = 0

  constructor(private readonly max: number) {
    this.size = max
  }

  /** Calls that may run at once now. */
  get allowed(): number {
    return Math.max(1, Math.floor(this.size))
  }

  /** What a call carries with it: the round it was started in. */
  started(): number {
    return this.round
  }

  /** A call ended: it got through (something delivered or answered for good), or it failed whole. */
  ended(round: number, failedWhole: boolean): void {
    if (!failedWhole) {
      this.size = Math.min(this.max, this.size + 1 / this.allowed)
    } else if (round === this.round) {
      this.size = Math.max(1, this.allowed / 2)
      this.round++
    }
  }
}
