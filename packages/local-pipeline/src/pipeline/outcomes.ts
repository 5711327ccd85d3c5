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
type IdName = keyof OutcomeIds
const ID_NAMES: readonly IdName[] = ['messageId', 'userId', 'anonymousId']

const queried = (query: OutcomeQuery): [IdName, string] => {
  const [[name, value]] = Object.entries<string>(query)
  return [name as IdName, value]
}

/** Whether something with these ids answers the query (held deliveries are matched this way). */
export const answersQuery = (ids: OutcomeIds, query: OutcomeQuery): boolean => {
  const [name, value] = queried(query)
  return ids[name] === value
}

/**
 * Outcomes by one id: most ids have one outcome, kept as it is; an id with several has them in a
 * list, the oldest first. (One outcome per delivery is kept: no list, no key built, for the usual case.)
 */
class IdIndex {
  private readonly byId = new Map<string, DeliveryOutcome | DeliveryOutcome[]>()

  add(id: string, outcome: DeliveryOutcome): void {
    const kept = this.byId.get(id)
    if (kept === undefined) this.byId.set(id, outcome)
    else if (Array.isArray(kept)) kept.push(outcome)
    else this.byId.set(id, [kept, outcome])
  }

  /** Forgets an id's oldest outcome. */
  evict(id: string): void {
    const kept = this.byId.get(id)
    if (!Array.isArray(kept)) this.byId.delete(id)
    else if (kept.length === 2) this.byId.set(id, kept[1])
    else kept.shift()
  }

  find(id: string): DeliveryOutcome[] {
    const kept = this.byId.get(id)
    return kept === undefined ? [] : Array.isArray(kept) ? [...kept] : [kept]
  }
}

export class OutcomeLog {
  private readonly ring: Array<DeliveryOutcome | undefined>
  /** Where the next outcome goes; once the ring is full, the oldest sits there. */
  private next = 0
  private count = 0
  /** Per kind of id, its outcomes in the order they were kept (the oldest first). */
  private readonly indexes: Record<IdName, IdIndex> = {
    messageId: new IdIndex(),
    userId: new IdIndex(),
    anonymousId: new IdIndex()
  }

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
      // The evicted outcome is the oldest of all, so it is the first of each of its ids' outcomes.
      for (const name of ID_NAMES) {
        const id = evicted[name]
        if (id !== undefined) this.indexes[name].evict(id)
      }
    } else {
      this.count++
    }
    this.ring[this.next] = outcome
    this.next = (this.next + 1) % this.capacity
    for (const name of ID_NAMES) {
      const id = outcome[name]
      if (id !== undefined) this.indexes[name].add(id, outcome)
    }
  }

  /** The outcomes kept for an id, the oldest first. */
  find(query: OutcomeQuery): DeliveryOutcome[] {
    const [name, value] = queried(query)
    return this.indexes[name].find(value)
  }
}
