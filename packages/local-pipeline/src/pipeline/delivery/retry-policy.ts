/**
 * When a delivery that did not go through is tried again, and when it has had enough tries.
 * Back-off doubles per attempt, as Segment's does, never sooner than Ortto's `try-in-seconds`.
 * The spread (±20 %) is drawn once per batch, not per delivery: deliveries that failed together
 * come due together and go out again together, in full batches, instead of in scraps.
 */
import { isRetryableStatus, retryAfterSeconds } from 'actions-ortto'

/**
 * The longest wait a 429's `try-in-seconds` can impose: 10 minutes. Ortto documents 10 s in its
 * example; a value far past that is a broken answer (1e13 s would stall a subscription for good and
 * is no date at all). After 10 minutes one request asks again, and a fresh 429 sets the next wait.
 */
export const MAX_TRY_IN_SECONDS = 600

interface RetryPolicyOptions {
  /** Attempts per delivery, the first included, before a retryable failure is final. */
  maxAttempts: number
  /** Back-off before retry n is min(maxBackoffMs, baseBackoffMs × 2^(n-1)), spread ±20 %. */
  baseBackoffMs: number
  maxBackoffMs: number
}

/** What one attempt gave a delivery, as far as retrying is concerned. */
interface Attempted {
  status: number
  /** Failed for good whatever its status: an event the destination itself cannot process. */
  final?: boolean
}

/** Ortto's `try-in-seconds` in an answer, capped at MAX_TRY_IN_SECONDS; undefined when it gives none. */
export function tryInSeconds(body: unknown): number | undefined {
  const seconds = retryAfterSeconds(body)
  return seconds === undefined ? undefined : Math.min(seconds, MAX_TRY_IN_SECONDS)
}

export class RetryPolicy {
  constructor(private readonly options: RetryPolicyOptions) {}

  get maxAttempts(): number {
    return this.options.maxAttempts
  }

  /** Whether a delivery that got this after `attempts` attempts goes round again. */
  retries(outcome: Attempted, attempts: number): boolean {
    return !outcome.final && isRetryableStatus(outcome.status) && attempts < this.options.maxAttempts
  }

  /**
   * The waits of one batch's retries: one spread for the whole batch, so its deliveries with the
   * same attempt count come due at the same moment. `tryIn` is Ortto's try-in-seconds (already
   * capped), a floor; otherwise the back-off of that attempt.
   */
  delaysForBatch(random: () => number = () => Math.random()): (attempts: number, tryIn?: number) => number {
    const draw = random()
    return (attempts, tryIn) => {
      if (tryIn !== undefined) return Math.round(tryIn * 1000 * (1 + draw * 0.2))
      const { baseBackoffMs, maxBackoffMs } = this.options
      const base = Math.min(maxBackoffMs, baseBackoffMs * 2 ** (attempts - 1))
      return Math.round(base * (0.8 + draw * 0.4))
    }
  }
}
