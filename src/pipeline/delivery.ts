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
import { systemClock, type Clock } from './clock'
import type { DeadLetter, DeadLetterFile } from './dead-letter'
import { inSeconds, plural, statusPhrase } from './log-text'
import { OutcomeLog, answersQuery, type DeliveryOutcome, type OutcomeIds, type OutcomeQuery } from './outcomes'
import type { PipelineDestination } from './destinations'
import { withSubscription, type MatchableSubscription } from './subscriptions'
import type { PreparedEvent } from './prepared-event'

/** Runs before each onBatch call of a subscription, on the events of the batch, in order; one answer per event. */
type PrepareEvents = (subscription: MatchableSubscription, events: SegmentEvent[]) => Promise<PreparedEvent[]>

export interface DeliveryOptions {
  /** The Destination instance that runs each pipeline destination's subscriptions. */
  destinations: ReadonlyMap<PipelineDestination, Destination<Settings>>
  settings: Settings
  subscriptions: MatchableSubscription[]
  /**
   * Makes events ready before they are sent; a retryable NotSent is retried like a delivery.
   * Events are sent as they were taken in when unset. Outcomes and dead letters keep the event as
   * it was taken in.
   */
  prepare?: PrepareEvents
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
  /** Time and the flush tick; tests pass one they move by hand. */
  clock?: Clock
  /** While deliveries wait (retries, rate-limit pauses), a backlog line at most this often (default 5 s). */
  backlogEveryMs?: number
  /** Outcomes kept for GET /outcomes (default 10,000); the oldest go first. */
  outcomeCapacity?: number
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
  /** What the last attempt gave, when there was one (shown for pending deliveries). */
  last?: { status: number; message: string; errortype?: string }
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
    super(
      `The pipeline already holds ${plural(pending, 'delivery', 'deliveries')} waiting for Ortto; try again shortly.`
    )
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

const idsOf = (event: SegmentEvent): OutcomeIds & { type: string } => ({
  messageId: String(event.messageId ?? ''),
  ...(event.userId != null && { userId: String(event.userId) }),
  ...(event.anonymousId != null && { anonymousId: String(event.anonymousId) }),
  type: String(event.type)
})

/** "93 retryable: 429 rate limited", or with counts when the reasons differ: "3 retryable: 2 × 503 …, 1 × 408 …". */
function retryableSummary(byReason: Map<string, number>, count: number): string {
  const groups = [...byReason].sort((a, b) => b[1] - a[1])
  if (groups.length === 1) return `${count} retryable: ${groups[0][0]}`
  return `${count} retryable: ${groups.map(([reason, n]) => `${n} × ${reason}`).join(', ')}`
}

export class DeliveryPipeline {
  private readonly batchSize: number
  private readonly flushIntervalMs: number
  private readonly maxAttempts: number
  private readonly baseBackoffMs: number
  private readonly maxBackoffMs: number
  private readonly maxPending: number
  private readonly backlogEveryMs: number
  private readonly clock: Clock
  private readonly outcomes: OutcomeLog
  private readonly log: (line: string) => void
  /** Per subscription: deliveries ready to go, and ones waiting for their retry time. */
  private readonly ready: Delivery[][]
  private readonly waiting: Delivery[][]
  /** Per subscription: no request before this time (set by a 429's try-in-seconds). */
  private readonly pausedUntil: number[]
  /** Per subscription: the Destination instance its onBatch calls go to. */
  private readonly runners: Array<Destination<Settings>>
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
  private stopTicking: (() => void) | undefined
  /** When the last backlog line was written, or when the backlog began; undefined while there is none. */
  private backlogNotedAt: number | undefined

  constructor(private readonly options: DeliveryOptions) {
    this.batchSize = options.batchSize ?? 500
    this.flushIntervalMs = options.flushIntervalMs ?? 250
    this.maxAttempts = options.maxAttempts ?? 8
    this.baseBackoffMs = options.baseBackoffMs ?? 500
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000
    this.maxPending = options.maxPending ?? 20_000
    this.backlogEveryMs = options.backlogEveryMs ?? 5_000
    this.clock = options.clock ?? systemClock
    this.outcomes = new OutcomeLog(options.outcomeCapacity)
    const log = options.log ?? ((line) => console.log(line))
    // Lines quote Ortto's reasons; the key is kept out of them here too, whatever an answer echoed.
    this.log = (line) => log(redactApiKey(line, options.settings.api_key))
    this.ready = options.subscriptions.map(() => [])
    this.waiting = options.subscriptions.map(() => [])
    this.pausedUntil = options.subscriptions.map(() => 0)
    this.runners = options.subscriptions.map(({ name, destination }) => {
      const runner = options.destinations.get(destination)
      if (!runner) throw new Error(`Subscription "${name}": no Destination runs ${destination.definition.name}`)
      return runner
    })
    this.stopTicking = this.clock.every(this.flushIntervalMs, () =>
      this.pump(true)
        .then(() => this.noteBacklog())
        .catch((error: unknown) => this.log(`[delivery] internal error: ${String(error)}`))
    )
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
      if (!matched) {
        unsubscribed++
        this.outcomes.add({ ...idsOf(event), outcome: 'unsubscribed', attempts: 0, at: this.isoNow() })
      }
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

  /** How many outcomes GET /outcomes can go back (the last ones kept). */
  get outcomeCapacity(): number {
    return this.outcomes.capacity
  }

  /**
   * What became of the events with this id: each outcome kept (the oldest first), then each
   * delivery still held, as `pending` with its attempts so far and when it may go next.
   */
  outcomesOf(query: OutcomeQuery): DeliveryOutcome[] {
    const pending: DeliveryOutcome[] = []
    const now = this.clock.now()
    const at = new Date(now).toISOString()
    const add = (index: number, delivery: Delivery, nextTry: number | undefined) => {
      const ids = idsOf(delivery.event)
      if (!answersQuery(ids, query)) return
      const { name, partnerAction } = this.options.subscriptions[index]
      pending.push({
        ...ids,
        subscription: name,
        partnerAction,
        outcome: 'pending',
        ...(delivery.last && {
          status: delivery.last.status,
          ...(delivery.last.errortype !== undefined && { errortype: delivery.last.errortype }),
          reason: delivery.last.message
        }),
        attempts: delivery.attempts,
        at,
        ...(nextTry !== undefined && { nextTryAt: new Date(nextTry).toISOString() })
      })
    }
    for (const queues of [this.ready, this.waiting]) {
      queues.forEach((queue, index) => {
        for (const delivery of queue) add(index, delivery, Math.max(now, delivery.notBefore, this.pausedUntil[index]))
      })
    }
    // Being sent right now: no next try to speak of.
    for (const [batch, index] of this.inFlight) for (const delivery of batch) add(index, delivery, undefined)
    return [...this.outcomes.find(query), ...pending]
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
    this.stopTicking?.()
    this.stopTicking = undefined
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
    if (unsent > 0) {
      const were = unsent === 1 ? 'was' : 'were'
      this.log(`[delivery] ${plural(unsent, 'delivery', 'deliveries')} ${were} not sent before shutdown (rate limited)`)
    }
    return this.status()
  }

  /**
   * What a second Ctrl+C does: everything still held (queued, waiting to retry, or in an onBatch
   * call right now) ends failed at once with `reason`, each written to the dead-letter file.
   * Returns how many deliveries were abandoned.
   */
  abandon(reason: string): number {
    this.stopTicking?.()
    this.stopTicking = undefined
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
        const now = this.clock.now()
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
    /** Retryable deliveries by status and what it means, and the soonest of their next tries. */
    const retryReasons = new Map<string, number>()
    let soonest = Infinity
    const now = this.clock.now()
    batch.forEach((delivery, i) => {
      const { status, message, errortype, body, final } = outcomes[i]
      const attempts = delivery.attempts + 1
      if (status >= 200 && status < 300) {
        counts.delivered++
        this.totals.delivered++
        this.record(index, delivery, { outcome: 'delivered', status, attempts })
        return
      }
      if (status === 429) retryAfter ??= retryAfterSeconds(body)
      const reason = message ?? 'the destination returned no result for this event'
      if (!final && isRetryableStatus(status) && attempts < this.maxAttempts && !this.stopping) {
        counts.retryable++
        this.totals.retried++
        const notBefore = now + this.retryDelay(attempts, body)
        soonest = Math.min(soonest, notBefore)
        const phrase = statusPhrase(status)
        retryReasons.set(phrase, (retryReasons.get(phrase) ?? 0) + 1)
        const last = { status, message: redactApiKey(reason, this.options.settings.api_key), errortype }
        this.waiting[index].push({ event: delivery.event, attempts, notBefore, last })
        return
      }
      counts.failed++
      example ??= `${status} ${reason}`
      this.fail(index, delivery, { status, errortype, message: reason, attempts })
    })
    this.writeDeadLetters()
    if (retryAfter) this.pausedUntil[index] = now + retryAfter * 1000
    const parts = [
      `${counts.delivered} delivered`,
      `${counts.failed} failed${example ? ` (e.g. ${example})` : ''}`,
      counts.retryable === 0
        ? '0 retryable'
        : // A rate limit holds back the whole subscription, whatever each delivery's own back-off says.
          `${retryableSummary(retryReasons, counts.retryable)}, next try in ${inSeconds(Math.max(soonest, this.pausedUntil[index]) - now)}`
    ]
    this.log(`[delivery] ${subscription.partnerAction}: ${plural(batch.length, 'event')} — ${parts.join(', ')}`)
  }

  /**
   * Every few seconds while deliveries wait for a retry or a rate-limit pause: how many, and when
   * the next one may go. The first line comes backlogEveryMs after the backlog began (the batch
   * line that began it already said when).
   */
  private noteBacklog(): void {
    const now = this.clock.now()
    const bySubscription: Array<{ action: string; count: number; nextTry: number }> = []
    this.options.subscriptions.forEach(({ partnerAction }, index) => {
      const paused = this.pausedUntil[index] > now
      const held = [...this.waiting[index], ...(paused ? this.ready[index] : [])]
      if (held.length === 0) return
      const soonest = held.reduce((min, d) => Math.min(min, d.notBefore), Infinity)
      bySubscription.push({
        action: partnerAction,
        count: held.length,
        nextTry: Math.max(soonest, this.pausedUntil[index])
      })
    })
    if (bySubscription.length === 0) {
      this.backlogNotedAt = undefined
      return
    }
    if (this.backlogNotedAt === undefined) {
      this.backlogNotedAt = now
      return
    }
    if (now - this.backlogNotedAt < this.backlogEveryMs) return
    this.backlogNotedAt = now
    const total = bySubscription.reduce((sum, s) => sum + s.count, 0)
    const split =
      bySubscription.length > 1 ? ` (${bySubscription.map((s) => `${s.action} ${s.count}`).join(', ')})` : ''
    const nextTry = Math.min(...bySubscription.map((s) => s.nextTry))
    this.log(`[delivery] backlog: ${plural(total, 'event')} waiting${split}, next try in ${inSeconds(nextTry - now)}`)
  }

  /**
   * One round for a batch, one outcome per delivery: its events made ready (`prepare`), and those
   * that are sent in one onBatch call. A preparation that throws, which it should never do, gives
   * the whole batch a retryable 500 rather than losing it.
   */
  private async attempt(index: number, batch: Delivery[]): Promise<Outcome[]> {
    const events = batch.map((d) => d.event)
    const { prepare } = this.options
    if (!prepare) return this.send(index, events)
    let prepared: PreparedEvent[]
    try {
      prepared = await prepare(this.options.subscriptions[index], events)
      if (prepared.length !== events.length) throw new Error(`${prepared.length} answers for ${events.length} events`)
    } catch (error) {
      const message = `the pipeline could not make this event ready to send (${error instanceof Error ? error.message : String(error)})`
      return batch.map(() => ({ status: 500, message }))
    }
    const ready = prepared.flatMap((p, i) => ('event' in p ? [{ i, event: p.event }] : []))
    const sent =
      ready.length > 0
        ? await this.send(
            index,
            ready.map((r) => r.event)
          )
        : []
    const outcomes = prepared.map((p): Outcome => ('notSent' in p ? p.notSent : { status: 500 }))
    ready.forEach((r, k) => (outcomes[r.i] = sent[k]))
    return outcomes
  }

  /**
   * One onBatch call for these events, one outcome each. When onBatch throws something that is
   * no answer from Ortto (a bug or an event the runtime cannot process, never a time-out), the
   * batch is split until the events that cause it are alone: their neighbours are delivered in
   * this same round, and only they fail, for good, with the reason.
   */
  private async send(index: number, events: SegmentEvent[]): Promise<Outcome[]> {
    const { settings } = this.options
    const subscription = this.options.subscriptions[index]
    const destination = this.runners[index]
    let results: Awaited<ReturnType<Destination<Settings>['onBatch']>>
    try {
      results = await destination.onBatch(
        events,
        withSubscription(settings, subscription),
        this.options.requestTimeoutMs ? { signal: AbortSignal.timeout(this.options.requestTimeoutMs) } : undefined
      )
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      if (!isUnexpectedThrow(error)) {
        const status = (error as { status?: number }).status ?? 500
        return events.map(() => ({ status, message }))
      }
      if (events.length === 1) {
        const reason = `the destination could not process this event (${message}); it is not retried`
        return [{ status: 400, message: reason, final: true }]
      }
      const middle = Math.ceil(events.length / 2)
      const first = await this.send(index, events.slice(0, middle))
      return [...first, ...(await this.send(index, events.slice(middle)))]
    } finally {
      // actions-core keeps every response on the instance; a long-running process must let go.
      destination.responses.length = 0
    }
    const multistatus = results[0]?.multistatus
    return events.map((_, i): Outcome => {
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

  private isoNow(): string {
    return new Date(this.clock.now()).toISOString()
  }

  /** Keeps a delivery's final outcome for GET /outcomes. */
  private record(
    index: number,
    delivery: Delivery,
    outcome: Pick<DeliveryOutcome, 'outcome' | 'status' | 'errortype' | 'reason' | 'attempts' | 'deadLettered'>
  ): void {
    const { name, partnerAction } = this.options.subscriptions[index]
    this.outcomes.add({ ...idsOf(delivery.event), subscription: name, partnerAction, ...outcome, at: this.isoNow() })
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
    this.record(index, delivery, {
      outcome: 'failed',
      status: outcome.status,
      ...(outcome.errortype !== undefined && { errortype: outcome.errortype }),
      reason: message,
      attempts: outcome.attempts,
      ...(this.options.deadLetter && { deadLettered: true })
    })
    if (this.options.deadLetter) {
      this.deadLetters.push({
        failedAt: this.isoNow(),
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
