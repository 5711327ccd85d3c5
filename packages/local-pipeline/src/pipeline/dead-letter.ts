/**
 * The dead-letter file: every event whose delivery ended failed — rejected, out of retries, or
 * still held when the pipeline stopped — as one NDJSON line with its reason and the event itself,
 * so nothing ends failed without a record of which, and the events can be sent again later.
 */
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fdatasyncSync,
  fsyncSync,
  openSync,
  statSync,
  writeSync
} from 'node:fs'
import path from 'node:path'
import type { SegmentEvent } from '@segment/actions-core'
import { redactApiKey } from 'actions-ortto'
import { messageOf } from './error-message'

export const DEFAULT_DEAD_LETTER_FILE = 'ortto-dead-letter.ndjson'

export interface DeadLetter {
  failedAt: string
  subscription: string
  partnerAction: string
  status: number
  errortype?: string
  reason: string
  attempts: number
  event: SegmentEvent
}

export class DeadLetterFile {
  /** Lines written by this process. */
  written = 0

  /**
   * @param file   where lines are appended (created on the first one)
   * @param apiKey the pipeline's key: removed from every line, whatever an answer echoed
   */
  constructor(
    readonly file: string,
    private readonly apiKey: string
  ) {}

  /** Throws a clear error now, rather than at the first failure, when the file cannot be written. */
  checkWritable(): void {
    const target = path.resolve(this.file)
    let exists = true
    try {
      if (statSync(target).isDirectory()) throw new Error(`${this.file} is a folder`)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw unwritable(this.file, error)
      exists = false
    }
    try {
      accessSync(exists ? target : path.dirname(target), constants.W_OK)
    } catch (error) {
      throw unwritable(this.file, error)
    }
  }

  /**
   * Appends synchronously and flushes to disk before returning: the spool lets go of a failed
   * delivery only once its dead letter is here, so it must survive even a crash of the machine.
   */
  append(letters: DeadLetter[]): void {
    if (letters.length === 0) return
    const text = letters.map((letter) => JSON.stringify(letter)).join('\n') + '\n'
    const bytes = Buffer.from(redactApiKey(text, this.apiKey))
    const created = !existsSync(this.file)
    const fd = openSync(this.file, 'a')
    try {
      for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done)
      fdatasyncSync(fd)
    } finally {
      closeSync(fd)
    }
    // A new file's name must reach the disk too.
    if (created) syncFolder(path.dirname(path.resolve(this.file)))
    this.written += letters.length
  }
}

function syncFolder(folder: string): void {
  const fd = openSync(folder, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

function unwritable(file: string, error: unknown): Error {
  const why = messageOf(error)
  return new Error(`DEAD_LETTER_FILE ${file} cannot be written (${why}); choose a writable path.`)
}
