/**
 * Buffers events and delivers them through `Destination.onBatch`, the entry point Segment's own
 * runtime calls, one subscription at a time. Each (event, subscription) pair ends delivered or
 * failed with a reason; retryable failures are retried with back-off (honouring Ortto's
 * `try-in-seconds`) as Segment does, up to a limit. Nothing leaves the queue without a count.
 */
import type { Destination, SegmentEvent } from '@segment/actions-core'
import { redactApiKey } from '../destinations/ortto/client/api-key'
import { isRetryableStatus, retryAfterSeconds } from '../destinations/ortto/client/failures'
import type { Settings } from '../destinations/ortto/generated-types'
import type { DeadLetter, DeadLetterFile } from './dead-letter'
import type { MatchableSubscription } from './subscriptions'

export interface DeliveryOptions {
  destination: Destination<Settings>
  settings: Settings
  subscriptions: MatchableSubscription[]
  /** Events per onBatch call (Segment's batch size for this destination). */
  batchSize?: number
  /** A partial batch waits at most this long before it is sent. */
  flushIntervalMs?: number
  /** Attempts per delivery, the first included, before a retryable failure is final. */
  maxAttempts?: number
  /** Back-off before retry n is min(maxBackoffMs, baseBackoffMs × 2^(n-1)), ±20 %. */
  baseBackoffMs?: number
  maxBackoffMs?: number
  /**
   * Deliveries held at once (queued + waiting to retry; default 20,000, about 40 batches). Past it,
   * ingestion answers 503 and Segment libraries keep the events and retry: memory stays bounded.
   */
  maxPending?: number
  /**
   * Deadline for one onBatch call, passed as its abort signal (what Segment's runtime does). Without
   * it, actions-core's own time-out (10 s per request) applies.
   */
  requestTimeoutMs?: number
  log?: (line: string) => void
  /** Called for every delivery that ends failed (recentFailures keeps only the last 50). */
  onFailure?: (report: FailureReport) => void
  /** Where every delivery that ends failed is written, with its event, to be sent again later. */
  deadLetter?: DeadLetterFile
}

export interface FailureReport {
  messageId: string
  type: string
  subscription: string
  status: number
  errortype?: string
  message: string
  attempts: number
}

export interface DeliveryTotals {
  /** Events accepted for delivery. */
  received: number
  /** Events that matched no subscription (nothing to deliver; not an error). */
  unsubscribed: number
  /** Per (event, subscription) delivery: */
  delivered: number
  failed: number
  retried: number
  pending: number
}

interface Delivery {
  event: SegmentEvent
  attempts: number
  notBefore: number
}

/** What one attempt gave a delivery: the destination's result, or why there is none. */
interface Outcome {
  status: number
  message?: string
  errortype?: string
  /** Ortto's answer, when the result carries it (a 429's try-in-seconds is read from it). */
  body?: unknown
  /** Failed for good whatever its status: an event the destination itself cannot process. */
  final?: boolean
}

/** Thrown by `enqueue` when the pipeline holds too much already; callers answer 503. */
export class PipelineBusyError extends Error {
  constructor(pending: number) {
    super(`The pipeline already holds ${pending} deliveries waiting for Ortto; try again shortly.`)
    this.name = 'PipelineBusyError'
  }
}

const MAX_RECENT_FAILURES = 50

/**
 * Whether onBatch threw something other than a failed or missing answer from Ortto. Errors that
 * carry an HTTP status (actions-core's HTTPError, RetryableError…), aborts, time-outs and network
 * errors are about Ortto or the way to it, and are retried as before; anything else (a RangeError
 * from an event too deep for the runtime, a TypeError) is about the events themselves.
 */
function isUnexpectedThrow(error: unknown): boolean {
  const e = error as { status?: unknown; name?: unknown; code?: unknown } | null | undefined
  if (typeof e?.status === 'number') return false
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError' || e?.name === 'RequestTimeoutError') return false
  return !(typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code))
}

export class DeliveryPipeline {
  private readonly batchSize: number
  private readonly flushIntervalMs: number
  private readonly maxAttempts: number
  private readonly baseBackoffMs: number
  private readonly maxBackoffMs: number
  private readonly maxPending: number
  private readonly log: (line: string) => void
  /** Per subscription: deliveries ready to go, and ones waiting for their retry time. */
  private readonly ready: Delivery[][]
  private readonly waiting: Delivery[][]
  /** Per subscription: no request before this time (set by a 429's try-in-seconds). */
  private readonly pausedUntil: number[]
  private readonly totals: DeliveryTotals = {
    received: 0,
    unsubscribed: 0,
    delivered: 0,
    failed: 0,
    retried: 0,
    pending: 0
  }
  private readonly recentFailures: FailureReport[] = []
  /** Batches in an onBatch call right now, by subscription (a second Ctrl+C abandons them too). */
  private readonly inFlight = new Map<Delivery[], number>()
  /** Set by abandon(): what is still in flight was already reported failed. */
  private abandoned = false
  /** Failed deliveries not yet in the dead-letter file: written once per batch, not once per event. */
  private readonly deadLetters: DeadLetter[] = []
  private stopping = false
  private pumping: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly options: DeliveryOptions) {
    this.batchSize = options.batchSize ?? 500
    this.flushIntervalMs = options.flushIntervalMs ?? 250
    this.maxAttempts = options.maxAttempts ?? 8
    this.baseBackoffMs = options.baseBackoffMs ?? 500
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000
    this.maxPending = options.maxPending ?? 20_000
    const log = options.log ?? ((line) => console.log(line))
    // Lines quote Ortto's reasons; the key is kept out of them here too, whatever an answer echoed.
    this.log = (line) => log(redactApiKey(line, options.settings.api_key))
    this.ready = options.subscriptions.map(() => [])
    this.waiting = options.subscriptions.map(() => [])
    this.pausedUntil = options.subscriptions.map(() => 0)
    this.timer = setInterval(() => {
      this.pump(true).catch((error: unknown) => this.log(`[delivery] internal error: ${String(error)}`))
    }, this.flushIntervalMs)
    this.timer.unref()
  }

  /** Queues events for every subscription they match. Throws PipelineBusyError when full. */
  enqueue(events: SegmentEvent[]): { accepted: number; unsubscribed: number } {
    if (this.pending() + events.length > this.maxPending) throw new PipelineBusyError(this.pending())
    let unsubscribed = 0
    for (const event of events) {
      let matched = false
      this.options.subscriptions.forEach((subscription, index) => {
        if (!subscription.matches(event)) return
        matched = true
        this.ready[index].push({ event, attempts: 0, notBefore: 0 })
      })
      if (!matched) unsubscribed++
    }
    this.totals.received += events.length
    this.totals.unsubscribed += unsubscribed
    if (this.ready.some((queue) => queue.length >= this.batchSize)) {
      this.pump(false).catch((error: unknown) => this.log(`[delivery] internal error: ${String(error)}`))
    }
    return { accepted: events.length, unsubscribed }
  }

  status(): DeliveryTotals & { recentFailures: FailureReport[] } {
    return { ...this.totals, pending: this.pending(), recentFailures: [...this.recentFailures] }
  }

  /** Sends everything that is due now, partial batches included, and waits until it is done. */
  async flush(): Promise<void> {
    await this.pump(true)
  }

  /**
   * Stops the timer and makes a last attempt at everything still held, retries included
   * (their back-off is cut short). What still fails is counted as failed and logged.
   */
  async stop(): Promise<DeliveryTotals & { recentFailures: FailureReport[] }> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    await this.pumping
    // From here on a retryable failure is final, and back-off and rate-limit pauses are cut short.
    this.stopping = true
    this.waiting.forEach((queue, index) => this.ready[index].push(...queue.splice(0)))
    this.pausedUntil.fill(0)
    await this.pump(true)
    // A rate limit during that last attempt leaves deliveries unsent: they end as failed, with why.
    const why = 'the pipeline stopped while Ortto was rate limiting; this event was not sent'
    let unsent = 0
    this.ready.forEach((queue, index) => (unsent += this.failHeld(index, queue.splice(0), 429, why)))
    this.writeDeadLetters()
    if (unsent > 0) this.log(`[delivery] ${unsent} deliveries were not sent before shutdown (rate limited)`)
    return this.status()
  }

  /**
   * What a second Ctrl+C does: everything still held (queued, waiting to retry, or in an onBatch
   * call right now) ends failed at once with `reason`, each written to the dead-letter file.
   * Returns how many deliveries were abandoned.
   */
  abandon(reason: string): number {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.stopping = true
    this.abandoned = true
    let count = 0
    this.ready.forEach(
      (queue, index) => (count += this.failHeld(index, queue.splice(0), 503, `${reason}; it was never sent`))
    )
    this.waiting.forEach(
      (queue, index) => (count += this.failHeld(index, queue.splice(0), 503, `${reason}; it was waiting to be retried`))
    )
    for (const [batch, index] of this.inFlight) {
      const why = `${reason}; it was being sent, so Ortto may have it (sending it again is safe)`
      count += this.failHeld(index, batch, 503, why)
    }
    this.inFlight.clear()
    this.writeDeadLetters()
    return count
  }

  /** Deliveries still held that end failed, all for one reason; returns how many. */
  private failHeld(index: number, deliveries: Delivery[], status: number, message: string): number {
    for (const delivery of deliveries) this.fail(index, delivery, { status, message, attempts: delivery.attempts })
    return deliveries.length
  }

  /** Writes the dead letters collected since the last write, in one append. */
  private writeDeadLetters(): void {
    if (this.deadLetters.length === 0) return
    this.options.deadLetter?.append(this.deadLetters.splice(0))
  }

  private pending(): number {
    const held = (queues: Delivery[][]) => queues.reduce((sum, queue) => sum + queue.length, 0)
    let inFlight = 0
    for (const batch of this.inFlight.keys()) inFlight += batch.length
    return held(this.ready) + held(this.waiting) + inFlight
  }

  /** One pump at a time; a caller arriving mid-pump waits for it, then pumps again. */
  private pump(force: boolean): Promise<void> {
    const run = async () => {
      for (;;) {
        const now = Date.now()
        this.promoteDueRetries(now)
        const index = this.ready.findIndex(
          (queue, i) => queue.length > 0 && this.pausedUntil[i] <= now && (force || queue.length >= this.batchSize)
        )
        if (index < 0) return
        const batch = this.ready[index].splice(0, this.batchSize)
        await this.deliver(index, batch)
      }
    }
    const previous = this.pumping ?? Promise.resolve()
    const next = previous.then(run, run).finally(() => {
      if (this.pumping === next) this.pumping = undefined
    })
    this.pumping = next
    return next
  }

  private promoteDueRetries(now: number): void {
    this.waiting.forEach((queue, index) => {
      if (queue.length === 0) return
      const due = queue.filter((d) => d.notBefore <= now)
      if (due.length === 0) return
      this.waiting[index] = queue.filter((d) => d.notBefore > now)
      this.ready[index].push(...due)
    })
  }

  private async deliver(index: number, batch: Delivery[]): Promise<void> {
    const subscription = this.options.subscriptions[index]
    this.inFlight.set(batch, index)
    let outcomes: Outcome[]
    try {
      outcomes = await this.attempt(index, batch)
    } finally {
      this.inFlight.delete(batch)
    }
    if (this.abandoned) return
    const counts = { delivered: 0, failed: 0, retryable: 0 }
    let example: string | undefined
    let retryAfter: number | undefined
    batch.forEach((delivery, i) => {
      const { status, message, errortype, body, final } = outcomes[i]
      if (status >= 200 && status < 300) {
        counts.delivered++
        this.totals.delivered++
        return
      }
      if (status === 429) retryAfter ??= retryAfterSeconds(body)
      const reason = message ?? 'the destination returned no result for this event'
      const attempts = delivery.attempts + 1
      if (!final && isRetryableStatus(status) && attempts < this.maxAttempts && !this.stopping) {
        counts.retryable++
        this.totals.retried++
        const waitMs = this.retryDelay(attempts, body)
        this.waiting[index].push({ event: delivery.event, attempts, notBefore: Date.now() + waitMs })
        return
      }
      counts.failed++
      example ??= `${status} ${reason}`
      this.fail(index, delivery, { status, errortype, message: reason, attempts })
    })
    this.writeDeadLetters()
    if (retryAfter) this.pausedUntil[index] = Date.now() + retryAfter * 1000
    this.log(
      `[delivery] ${subscription.partnerAction}: ${batch.length} events — ${counts.delivered} delivered, ` +
        `${counts.failed} failed, ${counts.retryable} retryable${example ? ` (e.g. ${example})` : ''}`
    )
  }

  /**
   * One onBatch call for a batch, one outcome per delivery. When onBatch throws something that is
   * no answer from Ortto (a bug or an event the runtime cannot process, never a time-out), the
   * batch is split until the events that cause it are alone: their neighbours are delivered in
   * this same round, and only they fail, for good, with the reason.
   */
  private async attempt(index: number, batch: Delivery[]): Promise<Outcome[]> {
    const { destination, settings } = this.options
    const { partnerAction, subscribe, mapping } = this.options.subscriptions[index]
    let results: Awaited<ReturnType<Destination<Settings>['onBatch']>>
    try {
      // Subscriptions ride in the settings, as Segment's runtime passes them.
      const withSubscription = { ...settings, subscriptions: [{ partnerAction, subscribe, mapping }] }
      results = await destination.onBatch(
        batch.map((d) => d.event),
        withSubscription,
        this.options.requestTimeoutMs ? { signal: AbortSignal.timeout(this.options.requestTimeoutMs) } : undefined
      )
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      if (!isUnexpectedThrow(error)) {
        const status = (error as { status?: number }).status ?? 500
        return batch.map(() => ({ status, message }))
      }
      if (batch.length === 1) {
        const reason = `the destination could not process this event (${message}); it is not retried`
        return [{ status: 400, message: reason, final: true }]
      }
      const middle = Math.ceil(batch.length / 2)
      const first = await this.attempt(index, batch.slice(0, middle))
      return [...first, ...(await this.attempt(index, batch.slice(middle)))]
    } finally {
      // actions-core keeps every response on the instance; a long-running process must let go.
      destination.responses.length = 0
    }
    const multistatus = results[0]?.multistatus
    return batch.map((_, i): Outcome => {
      const result = multistatus?.[i]
      if (!result) return { status: 500 }
      if ('errormessage' in result) {
        return { status: result.status, message: result.errormessage, errortype: result.errortype, body: result.body }
      }
      return { status: result.status, body: result.body }
    })
  }

  private retryDelay(attempt: number, body: unknown): number {
    // Ortto's try-in-seconds is a floor (never come back sooner); our own back-off is spread ±20 %.
    const seconds = retryAfterSeconds(body)
    if (seconds !== undefined) return Math.round(seconds * 1000 * (1 + Math.random() * 0.2))
    const base = Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** (attempt - 1))
    return Math.round(base * (0.8 + Math.random() * 0.4))
  }

  /** A delivery that ends failed: counted, and kept among the recent failures with its reason. */
  private fail(
    index: number,
    delivery: Delivery,
    outcome: Pick<FailureReport, 'status' | 'errortype' | 'message' | 'attempts'>
  ): void {
    this.totals.failed++
    const subscription = this.options.subscriptions[index]
    // The destination keeps the key out of its messages; this holds even if something slipped.
    const message = redactApiKey(outcome.message, this.options.settings.api_key)
    const report: FailureReport = {
      messageId: String(delivery.event.messageId ?? ''),
      type: String(delivery.event.type),
      subscription: subscription.name,
      ...outcome,
      message
    }
    this.recentFailures.push(report)
    if (this.recentFailures.length > MAX_RECENT_FAILURES) this.recentFailures.shift()
    if (this.options.deadLetter) {
      this.deadLetters.push({
        failedAt: new Date().toISOString(),
        subscription: subscription.name,
        partnerAction: subscription.partnerAction,
        status: outcome.status,
        ...(outcome.errortype !== undefined && { errortype: outcome.errortype }),
        message,
        attempts: outcome.attempts,
        event: delivery.event
      })
    }
    this.options.onFailure?.(report)
  }
}
