/**
 * A lane per subscription: the deliveries it owes, ready to go or waiting for their retry, and the
 * batches of it being sent right now. A delivery is one (event, subscription) pair.
 */
import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import type { PipelineDestination } from '../destinations'
import type { SpoolRef } from './spool/spool'
import type { SpooledSubscription } from './spool/records'

/** What a lane delivers with: a subscription as Segment stores one, and the destination it runs on. */
export interface LaneSubscription {
  name: string
  partnerAction: string
  subscribe: string
  mapping: JSONObject
  destination: PipelineDestination
}

/** What the last attempt gave a delivery still held (shown by GET /outcomes). */
interface LastAttempt {
  status: number
  reason: string
  errortype?: string
}

export interface Delivery {
  readonly event: SegmentEvent
  /** Attempts made so far (with those of earlier runs, recorded in the spool). */
  attempts: number
  last?: LastAttempt
  /** Where the delivery is on disk, until its end is recorded; none without a spool. */
  ref?: SpoolRef
}

/** Deliveries that failed together and come due together. */
interface RetryGroup {
  notBefore: number
  deliveries: Delivery[]
}

/** The subscription as the spool keeps it with each delivery: enough to deliver it again after a restart. */
export const spooledSubscription = (subscription: LaneSubscription): SpooledSubscription => ({
  name: subscription.name,
  destination: subscription.destination.folder,
  partnerAction: subscription.partnerAction,
  subscribe: subscription.subscribe,
  mapping: subscription.mapping
})

/**
 * A subscription's whole identity, mapping included: two lanes with the same one deliver alike, so
 * a restart or a reload gives deliveries to the lane whose identity is theirs.
 */
export const identityOf = (subscription: SpooledSubscription): string => JSON.stringify(subscription)

export class Lane {
  /** Deliveries that may go now, oldest first. */
  ready: Delivery[] = []
  /** Retries, soonest first. */
  private waiting: RetryGroup[] = []
  /** Batches in an onBatch call right now. */
  readonly sending = new Set<Delivery[]>()
  /** Send what is ready even if it does not fill a batch (the flush tick came, or retries came due). */
  flushDue = false
  readonly spooled: SpooledSubscription
  /** [spooled]: what the spool is given for an event owed to this lane alone (made once, not per event). */
  readonly spooledAlone: readonly SpooledSubscription[]

  /**
   * @param retired a lane whose mapping is no longer in force (taken back from the spool, or left by a
   *                reload): it delivers what it holds with the mapping it was accepted under, and takes nothing new
   */
  constructor(
    readonly subscription: LaneSubscription,
    public retired = false
  ) {
    this.spooled = spooledSubscription(subscription)
    this.spooledAlone = [this.spooled]
  }

  get label(): string {
    return this.subscription.partnerAction
  }

  /** Deliveries held: ready, waiting to retry, and being sent. */
  get held(): number {
    let sending = 0
    for (const batch of this.sending) sending += batch.length
    return this.ready.length + this.waitingCount + sending
  }

  get waitingCount(): number {
    let count = 0
    for (const group of this.waiting) count += group.deliveries.length
    return count
  }

  /** When the soonest retry comes due; undefined when none waits. */
  get soonestRetry(): number | undefined {
    return this.waiting[0]?.notBefore
  }

  /** Deliveries to try again once `notBefore` has come. */
  wait(deliveries: Delivery[], notBefore: number): void {
    if (deliveries.length === 0) return
    let at = this.waiting.length
    while (at > 0 && this.waiting[at - 1].notBefore > notBefore) at--
    const same = this.waiting[at - 1]
    if (same?.notBefore === notBefore) same.deliveries.push(...deliveries)
    else this.waiting.splice(at, 0, { notBefore, deliveries })
  }

  /** Retries due by `now` (all of them when `now` is Infinity) join the front of the ready queue. */
  promoteDue(now: number): void {
    let due = 0
    while (due < this.waiting.length && this.waiting[due].notBefore <= now) due++
    if (due === 0) return
    const groups = this.waiting.splice(0, due)
    this.ready = [...groups.flatMap((group) => group.deliveries), ...this.ready]
    this.flushDue = true
  }

  /** Up to `size` of the oldest ready deliveries, taken out to be sent. */
  take(size: number): Delivery[] {
    const batch = this.ready.splice(0, size)
    if (this.ready.length === 0) this.flushDue = false
    this.sending.add(batch)
    return batch
  }

  /** Every delivery held, with when it may go next (undefined while it is being sent). */
  *each(readyAt: number): Generator<[Delivery, number | undefined]> {
    for (const delivery of this.ready) yield [delivery, readyAt]
    for (const group of this.waiting) for (const delivery of group.deliveries) yield [delivery, group.notBefore]
    for (const batch of this.sending) for (const delivery of batch) yield [delivery, undefined]
  }

  /** Takes every delivery out of the lane (a pipeline without a spool stops): those ready, waiting, being sent. */
  drain(): { ready: Delivery[]; waiting: Delivery[]; sending: Delivery[] } {
    const drained = {
      ready: this.ready,
      waiting: this.waiting.flatMap((group) => group.deliveries),
      sending: [...this.sending].flat()
    }
    this.ready = []
    this.waiting = []
    this.sending.clear()
    return drained
  }
}
