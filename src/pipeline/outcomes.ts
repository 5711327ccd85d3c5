/**
 * What became of each event, findable by its messageId, userId or anonymousId (GET /outcomes):
 * the last `capacity` outcomes (10,000 by default) in a ring, the oldest evicted first.
 */

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

export class OutcomeLog {
  private readonly ring: Array<DeliveryOutcome | undefined>
  /** Where the next outcome goes; once the ring is full, the oldest sits there. */
  private next = 0
  private count = 0

  constructor(readonly capacity = DEFAULT_OUTCOME_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a whole number above 0')
    this.ring = new Array<DeliveryOutcome | undefined>(capacity)
  }

  get size(): number {
    return this.count
  }

  add(outcome: DeliveryOutcome): void {
    if (this.ring[this.next] === undefined) this.count++
    this.ring[this.next] = outcome
    this.next = (this.next + 1) % this.capacity
  }

  /**
   * The outcomes kept for an id, the oldest first. A look-up reads the whole ring (10,000 outcomes
   * take well under a millisecond) so that keeping one, once per delivery, costs no index.
   */
  find(query: OutcomeQuery): DeliveryOutcome[] {
    const [name, value] = queried(query)
    const found: DeliveryOutcome[] = []
    for (let k = 0; k < this.count; k++) {
      const outcome = this.ring[(this.next - this.count + k + this.capacity) % this.capacity] as DeliveryOutcome
      if (outcome[name] === value) found.push(outcome)
    }
    return found
  }
}
