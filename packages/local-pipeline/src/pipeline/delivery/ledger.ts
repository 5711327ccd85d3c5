/**
 * The ledger of outcomes: running totals, the last failures with their reasons, the outcome of
 * each delivery for GET /outcomes, and the dead-letter file. A failure is counted only once its
 * dead letter is on disk, so the spool lets go of a failed delivery only after that.
 */
import type { SegmentEvent } from '@segment/actions-core'
import { redactApiKey } from 'actions-ortto'
import type { DeadLetter, DeadLetterFile } from '../dead-letter'
import { OutcomeLog, type DeliveryOutcome } from '../outcomes'
import { FailedRequests } from './failed-requests'
import type { Delivery, LaneSubscription } from './lanes'
import { MinuteCounts } from './minute-counts'

export interface FailureReport {
  messageId: string
  type: string
  subscription: string
  status: number
  errortype?: string
  reason: string
  attempts: number
}

export interface DeliveryTotals {
  /** Events accepted for delivery by this run. */
  received: number
  /** Deliveries taken back from the spool at start (accepted by an earlier run). */
  restored: number
  /** Events that matched no subscription (nothing to deliver; not an error). */
  unsubscribed: number
  /** Per (event, subscription) delivery: */
  delivered: number
  failed: number
  retried: number
  pending: number
}

/** A delivery that ended failed, with why. */
export interface Failure {
  subscription: Pick<LaneSubscription, 'name' | 'partnerAction'>
  delivery: Delivery
  status: number
  errortype?: string
  reason: string
  attempts: number
}

interface LedgerOptions {
  apiKey: string
  deadLetter?: DeadLetterFile
  /** Called for every delivery that ends failed (recentFailures keeps only the last 50). */
  onFailure?: (report: FailureReport) => void
  outcomeCapacity?: number
  log: (line: string) => void
}

const MAX_RECENT_FAILURES = 50

const text = (value: string | null | undefined): string | undefined => (value == null ? undefined : String(value))

export class Ledger {
  readonly totals: Omit<DeliveryTotals, 'pending'> = {
    received: 0,
    restored: 0,
    unsubscribed: 0,
    delivered: 0,
    failed: 0,
    retried: 0
  }
  readonly outcomes: OutcomeLog
  /** Per subscription, since start and minute by minute (the console's Event delivery view). */
  readonly counts = new MinuteCounts()
  /** The last attempts that did not deliver all they carried, with their requests (the console's Failures view). */
  readonly failedRequests: FailedRequests
  private readonly recent: FailureReport[] = []

  constructor(private readonly options: LedgerOptions) {
    this.outcomes = new OutcomeLog(options.outcomeCapacity)
    this.failedRequests = new FailedRequests(options.apiKey)
  }

  get deadLetters(): DeadLetterFile | undefined {
    return this.options.deadLetter
  }

  /** The destination keeps the key out of its messages; this holds even if something slipped. */
  redact(message: string): string {
    return redactApiKey(message, this.options.apiKey)
  }

  recentFailures(): FailureReport[] {
    return [...this.recent]
  }

  /** Events that matched no subscription; `at` is an ISO time. */
  unsubscribed(events: readonly SegmentEvent[], at: string): void {
    this.totals.unsubscribed += events.length
    for (const event of events) this.outcomes.addEnd(event, undefined, undefined, 0, at)
  }

  delivered(subscription: LaneSubscription, deliveries: ReadonlyArray<[Delivery, number]>, at: string): void {
    this.totals.delivered += deliveries.length
    this.counts.add(subscription, 'delivered', Date.parse(at), deliveries.length)
    for (const [delivery, status] of deliveries)
      this.outcomes.addEnd(delivery.event, subscription, status, delivery.attempts, at)
  }

  /**
   * Deliveries that end failed. Their dead letters are written (and flushed) first; when that
   * fails, nothing is recorded and false comes back: the deliveries are still owed.
   */
  failed(failures: readonly Failure[], at: string): boolean {
    if (failures.length === 0) return true
    const reports = failures.map((failure) => ({ failure, reason: this.redact(failure.reason) }))
    const { deadLetter } = this.options
    if (deadLetter) {
      try {
        deadLetter.append(reports.map(({ failure, reason }) => deadLetterOf(failure, reason, at)))
      } catch (error) {
        this.options.log(
          `[delivery] the dead-letter file ${deadLetter.file} could not be written (${String(error)}); ` +
            `${failures.length === 1 ? '1 failed delivery stays' : `${failures.length} failed deliveries stay`} held and is tried again`
        )
        return false
      }
    }
    this.totals.failed += failures.length
    const failedAt = Date.parse(at)
    for (const { failure, reason } of reports) {
      const { subscription, delivery, status, errortype, attempts } = failure
      this.counts.add(subscription, 'failed', failedAt)
      const report: FailureReport = {
        messageId: String(delivery.event.messageId ?? ''),
        type: String(delivery.event.type),
        subscription: subscription.name,
        status,
        ...(errortype !== undefined && { errortype }),
        reason,
        attempts
      }
      this.recent.push(report)
      if (this.recent.length > MAX_RECENT_FAILURES) this.recent.shift()
      const outcome = outcomeOf(delivery.event, subscription, 'failed', attempts, at)
      outcome.status = status
      if (errortype !== undefined) outcome.errortype = errortype
      outcome.reason = reason
      if (deadLetter) outcome.deadLettered = true
      this.outcomes.add(outcome)
      try {
        this.options.onFailure?.(report)
      } catch (error) {
        // The caller's hook: its failure is said, and changes nothing of what was recorded.
        this.options.log(`[delivery] the onFailure hook threw: ${String(error)}`)
      }
    }
    return true
  }
}

/**
 * An outcome with every key in the order GET /outcomes shows them (absent ones undefined, which
 * JSON leaves out): one shape for all, built without copies, as there is one per delivery.
 */
function outcomeOf(
  event: SegmentEvent,
  subscription: Pick<LaneSubscription, 'name' | 'partnerAction'> | undefined,
  outcome: DeliveryOutcome['outcome'],
  attempts: number,
  at: string
): DeliveryOutcome {
  return {
    messageId: String(event.messageId ?? ''),
    userId: text(event.userId),
    anonymousId: text(event.anonymousId),
    type: String(event.type),
    subscription: subscription?.name,
    partnerAction: subscription?.partnerAction,
    outcome,
    status: undefined,
    errortype: undefined,
    reason: undefined,
    attempts,
    at,
    deadLettered: undefined
  }
}

function deadLetterOf(failure: Failure, reason: string, failedAt: string): DeadLetter {
  const { subscription, status, errortype, attempts, delivery } = failure
  return {
    failedAt,
    subscription: subscription.name,
    partnerAction: subscription.partnerAction,
    status,
    ...(errortype !== undefined && { errortype }),
    reason,
    attempts,
    event: delivery.event
  }
}
