/**
 * What the spool knows of one segment file: the subscriptions declared in it, the events in it
 * still owed something, and how many deliveries it owes against how many it was written with.
 */
import type { SegmentEvent } from '@segment/actions-core'
import { eventLine, subscriptionLine, type SpoolRecord, type SpooledSubscription } from './records'
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

export class Segment {
  private readonly declared = new Map<string, number>()
  /** Events still owed something, by their number in the file. */
  readonly events = new Map<number, SpooledEvent>()
  private nextEvent = 0
  /** Deliveries owed, and deliveries ever written here. */
  owed = 0
  written = 0
  /** Recorded ends not yet written, as pairs of event and subscription. */
  ends: number[] = []
  compacting = false

  /** @param generation how many segments the spool had started before this one (-2: one of an earlier run) */
  constructor(
    readonly file: SegmentFile,
    readonly generation: number
  ) {}

  /**
   * Adds an event's line, after declarations of subscriptions new to the file, to `lines`, and
   * counts its deliveries as owed. Returns its number and its subscriptions' indexes in the file.
   */
  write(
    event: SegmentEvent,
    subscriptions: readonly SpooledSubscription[],
    lines: string[]
  ): { n: number; indexes: number[] } {
    const indexes = subscriptions.map((subscription) => {
      const key = keyOf(subscription)
      let i = this.declared.get(key)
      if (i === undefined) {
        i = this.declared.size
        this.declared.set(key, i)
        lines.push(subscriptionLine(i, subscription))
      }
      return i
    })
    const n = this.nextEvent++
    lines.push(eventLine(n, indexes, event))
    this.owed += indexes.length
    this.written += indexes.length
    return { n, indexes }
  }

  /** As `write`, keeping the event as owed here. */
  add(event: SegmentEvent, subscriptions: readonly SpooledSubscription[], lines: string[]): SpooledEvent {
    const { n, indexes } = this.write(event, subscriptions, lines)
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

  /**
   * Rebuilds what a file of an earlier run still owes from its records. Returns those events,
   * or a problem when an event is owed to a subscription the file never declared.
   */
  restore(records: SpoolRecord[]): RestoredEvent[] | string {
    const subscriptions = new Map<number, SpooledSubscription>()
    const events = new Map<number, { event: SegmentEvent; owed: Set<number> }>()
    for (const record of records) {
      if (record.t === 's') {
        subscriptions.set(record.i, record.subscription)
        this.declared.set(keyOf(record.subscription), record.i)
      } else if (record.t === 'e') {
        events.set(record.n, { event: record.e, owed: new Set(record.s) })
        this.nextEvent = Math.max(this.nextEvent, record.n + 1)
        this.written += record.s.length
      } else if (record.t === 'a') {
        for (let k = 0; k < record.d.length; k += 2) events.get(record.d[k])?.owed.delete(record.d[k + 1])
      }
    }
    const restored: RestoredEvent[] = []
    for (const [n, { event, owed }] of events) {
      if (owed.size === 0) continue
      const entry = new SpooledEvent(this, n, event)
      for (const s of owed) {
        const subscription = subscriptions.get(s)
        if (!subscription) return `event ${n} is owed to subscription ${s}, which the file never declares`
        entry.owed.push(new SpoolRef(entry, s, subscription))
      }
      this.events.set(n, entry)
      this.owed += entry.owed.length
      restored.push({ event, refs: [...entry.owed] })
    }
    return restored
  }
}
