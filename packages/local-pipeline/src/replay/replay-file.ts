/**
 * Replays one file: reads its lines from where its checkpoint says (after checking the file is
 * still the one the checkpoint was written for), sends its events in batches with a bounded number
 * in flight, and after each batch the pipeline acknowledges records it in the checkpoint. Reading
 * waits while the batches in flight are all the replay may have, so memory does not follow the
 * file's size.
 */
import { createReadStream } from 'node:fs'
import { LineBatch } from './batches'
import {
  Acknowledgements,
  CheckpointError,
  CheckpointFile,
  changedSince,
  newCheckpoint,
  readCheckpoint,
  type CheckpointState
} from './checkpoint'
import { parseJson } from '../pipeline/json'
import { messageOf } from '../pipeline/error-message'
import { LineReader } from './event-lines'
import { openSource, sourceKind, type LinePosition, type SourceLine } from './line-source'
import type { PostOutcome, TakenAnswer } from './pipeline-client'
import type { Progress } from './progress'
import { PauseGate, ReplayInterrupted, ReplayStopped, sendUntilTaken, type Clock } from './sending'
import { addTally, refuse, refusedCount, type Tally } from './tally'

export interface ReplaySettings {
  post(body: string): Promise<PostOutcome>
  /** Batches sent at once, and events per batch (a batch also stays within 500 kB). */
  inFlight: number
  batchEvents: number
  maxRetries: number
  /** Forget any checkpoint and send from the start. */
  restart: boolean
  clock: Clock
  random: () => number
  /** Aborted to stop (Ctrl+C): nothing more is sent, and what was acknowledged stays checkpointed. */
  signal: AbortSignal
  progress: Progress
  /** How often progress is shown while nothing is acknowledged (waiting for the pipeline). */
  progressEveryMs: number
}

export interface FileOutcome {
  file: string
  checkpoint: string
  /** Everything acknowledged over every run of this checkpoint. */
  tally: Tally
  sentThisRun: number
  /** Done: every line has its outcome; stopped: an error (`error` says); interrupted: Ctrl+C. */
  end: 'done' | 'stopped' | 'interrupted'
  error?: string
  /** A last line without its newline that is not (yet) complete JSON: left for the next run. */
  leftUnfinished?: number
}

/** Lines in a plain file from `from` to its end: the total the progress shows. */
async function countLines(file: string, from: LinePosition, size: number): Promise<number> {
  if (from.offset >= size) return from.line - 1
  let count = 0
  let lastByte = 0x0a
  for await (const chunk of createReadStream(file, { start: from.offset, end: size - 1 }) as AsyncIterable<Buffer>) {
    for (let at = chunk.indexOf(0x0a); at >= 0; at = chunk.indexOf(0x0a, at + 1)) count++
    lastByte = chunk[chunk.length - 1]
  }
  return from.line - 1 + count + (lastByte === 0x0a ? 0 : 1)
}

async function startingState(
  file: string,
  checkpoint: CheckpointFile,
  restart: boolean
): Promise<{ state: CheckpointState; kind: 'plain' | 'gzip' }> {
  const kind = await sourceKind(file)
  const saved = restart ? undefined : await readCheckpoint(checkpoint.where)
  if (!saved) return { state: await newCheckpoint(file, kind), kind }
  const change = await changedSince(file, kind, saved)
  if (change) {
    throw new CheckpointError(
      `${file} is not the file ${checkpoint.where} was written for: ${change}. The checkpoint no longer ` +
        `says what was sent. To send ${file} from its start (again), delete the checkpoint or rerun with --restart.`
    )
  }
  return { state: saved, kind }
}

export async function replayFile(
  file: string,
  checkpointPath: string,
  place: { fileNumber: number; files: number },
  settings: ReplaySettings
): Promise<FileOutcome> {
  const { clock, progress, signal } = settings
  const checkpoint = new CheckpointFile(checkpointPath)
  const { state, kind } = await startingState(file, checkpoint, settings.restart)
  const acks = new Acknowledgements(state)
  const source = await openSource(file, state.acknowledged)
  const linesTotal = kind === 'plain' ? await countLines(file, state.acknowledged, source.size) : undefined
  const outcome: FileOutcome = { file, checkpoint: checkpointPath, tally: state.tally, sentThisRun: 0, end: 'done' }
  const startedAt = clock.now()
  const startFraction = kind === 'plain' && source.size > 0 ? state.acknowledged.offset / source.size : 0
  let waiting: string | undefined

  const figures = () => {
    const fraction =
      source.size === 0 ? 1 : (kind === 'plain' ? acks.acknowledged.offset : source.bytesRead) / source.size
    const seconds = (clock.now() - startedAt) / 1000
    const pace = seconds > 0 ? (fraction - startFraction) / seconds : 0
    return {
      file,
      ...place,
      linesDone: acks.acknowledged.line - 1,
      linesTotal,
      sent: outcome.sentThisRun,
      eventsPerSecond: seconds > 0 ? outcome.sentThisRun / seconds : 0,
      refused: refusedCount(state.tally),
      fraction,
      etaSeconds: pace > 0 ? (1 - fraction) / pace : undefined,
      waiting
    }
  }
  const ticker = setInterval(() => progress.show(figures()), settings.progressEveryMs)
  ticker.unref()

  const gate = new PauseGate(clock)
  const running = new Set<Promise<void>>()
  const stop = (error: unknown) => {
    if (outcome.end !== 'done') return
    if (error instanceof ReplayInterrupted) outcome.end = 'interrupted'
    else {
      outcome.end = 'stopped'
      outcome.error = messageOf(error)
    }
  }

  const acknowledge = async (batch: LineBatch, answer?: TakenAnswer) => {
    acks.add({ from: batch.from, to: batch.to }, batch.last, (tally) => {
      addTally(tally, batch.tally)
      if (!answer) return
      tally.sent += answer.accepted
      tally.unsubscribed += answer.unsubscribed
      for (const { index, reason } of answer.rejected) refuse(tally, reason, batch.eventLines[index] ?? batch.from.line)
    })
    outcome.sentThisRun += answer?.accepted ?? 0
    await checkpoint.save(state)
    progress.show(figures())
  }

  const send = async (batch: LineBatch) => {
    while (running.size >= settings.inFlight) await Promise.race(running)
    if (outcome.end !== 'done') return
    const task = (async () => {
      const answer =
        batch.events.length === 0
          ? undefined
          : await sendUntilTaken(batch.body(), batch.describe(), {
              post: (body) => settings.post(body),
              gate,
              maxRetries: settings.maxRetries,
              random: settings.random,
              signal,
              onWait: (why) => {
                waiting = why
                if (why) progress.show(figures(), true)
              }
            })
      await acknowledge(batch, answer)
    })().catch(stop)
    running.add(task)
    void task.finally(() => running.delete(task))
  }

  const reader = new LineReader()
  let batch: LineBatch | undefined
  const flush = async () => {
    if (batch) await send(batch)
    batch = undefined
  }
  try {
    for await (const line of source.lines) {
      if (outcome.end !== 'done') break
      if (signal.aborted) {
        stop(new ReplayInterrupted())
        break
      }
      if (acks.rangeHolding(line)) {
        await flush()
        continue
      }
      if (line.unterminated && kind === 'plain' && isUnfinished(line)) {
        outcome.leftUnfinished = line.number
        break
      }
      const item = reader.read(line)
      if (item.kind === 'event' && batch && !batch.fits(item.bytes, settings.batchEvents)) await flush()
      batch ??= new LineBatch(line)
      if (item.kind === 'event') batch.take(line, item)
      else {
        if (item.kind === 'refused') refuse(batch.tally, item.reason, line.number)
        else batch.tally.repeats++
        batch.take(line)
      }
    }
    if (outcome.end === 'done') await flush()
  } catch (error) {
    stop(
      error instanceof ReplayStopped
        ? error
        : new ReplayStopped(`${file} could not be read to its end: ${(error as Error).message}`)
    )
  } finally {
    source.close()
    await Promise.all(running)
    clearInterval(ticker)
    waiting = undefined
    progress.show(figures(), true)
    progress.finish()
  }
  return outcome
}

/** A last line without a newline that does not parse: a writer may be appending it now. */
const isUnfinished = (line: SourceLine): boolean =>
  line.text !== undefined && line.text.trim() !== '' && parseJson(line.text) === undefined
