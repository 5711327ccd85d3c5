/**
 * `npm run replay -- FILE…` in-process: each file replayed in turn (see replay-file.ts), then one
 * summary of what became of every line and the file it came from. The command line is cli.ts.
 */
import { randomInt } from 'node:crypto'
import { checkpointPathFor } from './checkpoint'
import { PipelineClient } from './pipeline-client'
import { Progress } from './progress'
import { replayFile, type FileOutcome } from './replay-file'
import { systemClock, type Clock } from './sending'
import { fileSummary, num, plural, refusedCount } from './tally'

export interface ReplayOptions {
  files: string[]
  /** A checkpoint path for the one file; by default each file's is beside it (FILE.replay-checkpoint). */
  checkpoint?: string
  pipelineUrl: URL
  writeKey: string
  inFlight?: number
  batchEvents?: number
  maxRetries?: number
  restart?: boolean
  /** Where progress goes (a bar when it is a terminal), and how often a plain line is written. */
  progressTo: NodeJS.WritableStream
  progressEveryMs?: number
  requestTimeoutMs?: number
  clock?: Clock
  random?: () => number
  signal?: AbortSignal
}

export interface ReplayResult {
  outcomes: FileOutcome[]
  summary: string[]
  /** 0: every line sent; 2: every line has its outcome but some were refused; 1: stopped; 130: interrupted. */
  exitCode: number
}

export const DEFAULTS = {
  inFlight: 2,
  batchEvents: 500,
  maxRetries: 10,
  progressEveryMs: 5_000,
  requestTimeoutMs: 60_000
}

export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const inFlight = options.inFlight ?? DEFAULTS.inFlight
  const clock = options.clock ?? systemClock
  const client = new PipelineClient(
    options.pipelineUrl,
    options.writeKey,
    options.requestTimeoutMs ?? DEFAULTS.requestTimeoutMs,
    inFlight,
    () => clock.now()
  )
  const progressEveryMs = options.progressEveryMs ?? DEFAULTS.progressEveryMs
  const settings = {
    post: (body: string) => client.post(body),
    inFlight,
    batchEvents: options.batchEvents ?? DEFAULTS.batchEvents,
    maxRetries: options.maxRetries ?? DEFAULTS.maxRetries,
    restart: options.restart ?? false,
    clock,
    random: options.random ?? (() => randomInt(1_000_000) / 1_000_000),
    signal: options.signal ?? new AbortController().signal,
    progress: new Progress(options.progressTo, progressEveryMs, () => clock.now()),
    progressEveryMs
  }
  const outcomes: FileOutcome[] = []
  let failure: string | undefined
  try {
    for (const [i, file] of options.files.entries()) {
      const checkpoint = options.checkpoint ?? checkpointPathFor(file)
      try {
        const outcome = await replayFile(file, checkpoint, { fileNumber: i + 1, files: options.files.length }, settings)
        outcomes.push(outcome)
        if (outcome.end !== 'done') break
      } catch (error) {
        failure = `${(error as Error).message}`
        break
      }
    }
  } finally {
    client.close()
  }
  return summarize(options.files, outcomes, failure)
}

function summarize(files: string[], outcomes: FileOutcome[], failure?: string): ReplayResult {
  const summary: string[] = []
  for (const outcome of outcomes) {
    summary.push(...fileSummary(outcome.file, outcome.tally, outcome.sentThisRun))
    if (outcome.leftUnfinished !== undefined) {
      summary.push(
        `  line ${num(outcome.leftUnfinished)} has no newline and is not complete JSON yet (a writer may be appending it): left for the next run`
      )
    }
  }
  const sent = outcomes.reduce((sum, o) => sum + o.tally.sent, 0)
  const refused = outcomes.reduce((sum, o) => sum + refusedCount(o.tally), 0)
  summary.push(
    `In all: ${plural(sent, 'event')} sent, ${plural(refused, 'line')} refused, from ${plural(outcomes.length, 'file')}.`
  )

  const last = outcomes[outcomes.length - 1]
  const notStarted = files.slice(outcomes.length + (failure ? 1 : 0))
  const resume = 'Rerun the same command to resume: nothing the pipeline acknowledged is sent again.'
  if (failure) {
    summary.push(`Stopped: ${failure}`)
    return { outcomes, summary, exitCode: 1 }
  }
  if (last && last.end === 'stopped') {
    summary.push(`Stopped in ${last.file}: ${last.error}`, resume)
    if (notStarted.length > 0) summary.push(`Not started: ${notStarted.join(', ')}`)
    return { outcomes, summary, exitCode: 1 }
  }
  if (last && last.end === 'interrupted') {
    summary.push(`Interrupted in ${last.file}; what the pipeline acknowledged is in ${last.checkpoint}.`, resume)
    return { outcomes, summary, exitCode: 130 }
  }
  return { outcomes, summary, exitCode: refused > 0 ? 2 : 0 }
}
