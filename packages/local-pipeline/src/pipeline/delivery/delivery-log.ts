/**
 * The wording of delivery's log lines (docs/operating.md, "Log lines"): one per batch sent, and a backlog line
 * every few seconds while deliveries wait. Lines quote Ortto's reasons; the caller's log removes
 * the API key from each, whatever an answer echoed.
 */
import { inSeconds, plural, statusPhrase } from '../log-text'

/** What a batch came to, per delivery. */
export class BatchTally {
  delivered = 0
  failed = 0
  retryable = 0
  /** The first failure, as "<status> <reason>". */
  example: string | undefined
  /** Retryable deliveries by what their status means. */
  private readonly reasons = new Map<string, number>()

  retry(status: number): void {
    this.retryable++
    const phrase = statusPhrase(status)
    this.reasons.set(phrase, (this.reasons.get(phrase) ?? 0) + 1)
  }

  fail(status: number, reason: string): void {
    this.failed++
    this.example ??= `${status} ${reason}`
  }

  /**
   * "[delivery] upsertContact: 500 events — 498 delivered, 1 failed (e.g. 400 …), 1 retryable: 503
   * service unavailable, next try in 0.6 s". Retryable ones are grouped by status, most first.
   */
  line(action: string, events: number, nextTryInMs: number): string {
    const failed = `${this.failed} failed${this.example ? ` (e.g. ${this.example})` : ''}`
    let retryable = '0 retryable'
    if (this.retryable > 0) {
      const groups = [...this.reasons].sort((a, b) => b[1] - a[1])
      const why =
        groups.length === 1 ? groups[0][0] : groups.map(([reason, count]) => `${count} × ${reason}`).join(', ')
      retryable = `${this.retryable} retryable: ${why}, next try in ${inSeconds(nextTryInMs)}`
    }
    return `[delivery] ${action}: ${plural(events, 'event')} — ${this.delivered} delivered, ${failed}, ${retryable}`
  }
}

/** What one subscription holds that is not being sent. */
export interface Held {
  action: string
  count: number
}

/**
 * "[delivery] backlog: 3 events waiting (upsertContact 2, trackActivity 1), 2 requests in flight,
 * next try in 1 s". The subscriptions are named when more than one waits; requests in flight and
 * the next try are said when there are any.
 */
export function backlogLine(held: readonly Held[], inFlight: number, nextTryInMs: number | undefined): string {
  const total = held.reduce((sum, h) => sum + h.count, 0)
  const split = held.length > 1 ? ` (${held.map((h) => `${h.action} ${h.count}`).join(', ')})` : ''
  const parts = [`${plural(total, 'event')} waiting${split}`]
  if (inFlight > 0) parts.push(`${plural(inFlight, 'request')} in flight`)
  if (nextTryInMs !== undefined) parts.push(`next try in ${inSeconds(nextTryInMs)}`)
  return `[delivery] backlog: ${parts.join(', ')}`
}

/** At stop: what stays for the next start, and where. */
export function heldAtStopLine(held: number, where: string): string {
  const stay = held === 1 ? 'stays' : 'stay'
  return `[delivery] ${plural(held, 'delivery', 'deliveries')} not delivered yet ${stay} in the spool (${where}) for the next start`
}
