/**
 * What the spool knows of one segment file: the subscriptions declared in it, the events in it
 * still owed something, and how many deliveries it owes against how many it was written with.
 */
import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import { rebuildEvents, type CallKind, type TakenItem } from '../../segment-events'
import { deepFreeze } from '../../event-structure'
import {
  callLine,
  contextLine,
  eventLine,
  subscriptionLine,
  type CallEntry,
  type Chunk,
  type SpoolRecord,
  type SpooledSubscription
} from './records'
import type { SegmentFile } from './segment-file'

/** One event in a segment, with the deliveries of it still owed. */
class SpooledEvent {
  owed: SpoolRef[] = []
  constructor(
    public segment: Segment,
    public n: number,
    readonly event: SegmentEvent
  ) {}
}

/** One delivery on disk: an event of a segment and the subscription (by its index in that file) it is owed to. */
export class SpoolRef {
  ended = false
  /** Attempts recorded for it (retryable failures), carried across restarts. */
  attempts = 0
  constructor(
    readonly entry: SpooledEvent,
    public s: number,
    readonly subscription: SpooledSubscription
  ) {}
}

/** An event taken back at start, with its deliveries still owed. */
export interface RestoredEvent {
  event: SegmentEvent
  refs: SpoolRef[]
}

/** A call whose body the spool writes as it came, instead of each event (see records.ts, `c` lines). */
export interface SpooledCall {
  kind: CallKind
  /** The body's bytes as received. */
  body: Buffer
  receivedAt: string
}

const keys = new WeakMap<SpooledSubscription, string>()
/** A subscription's identity in a file: all of it, mapping included. */
const keyOf = (subscription: SpooledSubscription): string => {
  let key = keys.get(subscription)
  if (key === undefined) {
    key = JSON.stringify(subscription)
    keys.set(subscription, key)
  }
  return key
}

/** What one file's records say, gathered before the events owed are made. */
interface Gathered {
  event: SegmentEvent
  owed: Set<number>
  attempts: Map<number, number>
}

export class Segment {
  private readonly declared = new Map<string, number>()
  /** Events still owed something, by their number in the file. */
  readonly events = new Map<number, SpooledEvent>()
  private nextEvent = 0
  private nextContext = 0
  /** Deliveries owed, and deliveries ever written here. */
  owed = 0
  written = 0
  /** Recorded ends not yet written, as pairs of event and subscription. */
  ends: number[] = []
  /** Recorded attempts not yet written, as triples of event, subscription and attempts. */
  tries: number[] = []
  compacting = false

  /** @param generation how many segments the spool had started before this one (-2: one of an earlier run) */
  constructor(
    readonly file: SegmentFile,
    readonly generation: number
  ) {}

  /** The subscriptions' indexes in the file; the declarations of those new to it go to `lines`. */
  private indexesOf(subscriptions: readonly SpooledSubscription[], lines: Chunk[]): number[] {
    return subscriptions.map((subscription) => {
      const key = keyOf(subscription)
      let i = this.declared.get(key)
      if (i === undefined) {
        i = this.declared.size
        this.declared.set(key, i)
        lines.push(subscriptionLine(i, subscription))
      }
      return i
    })
  }

  /**
   * Adds an event's line to `lines`, after declarations of subscriptions new to the file and of its
   * context when it is one ingest shares between events (frozen: a batch's context, or a merged
   * copy) that `contexts` (per write) does not have yet, so such a context is written once, not
   * per event. Counts its deliveries as owed. Returns its number and its subscriptions' indexes.
   */
  write(
    event: SegmentEvent,
    subscriptions: readonly SpooledSubscription[],
    lines: Chunk[],
    contexts: Map<object, number>
  ): { n: number; indexes: number[] } {
    const indexes = this.indexesOf(subscriptions, lines)
    const context = event.context
    let contextIndex: number | undefined
    if (typeof context === 'object' && context !== null && Object.isFrozen(context)) {
      contextIndex = contexts.get(context)
      if (contextIndex === undefined) {
        contextIndex = this.nextContext++
        contexts.set(context, contextIndex)
        lines.push(contextLine(contextIndex, context))
      }
    }
    const n = this.nextEvent++
    lines.push(eventLine(n, indexes, event, contextIndex))
    this.owed += indexes.length
    this.written += indexes.length
    return { n, indexes }
  }

  /** As `write`, keeping the event as owed here. */
  add(
    event: SegmentEvent,
    subscriptions: readonly SpooledSubscription[],
    lines: Chunk[],
    contexts: Map<object, number>
  ): SpooledEvent {
    const { n, indexes } = this.write(event, subscriptions, lines, contexts)
    return this.keep(n, event, subscriptions, indexes)
  }

  /**
   * The events of one call, in one line that holds the call's body as it came (not each event
   * serialized again), kept as owed here: each with the subscriptions it is owed to and where in
   * the call it came from.
   */
  addCall(
    call: SpooledCall,
    entries: ReadonlyArray<{ event: SegmentEvent; subscriptions: readonly SpooledSubscription[]; item: TakenItem }>,
    lines: Chunk[]
  ): SpooledEvent[] {
    const first = this.nextEvent
    const callEntries: CallEntry[] = []
    const indexes = entries.map(({ subscriptions, item }) => {
      const of = this.indexesOf(subscriptions, lines)
      callEntries.push(item.messageId === undefined ? [item.index, of] : [item.index, of, item.messageId])
      this.owed += of.length
      this.written += of.length
      return of
    })
    this.nextEvent += entries.length
    lines.push(...callLine(first, call.kind, call.receivedAt, callEntries, call.body))
    return entries.map(({ event, subscriptions }, k) => this.keep(first + k, event, subscriptions, indexes[k]))
  }

  private keep(
    n: number,
    event: SegmentEvent,
    subscriptions: readonly SpooledSubscription[],
    indexes: number[]
  ): SpooledEvent {
    const entry = new SpooledEvent(this, n, event)
    entry.owed = subscriptions.map((subscription, k) => new SpoolRef(entry, indexes[k], subscription))
    this.events.set(n, entry)
    return entry
  }

  /** An event whose lines were not written after all: nothing of it is owed. */
  forget(entry: SpooledEvent): void {
    for (const ref of entry.owed) ref.ended = true
    this.owed -= entry.owed.length
    this.events.delete(entry.n)
    entry.owed = []
  }

  /** The end of a delivery of this segment, to be written with the next ends. */
  end(ref: SpoolRef): void {
    const { entry } = ref
    entry.owed.splice(entry.owed.indexOf(ref), 1)
    if (entry.owed.length === 0) this.events.delete(entry.n)
    this.ends.push(entry.n, ref.s)
    this.owed--
  }

  /** A retryable failure of a delivery of this segment: its attempts so far, written with the next ends. */
  attempted(ref: SpoolRef): void {
    this.tries.push(ref.entry.n, ref.s, ref.attempts)
  }

  /**
   * Rebuilds what a file of an earlier run still owes from its records. Returns those events,
   * or a problem when an event is owed to a subscription (or has a context) the file never declared.
   */
  restore(records: SpoolRecord[]): RestoredEvent[] | string {
    const subscriptions = new Map<number, SpooledSubscription>()
    const contexts = new Map<number, JSONObject>()
    const events = new Map<number, Gathered>()
    const gather = (n: number, event: SegmentEvent, owed: number[]) => {
      events.set(n, { event, owed: new Set(owed), attempts: new Map() })
      this.nextEvent = Math.max(this.nextEvent, n + 1)
      this.written += owed.length
    }
    for (const record of records) {
      if (record.t === 's') {
        subscriptions.set(record.i, record.subscription)
        this.declared.set(keyOf(record.subscription), record.i)
      } else if (record.t === 'c') {
        const items = record.e.map(([index, , messageId]) => ({ index, messageId }))
        const rebuilt = rebuildEvents(record.r, record.b, record.at, items)
        record.e.forEach(([, owed], k) => gather(record.n + k, rebuilt[k], owed))
      } else if (record.t === 'x') {
        // Shared by the events that name it, as it was when they were taken in: none may change it.
        deepFreeze(record.c)
        contexts.set(record.i, record.c)
        this.nextContext = Math.max(this.nextContext, record.i + 1)
      } else if (record.t === 'e') {
        if (record.x !== undefined) {
          const context = contexts.get(record.x)
          if (!context) return `event ${record.n} has context ${record.x}, which the file never declares`
          record.e.context = context
        }
        gather(record.n, record.e, record.s)
      } else if (record.t === 'a') {
        for (let k = 0; k < record.d.length; k += 2) events.get(record.d[k])?.owed.delete(record.d[k + 1])
      } else if (record.t === 'f') {
        for (let k = 0; k < record.d.length; k += 3)
          events.get(record.d[k])?.attempts.set(record.d[k + 1], record.d[k + 2])
      }
    }
    const restored: RestoredEvent[] = []
    for (const [n, { event, owed, attempts }] of events) {
      if (owed.size === 0) continue
      const entry = new SpooledEvent(this, n, event)
      for (const s of owed) {
        const subscription = subscriptions.get(s)
        if (!subscription) return `event ${n} is owed to subscription ${s}, which the file never declares`
        const ref = new SpoolRef(entry, s, subscription)
        ref.attempts = attempts.get(s) ?? 0
        entry.owed.push(ref)
      }
      this.events.set(n, entry)
      this.owed += entry.owed.length
      restored.push({ event, refs: [...entry.owed] })
    }
    return restored
  }
}
