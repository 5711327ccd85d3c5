/**
 * One segment file of the spool and its writer. Writes go out one at a time, in order, each at the
 * end of what is already there, so only the last one can be cut short by a kill. Appends made while
 * a write is under way are gathered into the next one (group commit): one write, and one fdatasync
 * when any of them must be on disk before its caller is answered, however many calls that covers.
 */
import { open, unlink, type FileHandle } from 'node:fs/promises'
import * as path from 'node:path'
import type { Chunk } from './records'

interface Waiter {
  resolve: () => void
  reject: (error: unknown) => void
}

export class SegmentFile {
  private handle: FileHandle | undefined
  /** Bytes on disk: where the next write goes. */
  private written: number
  private queued: Chunk[] = []
  private queuedChars = 0
  private waiters: Waiter[] = []
  private loop: Promise<void> | undefined
  /** Set once a write failed: nothing more is written to this file. */
  broken: Error | undefined

  /**
   * @param existingSize the size of a file kept from an earlier run (appended to); undefined for a new file
   * @param onError      a write nobody waits for (recorded ends) failed
   */
  constructor(
    readonly file: string,
    private readonly existingSize: number | undefined,
    private readonly onError: (error: unknown) => void
  ) {
    this.written = existingSize ?? 0
  }

  /** Roughly how big the file is, with what is queued (text counted in characters, not bytes: for rotating it). */
  get size(): number {
    return this.written + this.queuedChars
  }

  /** Appends text and bytes; once the returned promise resolves they are on disk (written and flushed). */
  appendDurably(chunks: readonly Chunk[]): Promise<void> {
    if (this.broken) return Promise.reject(this.broken)
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ resolve, reject })
      for (const chunk of chunks) this.queue(chunk)
    })
  }

  /** Appends text without waiting for it (nothing depends on it reaching the disk at once). */
  append(text: string): void {
    if (!this.broken) this.queue(text)
  }

  /** Waits for the writes under way, flushes them to disk and closes the file. */
  async close(): Promise<void> {
    await this.idle()
    const handle = this.handle
    this.handle = undefined
    if (!handle) return
    try {
      if (!this.broken) await handle.datasync()
    } finally {
      await handle.close()
    }
  }

  /** Closes and deletes the file: nothing in it is owed any more. */
  async remove(): Promise<void> {
    this.queued = []
    this.queuedChars = 0
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error(`${this.file} was removed`))
    await this.idle()
    await this.handle?.close()
    this.handle = undefined
    await unlink(this.file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error
    })
  }

  /** Resolves once the writes under way are done (not flushed: close() flushes). */
  async idle(): Promise<void> {
    while (this.loop) await this.loop
  }

  private queue(chunk: Chunk): void {
    this.queued.push(chunk)
    this.queuedChars += chunk.length
    this.loop ??= this.run().finally(() => (this.loop = undefined))
  }

  private async run(): Promise<void> {
    while (this.queued.length > 0 && !this.broken) {
      const bytes = bytesOf(this.queued)
      const waiters = this.waiters
      this.queued = []
      this.queuedChars = 0
      this.waiters = []
      try {
        const handle = await this.opened()
        for (let done = 0; done < bytes.length;) {
          const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, this.written + done)
          done += bytesWritten
        }
        if (waiters.length > 0) await handle.datasync()
        this.written += bytes.length
        for (const waiter of waiters) waiter.resolve()
      } catch (error) {
        await this.undo(error)
        for (const waiter of waiters) waiter.reject(error)
        if (waiters.length === 0) this.onError(error)
      }
    }
    // A broken file takes nothing more: whoever waits is told.
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.broken)
  }

  /**
   * After a failed write: the file is cut back to what was there (what was cut was never
   * acknowledged), and takes no more writes, since later lines could refer to lines that were cut.
   */
  private async undo(error: unknown): Promise<void> {
    this.broken = error instanceof Error ? error : new Error(String(error))
    await this.handle?.truncate(this.written).catch(() => undefined)
  }

  private async opened(): Promise<FileHandle> {
    if (this.handle) return this.handle
    if (this.existingSize !== undefined) {
      this.handle = await open(this.file, 'r+')
      return this.handle
    }
    // Events carry people's data: readable by this user only.
    this.handle = await open(this.file, 'wx', 0o600)
    // The new file's name must be on disk too, or a machine crash could lose the file whole.
    const folder = await open(path.dirname(this.file), 'r')
    try {
      await folder.sync()
    } finally {
      await folder.close()
    }
    return this.handle
  }
}

/** One buffer of text and bytes in order: runs of text are joined before they are encoded. */
function bytesOf(chunks: readonly Chunk[]): Buffer {
  const buffers: Buffer[] = []
  let text: string[] = []
  for (const chunk of chunks) {
    if (typeof chunk === 'string') {
      text.push(chunk)
      continue
    }
    if (text.length > 0) buffers.push(Buffer.from(text.join('')))
    text = []
    buffers.push(chunk)
  }
  if (text.length > 0) buffers.push(Buffer.from(text.join('')))
  return buffers.length === 1 ? buffers[0] : Buffer.concat(buffers)
}
