/**
 * Ortto's request budget, per API key: a token bucket that refills at the plan's rate
 * (ORTTO_REQUESTS_PER_SECOND) and holds one second's worth, and the pause a 429 imposes on every
 * subscription of that key. A send takes one token before it goes; once it is back, the requests
 * it really made (a batch split in two makes two; an audience created or checked before it, one
 * more) are charged, so the bucket can run into debt and the next sends wait for it.
 */

/**
 * Ortto's lowest documented plan rate (Professional, about 10 requests a second; Business and
 * Enterprise about 30): the default cap, which no plan exceeds by default.
 */
export const DEFAULT_REQUESTS_PER_SECOND = 10

export class RequestBudget {
  private tokens: number
  private updatedAt: number
  /** No request before this time (a 429's try-in-seconds). */
  pausedUntil = 0

  constructor(
    private readonly perSecond: number,
    now: number
  ) {
    if (!(perSecond > 0)) throw new RangeError('the request rate must be above 0 per second')
    this.tokens = this.capacity
    this.updatedAt = now
  }

  /** One second's worth of requests, and at least one. */
  private get capacity(): number {
    return Math.max(1, this.perSecond)
  }

  private refill(now: number): void {
    if (now > this.updatedAt) {
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.updatedAt) * this.perSecond) / 1000)
      this.updatedAt = now
    }
  }

  /** When the next request may go: now, the end of a 429 pause, or when the bucket has a token again. */
  nextSendAt(now: number): number {
    this.refill(now)
    const forToken = this.tokens >= 1 ? now : now + Math.ceil(((1 - this.tokens) * 1000) / this.perSecond)
    return Math.max(forToken, this.pausedUntil)
  }

  /** Takes the token of one send, if one may go now; false leaves everything as it was. */
  take(now: number): boolean {
    if (this.nextSendAt(now) > now) return false
    this.tokens -= 1
    return true
  }

  /** Charges the requests a send made beyond the one token it took. */
  charge(requests: number, now: number): void {
    this.refill(now)
    if (requests > 1) this.tokens -= requests - 1
  }

  /** A 429: nothing of this key goes before `until`. */
  pause(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until)
  }
}

/** One budget per API key, made on first use. */
export class RequestBudgets {
  private readonly byKey = new Map<string, RequestBudget>()

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number
  ) {}

  of(apiKey: string): RequestBudget {
    let budget = this.byKey.get(apiKey)
    if (!budget) {
      budget = new RequestBudget(this.perSecond, this.now())
      this.byKey.set(apiKey, budget)
    }
    return budget
  }
}
