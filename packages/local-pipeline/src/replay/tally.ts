/**
 * What became of a file's lines: events the pipeline took, lines refused (grouped by reason, with
 * the first line numbers of each) and dead-letter repeats skipped. Kept in the checkpoint, so the
 * summary after a resumed run covers the runs before it too.
 */

export interface Tally {
  /** Events the pipeline took (200, not in its `rejected`). */
  sent: number
  /** Of those, the ones that matched no mapping (taken, nothing to deliver). */
  unsubscribed: number
  /** Dead-letter lines of an event already sent from the file (it failed for several mappings). */
  repeats: number
  /** Lines refused, here or by the pipeline: by reason, how many and the first line numbers. */
  refused: Record<string, { count: number; lines: number[] }>
}

/** Line numbers kept per reason, and distinct reasons kept (the rest are counted together). */
const LINES_KEPT = 10
const REASONS_KEPT = 50
export const OTHER_REASONS = '(other reasons)'

export const emptyTally = (): Tally => ({ sent: 0, unsubscribed: 0, repeats: 0, refused: {} })

export function refuse(tally: Tally, reason: string, line: number): void {
  const known = Object.hasOwn(tally.refused, reason)
  const key = known || Object.keys(tally.refused).length < REASONS_KEPT ? reason : OTHER_REASONS
  const entry = (tally.refused[key] ??= { count: 0, lines: [] })
  entry.count++
  if (entry.lines.length < LINES_KEPT) entry.lines.push(line)
}

export const refusedCount = (tally: Tally): number =>
  Object.values(tally.refused).reduce((sum, entry) => sum + entry.count, 0)

/** Adds `more` (a later batch's outcome) into `into`. */
export function addTally(into: Tally, more: Tally): void {
  into.sent += more.sent
  into.unsubscribed += more.unsubscribed
  into.repeats += more.repeats
  for (const [reason, { count, lines }] of Object.entries(more.refused)) {
    lines.forEach((line) => refuse(into, reason, line))
    const entry = into.refused[Object.hasOwn(into.refused, reason) ? reason : OTHER_REASONS]
    entry.count += count - lines.length
  }
}

export const num = (value: number): string => value.toLocaleString('en-US')
export const plural = (count: number, one: string, many = `${one}s`): string =>
  `${num(count)} ${count === 1 ? one : many}`

/** "lines 4, 9 and 12", "line 3", "lines 1, 2, … (first 10 of 40)". */
function linesText({ count, lines }: { count: number; lines: number[] }): string {
  const listed = lines.map(num)
  const text = listed.length === 1 ? `line ${listed[0]}` : `lines ${listed.join(', ')}`
  return count > lines.length ? `${text}, … (the first ${lines.length})` : text
}

/** The summary of one file: a headline, then a line per reason lines were refused for. */
export function fileSummary(file: string, tally: Tally, sentThisRun: number): string[] {
  const refused = refusedCount(tally)
  const parts = [`${plural(tally.sent, 'event')} sent`]
  if (sentThisRun !== tally.sent) parts[0] += ` (${num(sentThisRun)} in this run)`
  if (tally.unsubscribed > 0) parts.push(`${num(tally.unsubscribed)} of them matching no mapping`)
  if (tally.repeats > 0) parts.push(`${plural(tally.repeats, 'dead-letter repeat')} of an event already sent, skipped`)
  parts.push(`${plural(refused, 'line')} refused${refused > 0 ? ':' : ''}`)
  const reasons = Object.entries(tally.refused).sort((a, b) => b[1].count - a[1].count)
  return [
    `${file}: ${parts.join(', ')}`,
    ...reasons.map(([reason, entry]) => `  ${num(entry.count)} × ${reason} (${linesText(entry)})`)
  ]
}
