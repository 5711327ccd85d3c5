/**
 * What becomes of a batch once its attempt is back: each delivery delivered, failed (its dead
 * letter first, then its end in the spool), or waiting for its retry; a 429 pauses the API key;
 * one log line for the batch. Also the backlog line, and ending everything held at once.
 */
import type { DecoratedResponse } from '@segment/actions-core'
import type { Clock } from '../clock'
import type { DeliveryOutcome } from '../outcomes'
import { BatchTally, backlogLine, type Held } from './delivery-log'
import type { Ledger, Failure } from './ledger'
import type { Delivery, Lane } from './lanes'
import type { RequestBudget } from './rate-limit'
import type { Orphan } from './restore'
import { tryInSeconds, type RetryPolicy } from './retry-policy'
import type { Outcome } from './sender'
import type { DiskSpool, SpoolRef } from './spool/spool'

/** A failed delivery whose dead letter could not be written is tried again after this long. */
const DEAD_LETTER_RETRY_MS = 60_000

interface SettlerOptions {
  clock: Clock
  ledger: Ledger
  policy: RetryPolicy
  budgetOf: () => RequestBudget
  spool?: DiskSpool
  log: (line: string) => void
  lanes: readonly Lane[]
  backlogEveryMs: number
  /** onBatch calls in flight now. */
  inFlight: () => number
}

const refsOf = (deliveries: Iterable<Delivery>): SpoolRef[] => {
  const refs: SpoolRef[] = []
  for (const delivery of deliveries) if (delivery.ref) refs.push(delivery.ref)
  return refs
}

export class Settler {
  /** When the backlog began or was last logged; undefined while there is none. */
  private backlogNotedAt: number | undefined

  constructor(private readonly options: SettlerOptions) {}

  pausedUntil(): number {
    return this.options.budgetOf().pausedUntil
  }

  /**
   * One attempt's outcomes, one per delivery of the batch. `aborted`: stop's deadline cut the
   * attempt short, so a retryable outcome is no attempt of the delivery's: it stays held as it was.
   * Returns whether the attempt failed whole (nothing delivered or answered for good). `responses`:
   * Ortto's answers to the attempt's requests, kept with it when not everything was delivered.
   */
  settle(
    lane: Lane,
    batch: Delivery[],
    outcomes: Outcome[],
    aborted: boolean,
    responses: readonly DecoratedResponse[] = []
  ): boolean {
    const { clock, ledger, policy } = this.options
    const now = clock.now()
    const tally = new BatchTally()
    const delays = policy.delaysForBatch()
    const delivered: Array<[Delivery, number]> = []
    const ended: SpoolRef[] = []
    const failures: Failure[] = []
    const retries = new Map<number, Delivery[]>()
    /** The first delivery that did not go through, and its status and reason. */
    let firstMiss: { status: number; reason: string } | undefined
    let tryIn: number | undefined
    batch.forEach((delivery, i) => {
      const { status, reason: given, errortype, body, final } = outcomes[i]
      if (status >= 200 && status < 300) {
        delivery.attempts++
        delivered.push([delivery, status])
        if (delivery.ref) ended.push(delivery.ref)
        tally.delivered++
        return
      }
      const reason = given ?? 'the destination returned no result for this event'
      if (aborted && policy.retries({ status, final }, 0)) {
        lane.ready.push(delivery)
        return
      }
      firstMiss ??= { status, reason }
      const attempts = ++delivery.attempts
      if (policy.retries({ status, final }, attempts)) {
        if (status === 429) tryIn ??= tryInSeconds(body)
        const notBefore = now + delays(attempts, status === 429 ? tryIn : undefined)
        delivery.last = { status, reason: ledger.redact(reason), ...(errortype !== undefined && { errortype }) }
        const group = retries.get(notBefore)
        if (group) group.push(delivery)
        else retries.set(notBefore, [delivery])
        if (delivery.ref) this.options.spool?.attempted(delivery.ref, attempts)
        tally.retry(status)
        ledger.totals.retried++
        return
      }
      failures.push({ subscription: lane.subscription, delivery, status, errortype, reason, attempts })
      tally.fail(status, reason)
    })
    const at = new Date(now).toISOString()
    ledger.counts.add(lane.subscription, 'retried', now, tally.retryable)
    if (firstMiss) this.keepFailedAttempt(lane, at, firstMiss, failures, retries, delivered.length, responses)
    ledger.delivered(lane.subscription, delivered, at)
    if (ledger.failed(failures, at)) ended.push(...refsOf(failures.map((f) => f.delivery)))
    else
      lane.wait(
        failures.map((f) => f.delivery),
        now + DEAD_LETTER_RETRY_MS
      )
    this.options.spool?.end(ended)
    let soonest = Infinity
    for (const [notBefore, deliveries] of retries) {
      lane.wait(deliveries, notBefore)
      soonest = Math.min(soonest, notBefore)
    }
    const budget = this.options.budgetOf()
    if (tryIn !== undefined) budget.pause(now + tryIn * 1000)
    // A rate limit holds back the whole key, whatever each delivery's own back-off says.
    if (!aborted || tally.delivered + tally.failed + tally.retryable > 0) {
      this.options.log(tally.line(lane.label, batch.length, Math.max(soonest, budget.pausedUntil) - now))
    }
    this.noteBacklog()
    return tally.delivered === 0 && tally.failed === 0 && tally.retryable > 0
  }

  /** An attempt that did not deliver everything, for the console: its requests and what became of its deliveries. */
  private keepFailedAttempt(
    lane: Lane,
    at: string,
    miss: { status: number; reason: string },
    failures: readonly Failure[],
    retries: ReadonlyMap<number, Delivery[]>,
    delivered: number,
    responses: readonly DecoratedResponse[]
  ): void {
    const missed = [...failures.map((f) => f.delivery), ...[...retries.values()].flat()]
    let retrying = 0
    for (const deliveries of retries.values()) retrying += deliveries.length
    this.options.ledger.failedRequests.record({
      at,
      subscription: lane.subscription.name,
      partnerAction: lane.subscription.partnerAction,
      ...miss,
      failed: failures.length,
      retrying,
      delivered,
      messageIds: missed.map((d) => String(d.event.messageId ?? '')),
      responses
    })
  }

  /** Restored deliveries whose subscription is gone: they end failed with why (dead letter, then spool). */
  orphans(orphans: readonly Orphan[]): void {
    if (orphans.length === 0) return
    const failures = orphans.map(({ delivery, subscription, reason }) => ({
      subscription,
      delivery,
      status: 410,
      reason,
      attempts: 0
    }))
    if (this.options.ledger.failed(failures, new Date(this.options.clock.now()).toISOString())) {
      this.options.spool?.end(refsOf(orphans.map((o) => o.delivery)))
    }
    this.options.log(
      `[delivery] ${orphans.length === 1 ? '1 delivery' : `${orphans.length} deliveries`} taken back from the spool ` +
        `had no subscription any more: ${orphans[0].reason}`
    )
  }

  /**
   * Ends everything held at once, failed with `reason` and where each delivery was (a pipeline
   * without a spool that stops). A delivery that was tried keeps its last status.
   */
  endHeld(reason: string): void {
    const failures: Failure[] = []
    const end = (subscription: Failure['subscription'], deliveries: Delivery[], where: (d: Delivery) => string) => {
      for (const delivery of deliveries) {
        const { attempts, last } = delivery
        const why = `${reason}; ${where(delivery)}${last ? ` (its last attempt: ${last.reason})` : ''}`
        failures.push({
          subscription,
          delivery,
          status: last?.status ?? 503,
          errortype: last?.errortype,
          reason: why,
          attempts
        })
      }
    }
    for (const lane of this.options.lanes) {
      const { ready, waiting, sending } = lane.drain()
      const tried = (d: Delivery) => (d.attempts > 0 ? 'it was waiting to be retried' : 'it was never sent')
      end(lane.subscription, ready, tried)
      end(lane.subscription, waiting, () => 'it was waiting to be retried')
      end(lane.subscription, sending, () => 'it was being sent, so Ortto may have it (sending it again is safe)')
    }
    this.options.ledger.failed(failures, new Date(this.options.clock.now()).toISOString())
  }

  /** A held delivery as GET /outcomes shows it. */
  pendingOutcome(
    lane: Lane,
    delivery: Delivery,
    at: string,
    notBefore: number | undefined,
    pausedUntil: number
  ): DeliveryOutcome {
    const { event, last } = delivery
    const nextTry = notBefore === undefined ? undefined : Math.max(notBefore, pausedUntil, Date.parse(at))
    return {
      messageId: String(event.messageId ?? ''),
      userId: event.userId == null ? undefined : String(event.userId),
      anonymousId: event.anonymousId == null ? undefined : String(event.anonymousId),
      type: String(event.type),
      subscription: lane.subscription.name,
      partnerAction: lane.subscription.partnerAction,
      outcome: 'pending',
      status: last?.status,
      errortype: last?.errortype,
      reason: last?.reason,
      attempts: delivery.attempts,
      at,
      // Being sent right now: no next try to speak of.
      nextTryAt: nextTry === undefined ? undefined : new Date(nextTry).toISOString()
    }
  }

  /**
   * Every few seconds while deliveries are held and not being sent (waiting for a retry, a 429's
   * pause, a token or a free call): how many, and when the next may go. The first line comes
   * backlogEveryMs after the backlog began (the batch line that began it already said when).
   */
  noteBacklog(): void {
    const now = this.options.clock.now()
    const budget = this.options.budgetOf()
    const held: Held[] = []
    let nextTry = Infinity
    for (const lane of this.options.lanes) {
      const count = lane.ready.length + lane.waitingCount
      if (count === 0) continue
      held.push({ action: lane.label, count })
      if (lane.ready.length > 0) nextTry = Math.min(nextTry, budget.nextSendAt(now))
      const soonest = lane.soonestRetry
      if (soonest !== undefined) nextTry = Math.min(nextTry, Math.max(soonest, budget.pausedUntil))
    }
    if (held.length === 0) {
      this.backlogNotedAt = undefined
      return
    }
    if (this.backlogNotedAt === undefined) {
      this.backlogNotedAt = now
      return
    }
    if (now - this.backlogNotedAt < this.options.backlogEveryMs) return
    this.backlogNotedAt = now
    this.options.log(backlogLine(held, this.options.inFlight(), nextTry > now ? nextTry - now : undefined))
  }
}
