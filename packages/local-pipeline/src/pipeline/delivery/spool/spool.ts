/**
 * The spool: every accepted delivery on disk before its call is answered, until its end is
 * recorded. Segment files (`00000001.spool`, …) take events in order; an end is recorded in the
 * file of its event. A file none of whose deliveries is owed any more is deleted; a file two
 * segments old that still owes less than a quarter of what it was written with has those
 * deliveries copied into the current file, then is deleted. So the spool's size follows the
 * backlog, not the history.
 */
import { appendFileSync, mkdirSync, readFileSync, readdirSync, statSync, truncateSync, unlinkSync } from 'node:fs'
import * as path from 'node:path'
import type { SegmentEvent } from '@segment/actions-core'
import { lockFolder } from './lock'
import type { TakenItem } from '../../segment-events'
import { ackLine, attemptsLine, headerLine, type Chunk, type SpooledSubscription } from './records'
import { readSegment } from './recovery'
import { Segment, type RestoredEvent, type SpooledCall, type SpoolRef } from './segment'
import { SegmentFile } from './segment-file'

export type { RestoredEvent, SpooledCall, SpoolRef } from './segment'

/** An event to keep, with the subscriptions it is owed to and, when its call is given, where in the call it is. */
export interface SpoolEntry {
  event: SegmentEvent
  subscriptions: readonly SpooledSubscription[]
  item?: TakenItem
}

export const DEFAULT_SPOOL_DIR = 'ortto-spool'
/** A segment takes no new events past this size. */
const SEGMENT_BYTES = 8 * 1024 * 1024
/** The current segment, once nothing in it is owed, is replaced when it has grown past this. */
const EMPTY_SEGMENT_BYTES = 256 * 1024

/** The spool folder cannot be used; the message says why and what to do. */
export class SpoolError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SpoolError'
  }
}

interface SpoolOptions {
  dir: string
  log: (line: string) => void
  /** Sizes in bytes (tests make them small). */
  segmentBytes?: number
  emptySegmentBytes?: number
}

const segmentName = (id: number) => `${String(id).padStart(8, '0')}.spool`
const SEGMENT_NAME = /^(\d{8})\.spool$/

export class DiskSpool {
  readonly dir: string
  private readonly segments = new Set<Segment>()
  private current: Segment | undefined
  private nextId = 1
  /** Segments started by this run. */
  private started = 0
  private unlock: (() => void) | undefined
  private readonly segmentBytes: number
  private readonly emptySegmentBytes: number
  /** Deletions and compactions under way. */
  private readonly tasks = new Set<Promise<void>>()

  constructor(private readonly options: SpoolOptions) {
    this.dir = options.dir
    this.segmentBytes = options.segmentBytes ?? SEGMENT_BYTES
    this.emptySegmentBytes = options.emptySegmentBytes ?? EMPTY_SEGMENT_BYTES
  }

  /** Takes the folder (created if missing) and reads back what it holds. Throws SpoolError or SpoolDamagedError. */
  open(): RestoredEvent[] {
    const unusable = (why: string) => new SpoolError(`SPOOL_DIR ${this.dir} cannot be used: ${why}.`)
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 })
      if (!statSync(this.dir).isDirectory()) throw new Error('it is not a folder')
    } catch (error) {
      throw unusable(`${(error as Error).message}; choose a writable folder`)
    }
    this.unlock = lockFolder(this.dir, unusable)
    const restored: RestoredEvent[] = []
    try {
      const names = readdirSync(this.dir)
        .filter((name) => SEGMENT_NAME.test(name))
        .sort()
      for (const name of names) restored.push(...this.restore(name))
    } catch (error) {
      this.unlock()
      throw error
    }
    for (const segment of this.segments) this.settle(segment)
    return restored
  }

  /** One file of an earlier run: what it still owes. A file that owes nothing is deleted. */
  private restore(name: string): RestoredEvent[] {
    const id = Number(SEGMENT_NAME.exec(name)?.[1])
    this.nextId = Math.max(this.nextId, id + 1)
    const file = path.join(this.dir, name)
    const { records, intactLength, lacksNewline } = readSegment(file, readFileSync(file))
    const size = intactLength + (lacksNewline ? 1 : 0)
    const segment = new Segment(this.segmentFile(file, size), -2)
    const restored = segment.restore(records)
    if (typeof restored === 'string') {
      throw new SpoolError(
        `The spool file ${file} is damaged: ${restored}. Move it out of ${this.dir} to start without it.`
      )
    }
    if (restored.length === 0) {
      unlinkSync(file)
      return []
    }
    // The line a kill cut short goes; a last line without its newline gets one.
    truncateSync(file, intactLength)
    if (lacksNewline) appendFileSync(file, '\n')
    this.segments.add(segment)
    return restored
  }

  /**
   * Writes these events, each with the subscriptions it is owed to; resolves once they are on disk,
   * with each event's deliveries. Rejects when they could not be written (nothing is owed then).
   * With the `call` they came in (and each entry's item of it), the call's body is written as it
   * came, once, instead of each event: cheaper, and a context the call's events share stays one.
   */
  async append(entries: readonly SpoolEntry[], call?: SpooledCall): Promise<SpoolRef[][]> {
    const segment = this.writable()
    const lines: Chunk[] = []
    const withItems = call && entries.every((entry) => entry.item !== undefined)
    const contexts = new Map<object, number>()
    const added = withItems
      ? segment.addCall(call, entries as ReadonlyArray<Required<SpoolEntry>>, lines)
      : entries.map(({ event, subscriptions }) => segment.add(event, subscriptions, lines, contexts))
    try {
      await segment.file.appendDurably(lines)
    } catch (error) {
      for (const entry of added) segment.forget(entry)
      throw new SpoolError(`The spool could not write to ${segment.file.file} (${(error as Error).message}).`)
    }
    // The lists as they are now (nothing of them can have ended yet): no copies.
    return added.map((entry) => entry.owed)
  }

  /** Records the end of these deliveries (delivered, or in the dead-letter file): the spool owes them no more. */
  end(refs: Iterable<SpoolRef>): void {
    const touched = new Set<Segment>()
    for (const ref of refs) {
      if (ref.ended) continue
      ref.ended = true
      const segment = ref.entry.segment
      segment.end(ref)
      touched.add(segment)
    }
    for (const segment of touched) this.settle(segment)
  }

  /**
   * A retryable failure of this delivery after `attempts` attempts in all: written with the next
   * ends, so that a restart goes on counting from there.
   */
  attempted(ref: SpoolRef, attempts: number): void {
    if (ref.ended) return
    ref.attempts = attempts
    ref.entry.segment.attempted(ref)
  }

  /**
   * Writes the ends and attempts recorded since the last call (not flushed: a lost end only means
   * a delivery is sent again, a lost attempt that it is tried once more).
   */
  writeEnds(): void {
    for (const segment of this.segments) {
      if (segment.tries.length > 0) {
        segment.file.append(attemptsLine(segment.tries))
        segment.tries = []
      }
      if (segment.ends.length > 0) {
        segment.file.append(ackLine(segment.ends))
        segment.ends = []
      }
    }
  }

  /** Resolves once the deletions, compactions and writes under way (ends recorded too) are done. */
  async idle(): Promise<void> {
    while (this.tasks.size > 0) await Promise.all(this.tasks)
    for (const segment of [...this.segments]) await segment.file.idle()
  }

  /** Writes what is recorded, flushes every file and lets go of the folder. Files that owe nothing are deleted. */
  async close(): Promise<void> {
    await this.idle()
    this.writeEnds()
    this.current = undefined
    try {
      for (const segment of [...this.segments]) {
        if (segment.owed === 0) await this.retire(segment)
        else await segment.file.close()
      }
    } finally {
      this.unlock?.()
      this.unlock = undefined
    }
  }

  /** Segment files and bytes the spool holds now (for tests and the benchmark). */
  usage(): { files: number; bytes: number } {
    const names = readdirSync(this.dir).filter((name) => SEGMENT_NAME.test(name))
    const bytes = names.reduce((sum, name) => sum + statSync(path.join(this.dir, name)).size, 0)
    return { files: names.length, bytes }
  }

  private segmentFile(file: string, existingSize?: number): SegmentFile {
    return new SegmentFile(file, existingSize, (error) =>
      this.options.log(`[spool] ${file} can no longer be written (${String(error)}); what it owes is still delivered`)
    )
  }

  /** The segment new events go to: the current one, or a new one when it is full or cannot be written. */
  private writable(): Segment {
    const current = this.current
    if (current && !current.file.broken && current.file.size < this.segmentBytes) return current
    this.current = undefined
    const segment = new Segment(this.segmentFile(path.join(this.dir, segmentName(this.nextId++))), this.started++)
    segment.file.append(headerLine())
    this.segments.add(segment)
    this.current = segment
    // One more segment started: older ones may now be old enough to compact.
    for (const older of [...this.segments]) if (older !== segment) this.settle(older)
    return segment
  }

  /** After a change: deletes a segment that owes nothing, compacts a sparse older one. */
  private settle(segment: Segment): void {
    // A segment being compacted is deleted by its compaction.
    if (!this.segments.has(segment) || segment.compacting) return
    const isCurrent = segment === this.current
    if (segment.owed === 0) {
      if (!isCurrent || segment.file.size >= this.emptySegmentBytes) {
        if (isCurrent) this.current = undefined
        this.inBackground(this.retire(segment))
      }
      return
    }
    // Compacted once sparse and two segments old: by then what it still owes is not about to end anyway.
    const old = this.started - segment.generation > 2
    if (!isCurrent && old && segment.owed * 4 < segment.written) this.inBackground(this.compact(segment))
  }

  private inBackground(task: Promise<void>): void {
    const tracked = task.finally(() => this.tasks.delete(tracked))
    this.tasks.add(tracked)
  }

  private async retire(segment: Segment): Promise<void> {
    this.segments.delete(segment)
    try {
      await segment.file.remove()
    } catch (error) {
      this.options.log(`[spool] ${segment.file.file} owes nothing but could not be deleted (${String(error)})`)
    }
  }

  /** Copies what a sparse segment still owes into the current one, then deletes it. */
  private async compact(from: Segment): Promise<void> {
    from.compacting = true
    const to = this.writable()
    const lines: Chunk[] = []
    // Contexts the events share are written once here too.
    const contexts = new Map<object, number>()
    const attempts: number[] = []
    const moves = [...from.events.values()].map((entry) => {
      const refs = [...entry.owed]
      const written = to.write(
        entry.event,
        refs.map((ref) => ref.subscription),
        lines,
        contexts
      )
      const copied = refs.map((ref) => ref.attempts)
      refs.forEach((ref, k) => {
        if (ref.attempts > 0) attempts.push(written.n, written.indexes[k], ref.attempts)
      })
      return { entry, refs, copied, ...written }
    })
    if (attempts.length > 0) lines.push(attemptsLine(attempts))
    try {
      await to.file.appendDurably(lines)
    } catch (error) {
      for (const { refs } of moves) {
        to.owed -= refs.length
        to.written -= refs.length
      }
      from.compacting = false
      this.options.log(`[spool] ${from.file.file} could not be compacted (${String(error)}); it is kept as it is`)
      return
    }
    for (const { entry, refs, copied, n, indexes } of moves) {
      const still: SpoolRef[] = []
      from.events.delete(entry.n)
      entry.segment = to
      entry.n = n
      refs.forEach((ref, k) => {
        if (ref.ended) {
          // It ended while the copy was written: recorded as ended in the copy too.
          to.ends.push(n, indexes[k])
          to.owed--
        } else {
          ref.s = indexes[k]
          from.owed--
          still.push(ref)
          // Tried again while the copy was written: that count goes with the copy too.
          if (ref.attempts !== copied[k]) to.attempted(ref)
        }
      })
      entry.owed = still
      if (still.length > 0) to.events.set(n, entry)
    }
    await this.retire(from)
    this.settle(to)
  }
}
