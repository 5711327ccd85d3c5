/**
 * The dead-letter file: every event whose delivery ended failed — rejected, out of retries, or
 * still held when the pipeline stopped — as one NDJSON line with its reason and the event itself,
 * so nothing ends failed without a record of which, and the events can be sent again later.
 */
import { accessSync, appendFileSync, constants, statSync } from 'node:fs'
import path from 'node:path'
import type { SegmentEvent } from '@segment/actions-core'
import { redactApiKey } from '../destinations/ortto/client/api-key'

export const DEFAULT_DEAD_LETTER_FILE = 'ortto-dead-letter.ndjson'

export interface DeadLetter {
  failedAt: string
  subscription: string
  partnerAction: string
  status: number
  errortype?: string
  message: string
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

  /** Appends synchronously, so what a report says was written is on disk even if the process exits next. */
  append(letters: DeadLetter[]): void {
    if (letters.length === 0) return
    const text = letters.map((letter) => JSON.stringify(letter)).join('\n') + '\n'
    appendFileSync(this.file, redactApiKey(text, this.apiKey))
    this.written += letters.length
  }
}

function unwritable(file: string, error: unknown): Error {
  const why = error instanceof Error ? error.message : String(error)
  return new Error(`DEAD_LETTER_FILE ${file} cannot be written (${why}); choose a writable path.`)
}
