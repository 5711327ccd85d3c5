/**
 * What became of each event, findable by its messageId, userId or anonymousId (GET /outcomes):
 * the last `capacity` outcomes (10,000 by default) in a ring, the oldest evicted first.
 */
import type { SegmentEvent } from '@segment/actions-core'

/** One (event, subscription) delivery as it ended, or one event that matched no subscription. */
export interface DeliveryOutcome {
  messageId: string
  userId?: string
  anonymousId?: string
  type: string
  /** The subscription's name and action; absent when the event matched none. */
  subscription?: string
  partnerAction?: string
  outcome: 'delivered' | 'failed' | 'unsubscribed' | 'pending'
  /** The destination's status for the last attempt (absent when unsubscribed, or pending before any). */
  status?: number
  errortype?: string
  /** Why it failed, or why its last attempt did (pending). */
  reason?: string
  /** Attempts made so far. */
  attempts: number
  /** When it ended; for a pending delivery, when it was last looked at. ISO 8601. */
  at: string
  /** Pending only: when the next attempt may go (ISO 8601). */
  nextTryAt?: string
  /** Failed only: written to the dead-letter file. */
  deadLettered?: boolean
}

/** A look-up: one of the ids. */
export type OutcomeQuery = { messageId: string } | { userId: string } | { anonymousId: string }

export const DEFAULT_OUTCOME_CAPACITY = 10_000

/** The ids an outcome is found by. */
type OutcomeIds = Pick<DeliveryOutcome, 'messageId' | 'userId' | 'anonymousId'>
type IdName = keyof OutcomeIds

const queried = (query: OutcomeQuery): [IdName, string] => {
  const [[name, value]] = Object.entries<string>(query)
  return [name as IdName, value]
}

/** Whether something with these ids answers the query (held deliveries are matched this way). */
export const answersQuery = (ids: OutcomeIds, query: OutcomeQuery): boolean => {
  const [name, value] = queried(query)
  return ids[name] === value
}

/** The subscription an outcome is of, as it names it. */
interface OutcomeSubscription {
  name: string
  partnerAction: string
}

const text = (value: string | null | undefined): string | undefined => (value == null ? undefined : String(value))

export class OutcomeLog {
  /** Outcomes given whole (failed ones, with their reasons), by slot. */
  private readonly whole: Array<DeliveryOutcome | undefined>
  /**
   * The common ones (delivered, matched no subscription), field by field in slots of their own:
   * one is kept per delivery, and so costs no object (GET /outcomes makes them when asked).
   */
  private readonly messageIds: string[]
  private readonly userIds: Array<string | undefined>
  private readonly anonymousIds: Array<string | undefined>
  private readonly types: string[]
  private readonly subscriptions: Array<OutcomeSubscription | undefined>
  private readonly statuses: Array<number | undefined>
  private readonly attempts: number[]
  private readonly ats: string[]
  /** Where the next outcome goes; once the ring is full, the oldest sits there. */
  private next = 0
  private count = 0

  constructor(readonly capacity = DEFAULT_OUTCOME_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a whole number above 0')
    this.whole = new Array<DeliveryOutcome | undefined>(capacity)
    this.messageIds = new Array<string>(capacity)
    this.userIds = new Array<string | undefined>(capacity)
    this.anonymousIds = new Array<string | undefined>(capacity)
    this.types = new Array<string>(capacity)
    this.subscriptions = new Array<OutcomeSubscription | undefined>(capacity)
    this.statuses = new Array<number | undefined>(capacity)
    this.attempts = new Array<number>(capacity)
    this.ats = new Array<string>(capacity)
  }

  get size(): number {
    return this.count
  }

  /** Keeps an outcome as it is given. */
  add(outcome: DeliveryOutcome): void {
    this.whole[this.take()] = outcome
  }

  /**
   * Keeps the outcome of an event delivered to `subscription` (with `status`), or that matched no
   * subscription (none given), without making an object of it.
   */
  addEnd(
    event: Pick<SegmentEvent, 'messageId' | 'userId' | 'anonymousId' | 'type'>,
    subscription: OutcomeSubscription | undefined,
    status: number | undefined,
    attempts: number,
    at: string
  ): void {
    const slot = this.take()
    this.whole[slot] = undefined
    this.messageIds[slot] = String(event.messageId ?? '')
    this.userIds[slot] = text(event.userId)
    this.anonymousIds[slot] = text(event.anonymousId)
    this.types[slot] = String(event.type)
    this.subscriptions[slot] = subscription
    this.statuses[slot] = status
    this.attempts[slot] = attempts
    this.ats[slot] = at
  }

  /**
   * The outcomes kept for an id, the oldest first. A look-up reads the whole ring (10,000 outcomes
   * take well under a millisecond) so that keeping one, once per delivery, costs no index.
   */
  find(query: OutcomeQuery): DeliveryOutcome[] {
    const [name, value] = queried(query)
    const ids = name === 'messageId' ? this.messageIds : name === 'userId' ? this.userIds : this.anonymousIds
    const found: DeliveryOutcome[] = []
    for (let k = 0; k < this.count; k++) {
      const slot = (this.next - this.count + k + this.capacity) % this.capacity
      const whole = this.whole[slot]
      if (whole) {
        if (whole[name] === value) found.push(whole)
      } else if (ids[slot] === value) found.push(this.outcomeAt(slot))
    }
    return found
  }

  /** The slot the next outcome goes to (the oldest's, once the ring is full). */
  private take(): number {
    const slot = this.next
    if (this.count < this.capacity) this.count++
    this.next = (slot + 1) % this.capacity
    return slot
  }

  /** A kept end as GET /outcomes shows it: every key in its order, absent ones undefined (JSON leaves them out). */
  private outcomeAt(slot: number): DeliveryOutcome {
    const subscription = this.subscriptions[slot]
    return {
      messageId: this.messageIds[slot],
      userId: this.userIds[slot],
      anonymousId: this.anonymousIds[slot],
      type: this.types[slot],
      subscription: subscription?.name,
      partnerAction: subscription?.partnerAction,
      outcome: subscription ? 'delivered' : 'unsubscribed',
      status: this.statuses[slot],
      errortype: undefined,
      reason: undefined,
      attempts: this.attempts[slot],
      at: this.ats[slot],
      deadLettered: undefined
    }
  }
}
