/**
 * What a line of a replayed file is: a Segment event to send (a line of Segment's archive, or the
 * `event` of a dead-letter line), or why it is refused. Events are checked here as the pipeline
 * checks them (the same code), so a refusal names its line instead of an index in a batch.
 */
import { isRecord, parseJson } from '../pipeline/json'
import { MAX_EVENT_BYTES, limitText } from '../pipeline/ingest-limits'
import { callProblem } from '../pipeline/segment-events'
import { MAX_LINE_BYTES, type SourceLine } from './line-source'

export type LineItem =
  | { kind: 'event'; json: string; bytes: number }
  | { kind: 'refused'; reason: string }
  /** A dead-letter line of an event sent from this file already (it failed for another mapping too). */
  | { kind: 'repeat' }

/** Message ids of dead-letter events sent lately, kept to skip repeats: the most recent this many. */
const REPEAT_WINDOW = 100_000

export const REASONS = {
  blank: 'a blank line',
  notJson: 'not valid JSON',
  tooLong: `longer than ${MAX_LINE_BYTES / 1024 / 1024} MiB, more than any Segment event`,
  notObject: 'not a JSON object, so not a Segment event',
  tooLarge: `an event over ${limitText(MAX_EVENT_BYTES)}, Segment's limit per event`
} as const

export class LineReader {
  private readonly recent = new Map<string, true>()

  read(line: SourceLine): LineItem {
    if (line.text === undefined) return { kind: 'refused', reason: REASONS.tooLong }
    if (line.text.trim() === '') return { kind: 'refused', reason: REASONS.blank }
    const value = parseJson(line.text)
    if (value === undefined) return { kind: 'refused', reason: REASONS.notJson }
    if (!isRecord(value)) return { kind: 'refused', reason: REASONS.notObject }
    // A dead-letter line: {failedAt, subscription, …, event}. A track call's `event` is its name, a string.
    const inner = value.event
    const event = isRecord(inner) ? inner : value
    if (event !== value && this.isRepeat(event.messageId)) return { kind: 'repeat' }
    const json = JSON.stringify(event)
    const bytes = Buffer.byteLength(json, 'utf8')
    if (bytes > MAX_EVENT_BYTES) return { kind: 'refused', reason: REASONS.tooLarge }
    const problem = callProblem(event, bytes)
    if (problem) return { kind: 'refused', reason: problem }
    return { kind: 'event', json, bytes }
  }

  /** Whether a dead letter of this event was read lately; records it if not. */
  private isRepeat(messageId: unknown): boolean {
    if (typeof messageId !== 'string' || messageId === '') return false
    if (this.recent.has(messageId)) return true
    this.recent.set(messageId, true)
    if (this.recent.size > REPEAT_WINDOW) this.recent.delete(this.recent.keys().next().value as string)
    return false
  }
}
