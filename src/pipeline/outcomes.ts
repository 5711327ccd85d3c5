/**
 * What became of each event, findable by its messageId, userId or anonymousId (GET /outcomes):
 * the last `capacity` outcomes (10,000 by default) in a ring, the oldest evicted first, with an
 * index per id so a look-up never scans the ring.
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

const keysOf = (outcome: OutcomeIds): string[] => {
  const keys = [`messageId:${outcome.messageId}`]
  if (outcome.userId !== undefined) keys.push(`userId:${outcome.userId}`)
  if (outcome.anonymousId !== undefined) keys.push(`anonymousId:${outcome.anonymousId}`)
  return keys
}

const queryKey = (query: OutcomeQuery): string => {
  const [[name, value]] = Object.entries<string>(query)
  return `${name}:${value}`
}

/** Whether something with these ids answers the query (held deliveries are matched this way). */
export const answersQuery = (ids: OutcomeIds, query: OutcomeQuery): boolean => keysOf(ids).includes(queryKey(query))

export class OutcomeLog {
  private readonly ring: Array<DeliveryOutcome | undefined>
  /** Where the next outcome goes; once the ring is full, the oldest sits there. */
  private next = 0
  private count = 0
  /** Per id, its outcomes in the order they were kept (the oldest first). */
  private readonly index = new Map<string, DeliveryOutcome[]>()

  constructor(readonly capacity = DEFAULT_OUTCOME_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a whole number above 0')
    this.ring = new Array<DeliveryOutcome | undefined>(capacity)
  }

  get size(): number {
    return this.count
  }

  add(outcome: DeliveryOutcome): void {
    const evicted = this.ring[this.next]
    if (evicted) {
      // The evicted outcome is the oldest of all, so it is the first of each of its lists.
      for (const key of keysOf(evicted)) {
        const list = this.index.get(key)
        list?.shift()
        if (list?.length === 0) this.index.delete(key)
      }
    } else {
      this.count++
    }
    this.ring[this.next] = outcome
    this.next = (this.next + 1) % this.capacity
    for (const key of keysOf(outcome)) {
      const list = this.index.get(key)
      if (list) list.push(outcome)
      else this.index.set(key, [outcome])
    }
  }

  /** The outcomes kept for an id, the oldest first. */
  find(query: OutcomeQuery): DeliveryOutcome[] {
    return [...(this.index.get(queryKey(query)) ?? [])]
  }
}
