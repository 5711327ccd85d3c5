import { constants as fsConstants, promises as fs } from 'node:fs'
import { SandboxDataError, errorCode, messageOf } from './errors'
import { isJsonObject as isRecord } from './json'
import type { SandboxState } from './types'
import { DATA_FILE_FORMAT, DATA_FILE_VERSION, FIX_OR_DELETE, emptyState, type JournalEntry } from './data-file/format'
import { checkWritable, nameOf, resolveDataFile, type DataFilePath } from './data-file/location'
import { Replay } from './data-file/replay'
import { ShapeError, checkSnapshot } from './data-file/shape-check'
import { removeStaleTempFiles, tempFileFor } from './data-file/temp-files'

export type { JournalEntry } from './data-file/format'

/** When the journal is compacted into a fresh snapshot: past this many bytes and this fraction of the snapshot. */
export interface CompactionPolicy {
  minJournalBytes: number
  snapshotFraction: number
}

export const DEFAULT_COMPACTION: CompactionPolicy = { minJournalBytes: 1024 * 1024, snapshotFraction: 1 }

// ---- reading -------------------------------------------------------------------------------

/** What loading found, beyond the state: what the writer needs to carry on from it. */
export interface LoadedDataFile extends DataFilePath {
  state: SandboxState
  snapshotBytes: number
  journalBytes: number
  /** False when the next save must write a whole new file: none yet, version 1, or a torn last line. */
  appendable: boolean
  /** Bytes of a last journal line cut short (ignored). */
  tornBytes: number
}

/**
 * Opens the data file for a sandbox: checks it can be saved, removes stale temporary files,
 * then reads it. A missing file is an empty sandbox; anything unusable a SandboxDataError.
 */
export async function openDataFile(file: string, log: (line: string) => void): Promise<LoadedDataFile> {
  const data = await resolveDataFile(file)
  await checkWritable(data)
  await removeStaleTempFiles(data, log)
  const loaded = await readDataFile(data)
  if (loaded.tornBytes > 0) {
    log(
      `ortto sandbox: ignored the last ${loaded.tornBytes} bytes of ${file}: a change cut short when the sandbox ` +
        'was killed while saving it (it had not been acknowledged)'
    )
  }
  return loaded
}

/** Reads the state without checking that the file could be saved (for looking at a file). */
export async function loadDataFile(file: string): Promise<SandboxState> {
  return (await readDataFile(await resolveDataFile(file))).state
}

async function readDataFile(data: DataFilePath): Promise<LoadedDataFile> {
  const { file } = data
  let text: string
  try {
    text = await fs.readFile(data.target, 'utf8')
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      const state = emptyState()
      return { ...data, state, snapshotBytes: 0, journalBytes: 0, appendable: false, tornBytes: 0 }
    }
    throw new SandboxDataError(
      `Cannot read the sandbox data file ${nameOf(data)}: ${messageOf(error)}. ${FIX_OR_DELETE}`
    )
  }
  const unusable = (why: string): SandboxDataError =>
    new SandboxDataError(`The sandbox data file ${file} cannot be used: ${why}. ${FIX_OR_DELETE}`)

  // Version 2: a one-line snapshot, then journal lines. Anything else must be one JSON document.
  const firstEnd = text.indexOf('\n')
  const head = firstEnd === -1 ? undefined : tryParse(text.slice(0, firstEnd))
  const layered = isRecord(head) && head.format === DATA_FILE_FORMAT && head.version === DATA_FILE_VERSION
  let snapshot: unknown = head
  if (!layered) {
    try {
      snapshot = JSON.parse(text)
    } catch (error) {
      throw unusable(text.trim() === '' ? 'it is empty' : `it is not valid JSON (${messageOf(error)})`)
    }
  }
  let state: SandboxState
  try {
    state = checkSnapshot(snapshot)
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error
    throw unusable(error.message)
  }
  if (!layered) {
    const bytes = Buffer.byteLength(text)
    return { ...data, state, snapshotBytes: bytes, journalBytes: 0, appendable: false, tornBytes: 0 }
  }

  const snapshotBytes = Buffer.byteLength(text.slice(0, firstEnd + 1))
  const replay = new Replay(state)
  let start = firstEnd + 1
  let lineNumber = 1
  let tornBytes = 0
  while (start < text.length) {
    lineNumber++
    const end = text.indexOf('\n', start)
    // A line without its newline was cut short by a kill mid-append; it was never acknowledged.
    if (end === -1) {
      tornBytes = Buffer.byteLength(text.slice(start))
      break
    }
    const line = text.slice(start, end)
    start = end + 1
    if (line.trim() === '') continue
    let entry: unknown
    try {
      entry = JSON.parse(line)
    } catch (error) {
      throw unusable(`line ${lineNumber} is not valid JSON (${messageOf(error)})`)
    }
    try {
      replay.apply(entry)
    } catch (error) {
      if (!(error instanceof ShapeError)) throw error
      throw unusable(`line ${lineNumber}: ${error.message}`)
    }
  }
  try {
    state = replay.result()
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error
    throw unusable(`after replaying its journal, ${error.message}`)
  }
  const journalBytes = Buffer.byteLength(text) - snapshotBytes - tornBytes
  return { ...data, state, snapshotBytes, journalBytes, appendable: tornBytes === 0, tornBytes }
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

// ---- writing -------------------------------------------------------------------------------

interface Waiting {
  line: string
  compact: boolean
  resolve: () => void
  reject: (error: SandboxDataError) => void
}

/**
 * Saves changes as they are recorded: one write at a time, and everything recorded while a write
 * is under way goes in the next one (so a burst of requests shares writes). A write is a journal
 * append, or a compaction — the whole state as a fresh file, written to a temporary file and
 * renamed over the data file (its target, for a symlink) — when the journal has grown past
 * `minJournalBytes` and `snapshotFraction` of the snapshot, when asked, and when the file cannot
 * simply be appended to (none yet, version 1, a torn last line, or a failed write).
 *
 * Appends are not fsynced: a write the kernel has taken survives the process being killed, which
 * is what a local sandbox meets. A compaction is fsynced before its rename, because it replaces
 * the only copy of the journal.
 */
export class DataFileWriter {
  private readonly waiting: Waiting[] = []
  private draining = false
  private running: Promise<void> = Promise.resolve()
  private snapshotBytes: number
  private journalBytes: number
  private appendable: boolean
  /** The file holds a journal (or a torn line) worth folding into a snapshot at close. */
  private compactAtClose: boolean
  /** The last failure; kept so close() can report it rather than lose data silently. */
  lastError: SandboxDataError | undefined

  constructor(
    private readonly data: LoadedDataFile,
    private readonly serialize: () => SandboxState,
    private readonly reportError: (error: SandboxDataError) => void,
    private readonly policy: CompactionPolicy = DEFAULT_COMPACTION
  ) {
    this.snapshotBytes = data.snapshotBytes
    this.journalBytes = data.journalBytes
    this.appendable = data.appendable
    this.compactAtClose = data.journalBytes > 0 || data.tornBytes > 0
  }

  /**
   * Saves one request's changes; resolves once they are in the file, and only then may the
   * request be answered. Rejects with SandboxDataError when they could not be saved.
   */
  record(entry: JournalEntry, options: { compact?: boolean } = {}): Promise<void> {
    return this.enqueue(`${JSON.stringify(entry)}\n`, options.compact ?? false)
  }

  /** Waits for every save, then folds the journal into a fresh snapshot; rejects if saving failed. */
  async close(): Promise<void> {
    while (this.draining) await this.running
    if (this.compactAtClose || this.lastError) await this.enqueue('', true)
  }

  private enqueue(line: string, compact: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ line, compact, resolve, reject })
      if (!this.draining) this.running = this.drain()
    })
  }

  private async drain(): Promise<void> {
    this.draining = true
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0)
        const text = batch.map((waiting) => waiting.line).join('')
        const bytes = Buffer.byteLength(text)
        const threshold = Math.max(this.policy.minJournalBytes, this.snapshotBytes * this.policy.snapshotFraction)
        try {
          if (!this.appendable || batch.some((w) => w.compact) || this.journalBytes + bytes > threshold) {
            // Serialised before any await: the snapshot holds exactly the changes of this batch and earlier.
            await this.compact(this.snapshotText())
          } else {
            await this.append(text, bytes)
          }
          this.lastError = undefined
          for (const waiting of batch) waiting.resolve()
        } catch (error) {
          const failure = this.failed(error)
          for (const waiting of batch) waiting.reject(failure)
        }
      }
    } finally {
      // Cleared in the same turn the queue is found empty, so no record() can slip in unseen.
      this.draining = false
    }
  }

  private async append(text: string, bytes: number): Promise<void> {
    try {
      // No O_CREAT: a data file deleted under the sandbox is rewritten whole below, not restarted as a bare journal.
      const handle = await fs.open(this.data.target, fsConstants.O_WRONLY | fsConstants.O_APPEND)
      try {
        await handle.writeFile(text)
      } finally {
        await handle.close()
      }
    } catch {
      // The file may now end in part of a line: replace it with a snapshot holding everything.
      // Lines recorded meanwhile are then also in that snapshot; replaying them again is harmless.
      this.appendable = false
      await this.compact(this.snapshotText())
      return
    }
    this.journalBytes += bytes
    this.compactAtClose = true
  }

  private snapshotText(): Buffer {
    const content = { format: DATA_FILE_FORMAT, version: DATA_FILE_VERSION, saved_at: new Date().toISOString() }
    return Buffer.from(`${JSON.stringify({ ...content, ...this.serialize() })}\n`)
  }

  private async compact(content: Buffer): Promise<void> {
    const temp = tempFileFor(this.data.target)
    try {
      const handle = await fs.open(temp, 'wx')
      try {
        await handle.writeFile(content)
        await handle.sync()
      } finally {
        await handle.close()
      }
      // Over the target: a symbolic link to the data file stays a link.
      await fs.rename(temp, this.data.target)
    } catch (error) {
      await fs.rm(temp, { force: true }).catch(() => undefined)
      throw error
    }
    this.snapshotBytes = content.length
    this.journalBytes = 0
    this.appendable = true
    this.compactAtClose = false
  }

  private failed(error: unknown): SandboxDataError {
    // Whatever part of the file was written, the next save rewrites it whole from memory.
    this.appendable = false
    this.compactAtClose = true
    // Report the first failure of a streak only, so a full disk does not flood the log.
    const firstFailure = this.lastError === undefined
    this.lastError = new SandboxDataError(
      `Could not save the sandbox data file ${nameOf(this.data)}: ${messageOf(error)}. Check that its folder exists and is writable.`
    )
    if (firstFailure) this.reportError(this.lastError)
    return this.lastError
  }
}
