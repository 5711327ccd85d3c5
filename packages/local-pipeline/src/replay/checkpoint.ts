/**
 * A replay's checkpoint: which lines of a file the pipeline has acknowledged (and what became of
 * them), written atomically after each acknowledged batch, so a rerun after any kill sends nothing
 * the pipeline acknowledged and misses nothing. It also records enough of the file (its first
 * bytes, and the last line acknowledged) to notice a file that is no longer the one it was for.
 */
import { createHash } from 'node:crypto'
import { open, readFile, rename, rm } from 'node:fs/promises'
import * as path from 'node:path'
import { isRecord } from '../pipeline/json'
import { readWindows, splitLines, type LinePosition, type SourceKind, type SourceLine } from './line-source'
import { emptyTally, type Tally } from './tally'

/** Bytes at the start of the content a checkpoint keeps a hash of. */
const HEAD_BYTES = 4096

/** Lines from..to (to excluded) whose batch the pipeline acknowledged. */
export interface AckedRange {
  from: LinePosition
  to: LinePosition
}

export interface CheckpointState {
  version: 1
  /** The file, as an absolute path when the checkpoint was written (for messages only). */
  file: string
  kind: SourceKind
  head: { length: number; sha256: string }
  /** Every line before this one has its outcome. */
  acknowledged: LinePosition
  /** Batches acknowledged beyond `acknowledged`, in file order (several were in flight at once). */
  ahead: AckedRange[]
  /** The last line of the furthest acknowledged batch, with the hash of its text. */
  last?: { number: number; start: number; end: number; sha256: string }
  tally: Tally
  updatedAt: string
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex')

/** The hash of a line's text as SourceLine reads it, which is what a checkpoint compares. */
export const lineHash = (line: SourceLine): string => sha256(line.text ?? `(${line.end - line.start} bytes unread)`)

/** The default place of a file's checkpoint: beside it. */
export const checkpointPathFor = (file: string): string => `${file}.replay-checkpoint`

/** A checkpoint that cannot be used: the message says why and how to start over. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CheckpointError'
  }
}

export async function newCheckpoint(file: string, kind: SourceKind): Promise<CheckpointState> {
  const [head] = await readWindows(file, [{ start: 0, length: HEAD_BYTES }])
  return {
    version: 1,
    file: path.resolve(file),
    kind,
    head: { length: head.length, sha256: sha256(head) },
    acknowledged: { offset: 0, line: 1 },
    ahead: [],
    tally: emptyTally(),
    updatedAt: new Date().toISOString()
  }
}

/** Reads the checkpoint at `where`; undefined when there is none. */
export async function readCheckpoint(where: string): Promise<CheckpointState | undefined> {
  let text: string
  try {
    text = await readFile(where, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
  let state: unknown
  try {
    state = JSON.parse(text)
  } catch {
    state = undefined
  }
  if (!isRecord(state) || state.version !== 1 || !isRecord(state.acknowledged) || !isRecord(state.tally)) {
    throw new CheckpointError(
      `${where} is not a replay checkpoint this version can read; delete it (or pass --restart) to start the file over`
    )
  }
  return state as unknown as CheckpointState
}

/**
 * Why `file` is no longer the file `state` was written for, or undefined when it still is (it may
 * have grown: lines appended after the acknowledged ones are simply new).
 */
export async function changedSince(
  file: string,
  kind: SourceKind,
  state: CheckpointState
): Promise<string | undefined> {
  if (kind !== state.kind) return `it was ${state.kind === 'gzip' ? 'gzip' : 'plain text'} and is now ${kind}`
  const { head, last } = state
  const windows = [{ start: 0, length: head.length }]
  if (last) windows.push({ start: last.start, length: last.end - last.start })
  const [headNow, lastNow] = await readWindows(file, windows)
  if (last && lastNow.length < last.end - last.start) {
    return `it is shorter than the ${last.end} bytes already sent from it`
  }
  if (headNow.length < head.length || sha256(headNow) !== head.sha256) {
    return `its first ${head.length} bytes are not those it had`
  }
  if (!last) return undefined
  let seen: SourceLine | undefined
  for await (const line of splitLines([lastNow], { offset: last.start, line: last.number })) seen ??= line
  if (!seen || seen.end !== last.end || lineHash(seen) !== last.sha256) {
    return `line ${last.number} (bytes ${last.start}–${last.end}), the last one acknowledged, is not the line it was`
  }
  return undefined
}

/**
 * Writes checkpoints for one file: each write goes to a temporary file beside it, is flushed to
 * disk, then renamed over the checkpoint (and the folder flushed), so a kill at any moment leaves
 * the previous checkpoint or the new one, never a part. Writes happen one at a time, in order.
 */
export class CheckpointFile {
  private chain: Promise<void> = Promise.resolve()

  constructor(readonly where: string) {}

  save(state: CheckpointState): Promise<void> {
    const text = `${JSON.stringify({ ...state, updatedAt: new Date().toISOString() }, null, 2)}\n`
    const write = this.chain.then(() => writeAtomically(this.where, text))
    this.chain = write.catch(() => undefined)
    return write
  }

  async remove(): Promise<void> {
    await this.chain
    await rm(this.where, { force: true })
  }
}

async function writeAtomically(where: string, text: string): Promise<void> {
  const temporary = `${where}.${process.pid}.tmp`
  const handle = await open(temporary, 'w')
  try {
    await handle.writeFile(text)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await rename(temporary, where)
  const folder = await open(path.dirname(path.resolve(where)), 'r')
  try {
    await folder.sync()
  } finally {
    await folder.close()
  }
}

/**
 * The acknowledged part of a file as batches are acknowledged, in any order: a prefix, and ranges
 * beyond it that join the prefix once the batches between are acknowledged too.
 */
export class Acknowledgements {
  constructor(private readonly state: CheckpointState) {}

  get acknowledged(): LinePosition {
    return this.state.acknowledged
  }

  /** The acknowledged range that holds `line`, when one beyond the prefix does. */
  rangeHolding(line: SourceLine): AckedRange | undefined {
    return this.state.ahead.find((range) => line.start >= range.from.offset && line.end <= range.to.offset)
  }

  add(range: AckedRange, last: SourceLine, tally: (into: Tally) => void): void {
    const { state } = this
    tally(state.tally)
    if (!state.last || last.end > state.last.end) {
      state.last = { number: last.number, start: last.start, end: last.end, sha256: lineHash(last) }
    }
    state.ahead.push(range)
    state.ahead.sort((a, b) => a.from.offset - b.from.offset)
    while (state.ahead.length > 0 && state.ahead[0].from.offset === state.acknowledged.offset) {
      state.acknowledged = state.ahead.shift()!.to
    }
  }
}
