import { constants as fsConstants, promises as fs } from 'node:fs'
import { SandboxDataError, messageOf } from '../errors'
import type { SandboxState } from '../types'
import { journalRecord, snapshotRecord, type JournalEntry } from './format'
import { checkStillWritable, nameOf } from './location'
import type { LoadedDataFile } from './reader'
import { replaceFile } from './temp-files'

/** When the journal is compacted into a fresh snapshot: past this many bytes and this fraction of the snapshot. */
export interface CompactionPolicy {
  minJournalBytes: number
  snapshotFraction: number
}

export const DEFAULT_COMPACTION: CompactionPolicy = { minJournalBytes: 1024 * 1024, snapshotFraction: 1 }

interface Waiting {
  /** The request's changes as JSON; undefined when it changed nothing. */
  json: string | undefined
  /** How many changes memory held once the request was applied: all must be on disk before it is answered. */
  needed: number
  compact: boolean
  resolve: () => void
  reject: (error: SandboxDataError) => void
}

const readOnlyMark = (mode: number): boolean => (mode & 0o222) === 0

/**
 * Saves changes as they are handed over, and tells each request when it may be answered: once
 * the file holds every change memory held when that request was applied. The store applies a
 * change in memory first; when its save fails, memory is ahead of the file, and no request is
 * answered 200 until a save catches the file up — not even a retry that changes nothing (a
 * repeated activity), which would otherwise acknowledge the change the first attempt could not save.
 *
 * One write at a time; everything handed over while a write is under way goes in the next one (so
 * a burst of requests shares writes). A write is a journal append, or a compaction — the whole
 * state as a fresh file, written to a temporary file and renamed over the data file (its target,
 * for a symlink) — when the journal has grown past `minJournalBytes` and `snapshotFraction` of the
 * snapshot, when asked, and when the file cannot simply be appended to (none yet, an older
 * version, a last line without its newline, or after a failed write). Neither kind of write goes
 * through a data file marked read-only: an append checks the mark, a compaction checks it before
 * its rename (which would bypass it).
 *
 * Appends are not fsynced: a write the kernel has taken survives the process being killed, which
 * is what a local sandbox meets. A compaction is fsynced before its rename, because it replaces
 * the only copy of the journal.
 */
export class DataFileWriter {
  private readonly waiting: Waiting[] = []
  private draining = false
  private running: Promise<void> = Promise.resolve()
  /** Changes handed over so far (each already applied in memory), and how many of those the file holds. */
  private applied = 0
  private durable = 0
  private snapshotBytes: number
  private journalBytes: number
  private journalRecords: number
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
    this.journalRecords = data.journalRecords
    this.appendable = data.appendable
    this.compactAtClose = data.journalBytes > 0 || data.tornBytes > 0
  }

  /**
   * Called once a request has been applied in memory, with what it changed (undefined: nothing).
   * Resolves once the file holds that and every change before it; only then may the request be
   * answered. Rejects with SandboxDataError when they could not be saved.
   */
  save(entry: JournalEntry | undefined, options: { compact?: boolean } = {}): Promise<void> {
    const json = entry && JSON.stringify(entry)
    if (json !== undefined) this.applied++
    const compact = options.compact ?? false
    // Nothing new, and the file already holds everything memory does: nothing to wait for.
    if (json === undefined && !compact && this.durable >= this.applied) return Promise.resolve()
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ json, needed: this.applied, compact, resolve, reject })
      if (!this.draining) this.running = this.drain()
    })
  }

  /** Waits for every save, then folds the journal into a fresh snapshot; rejects if saving failed. */
  async close(): Promise<void> {
    while (this.draining) await this.running
    if (this.compactAtClose || this.lastError || this.durable < this.applied) {
      await this.save(undefined, { compact: true })
    }
  }

  private async drain(): Promise<void> {
    this.draining = true
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0)
        try {
          await this.write(batch)
          this.lastError = undefined
          for (const waiting of batch) waiting.resolve()
        } catch (error) {
          const failure = this.failed(error)
          for (const waiting of batch) waiting.reject(failure)
        }
      }
    } finally {
      // Cleared in the same turn the queue is found empty, so no save() can slip in unseen.
      this.draining = false
    }
  }

  private async write(batch: Waiting[]): Promise<void> {
    // Changes already in the file (a compaction since took them) need no line of their own.
    const lines = batch.filter((waiting) => waiting.json !== undefined && waiting.needed > this.durable)
    const needed = batch.reduce((most, waiting) => Math.max(most, waiting.needed), 0)
    // Appending is only right when these lines are exactly the changes the file lacks.
    const inOrder = lines.length === 0 ? this.durable >= needed : lines[0].needed === this.durable + 1
    const text = lines.map((waiting, i) => `${journalRecord(this.journalRecords + 1 + i, waiting.json!)}\n`).join('')
    const bytes = Buffer.byteLength(text)
    const threshold = Math.max(this.policy.minJournalBytes, this.snapshotBytes * this.policy.snapshotFraction)
    if (!this.appendable || !inOrder || batch.some((w) => w.compact) || this.journalBytes + bytes > threshold) {
      await this.compact()
    } else if (lines.length > 0) {
      await this.append(text, bytes, lines.length, lines[lines.length - 1].needed)
    }
  }

  private async append(text: string, bytes: number, records: number, through: number): Promise<void> {
    try {
      // No O_CREAT: a data file deleted under the sandbox is rewritten whole below, not restarted as a bare journal.
      const handle = await fs.open(this.data.target, fsConstants.O_WRONLY | fsConstants.O_APPEND)
      try {
        // Root may write a file marked read-only; the mark is honoured all the same.
        if (readOnlyMark((await handle.stat()).mode)) throw new Error('read-only')
        await handle.writeFile(text)
      } finally {
        await handle.close()
      }
    } catch {
      // The file may now end in part of a line: replace it with a snapshot holding everything,
      // which refuses a file marked read-only. Lines handed over meanwhile are then in it too.
      this.appendable = false
      await this.compact()
      return
    }
    this.journalBytes += bytes
    this.journalRecords += records
    this.durable = through
    this.compactAtClose = true
  }

  private async compact(): Promise<void> {
    await checkStillWritable(this.data)
    // Serialised after the last await before the write: the snapshot holds every change handed over so far.
    const covered = this.applied
    const content = Buffer.from(`${snapshotRecord(this.serialize(), new Date().toISOString())}\n`)
    await replaceFile(this.data.target, content)
    this.durable = Math.max(this.durable, covered)
    this.snapshotBytes = content.length
    this.journalBytes = 0
    this.journalRecords = 0
    this.appendable = true
    this.compactAtClose = false
  }

  private failed(error: unknown): SandboxDataError {
    // Whatever part of the file was written, the next save rewrites it whole from memory.
    this.appendable = false
    this.compactAtClose = true
    // Report the first failure of a streak only, so a full disk does not flood the log.
    const firstFailure = this.lastError === undefined
    this.lastError =
      error instanceof SandboxDataError
        ? error
        : new SandboxDataError(
            `Could not save the sandbox data file ${nameOf(this.data)}: ${messageOf(error)}. ` +
              'Check that its folder exists and is writable.'
          )
    if (firstFailure) this.reportError(this.lastError)
    return this.lastError
  }
}
