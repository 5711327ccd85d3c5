/**
 * A batch of lines as replay sends it: a run of consecutive lines of the file (those refused here
 * included, so a checkpoint can cover them) and the events among them, within Segment's limits
 * for one /v1/batch call.
 */
import { MAX_BATCH_BYTES, MAX_BATCH_EVENTS } from '../pipeline/ingest-limits'
import type { LinePosition, SourceLine } from './line-source'
import { emptyTally, type Tally } from './tally'

/** `{"batch":[` and `]}` around the events. */
const ENVELOPE_BYTES = '{"batch":[]}'.length

export class LineBatch {
  readonly from: LinePosition
  to: LinePosition
  last: SourceLine
  /** Events as JSON, and the line each came from (the pipeline's `rejected` indexes are into these). */
  readonly events: string[] = []
  readonly eventLines: number[] = []
  /** What became of the lines refused here (and dead-letter repeats). */
  readonly tally: Tally = emptyTally()
  private bytes = ENVELOPE_BYTES

  constructor(first: SourceLine) {
    this.from = { offset: first.start, line: first.number }
    this.to = this.from
    this.last = first
  }

  /** Whether an event of `bytes` still fits with at most `maxEvents` events. */
  fits(bytes: number, maxEvents: number): boolean {
    const events = this.events.length
    if (events >= Math.min(maxEvents, MAX_BATCH_EVENTS)) return false
    return this.bytes + bytes + (events > 0 ? 1 : 0) <= MAX_BATCH_BYTES
  }

  /** Takes `line` into the batch, with its event when it has one. */
  take(line: SourceLine, event?: { json: string; bytes: number }): void {
    if (event) {
      this.bytes += event.bytes + (this.events.length > 0 ? 1 : 0)
      this.events.push(event.json)
      this.eventLines.push(line.number)
    }
    this.to = { offset: line.end, line: line.number + 1 }
    this.last = line
  }

  body(): string {
    return `{"batch":[${this.events.join(',')}]}`
  }

  /** "lines 12–511", as messages name a batch. */
  describe(): string {
    const lastLine = this.to.line - 1
    return lastLine === this.from.line ? `line ${lastLine}` : `lines ${this.from.line}–${lastLine}`
  }
}
