/**
 * How far a replay is: a bar redrawn in place on a terminal, plain lines every few seconds
 * otherwise (a log, a pipe, CI). Drawn from figures the replay hands over; nothing here keeps time.
 */
import { num } from './tally'

export interface ProgressFigures {
  file: string
  /** 1-based, of `files`. */
  fileNumber: number
  files: number
  /** Lines whose outcome is known (acknowledged), and all the file's lines when known (plain files). */
  linesDone: number
  linesTotal?: number
  /** Events the pipeline took in this run, and how fast. */
  sent: number
  eventsPerSecond: number
  refused: number
  /** How much of the file is read, 0–1 (by its bytes on disk), and the time left at this pace. */
  fraction: number
  etaSeconds?: number
  /** What the replay is waiting for, when it waits. */
  waiting?: string
}

const BAR_WIDTH = 24

export const duration = (seconds: number): string => {
  const s = Math.max(0, Math.round(seconds))
  const hours = Math.floor(s / 3600)
  const minutes = Math.floor((s % 3600) / 60)
  const rest = String(s % 60).padStart(2, '0')
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${rest}` : `${minutes}:${rest}`
}

const lines = (f: ProgressFigures) =>
  f.linesTotal === undefined ? `${num(f.linesDone)} lines` : `${num(f.linesDone)}/${num(f.linesTotal)} lines`

const percent = (fraction: number) => `${Math.floor(Math.min(1, Math.max(0, fraction)) * 100)}%`

/** The terminal's bar, cut to `columns`. */
export function barText(f: ProgressFigures, columns: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, f.fraction)) * BAR_WIDTH)
  const bar = `[${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}]`
  const which = f.files > 1 ? ` (${f.fileNumber}/${f.files})` : ''
  const text =
    `${f.file}${which} ${bar} ${percent(f.fraction)} ${lines(f)} · ${num(Math.round(f.eventsPerSecond))} events/s` +
    ` · ETA ${f.etaSeconds === undefined ? '?' : duration(f.etaSeconds)} · refused ${num(f.refused)}` +
    (f.waiting ? ` · ${f.waiting}` : '')
  return text.length > columns ? `${text.slice(0, Math.max(0, columns - 1))}…` : text
}

/** A plain progress line. */
export function lineText(f: ProgressFigures): string {
  return (
    `replay: ${f.file}: ${percent(f.fraction)}, ${lines(f)}, ${num(f.sent)} events sent ` +
    `(${num(Math.round(f.eventsPerSecond))}/s), ${num(f.refused)} lines refused` +
    (f.etaSeconds === undefined ? '' : `, about ${duration(f.etaSeconds)} left`) +
    (f.waiting ? `; ${f.waiting}` : '')
  )
}

export class Progress {
  private lastShown = -Infinity
  private drawn = false

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly everyMs: number,
    private readonly now: () => number = Date.now
  ) {}

  private get tty(): boolean {
    return this.out.isTTY === true
  }

  /** Shows the figures: on a terminal at most 10 times a second, otherwise at most every `everyMs`. */
  show(figures: ProgressFigures, force = false): void {
    const at = this.now()
    if (!force && at - this.lastShown < (this.tty ? 100 : this.everyMs)) return
    this.lastShown = at
    if (this.tty) {
      this.out.write(`\r${barText(figures, this.out.columns ?? 80)}\x1b[K`)
      this.drawn = true
    } else {
      this.out.write(`${lineText(figures)}\n`)
    }
  }

  /** Ends the bar's line, so what follows starts on its own. */
  finish(): void {
    if (this.drawn) this.out.write('\n')
    this.drawn = false
  }
}
