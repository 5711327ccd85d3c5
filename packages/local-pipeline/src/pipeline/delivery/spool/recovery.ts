/**
 * Reading a segment file back at start. Only its last line may be cut short (the last write of a
 * killed process): such a line is left out and cut off the file. A last line that is whole but
 * lacks its newline is kept. Anything wrong before the last line is damage, which stops the start
 * with the file, the byte offset and what to do.
 */
import * as path from 'node:path'
import { readLine, type SpoolRecord } from './records'

const NEWLINE = 0x0a

/** A spool file that holds something other than what the pipeline wrote. */
export class SpoolDamagedError extends Error {
  constructor(file: string, offset: number, lineNumber: number, problem: string) {
    super(
      `The spool file ${file} is damaged at byte ${offset} (line ${lineNumber}): ${problem}. Only a last line cut ` +
        `short by a kill is expected. Move the file out of ${path.dirname(file)} to start without it; its intact ` +
        'events can be sent again (docs/operating.md, "The spool").'
    )
    this.name = 'SpoolDamagedError'
  }
}

interface ReadSegment {
  records: SpoolRecord[]
  /** Where the intact lines end: the file is cut back to this length. */
  intactLength: number
  /** The last intact line has no newline: one is added before anything else is written. */
  lacksNewline: boolean
}

export function readSegment(file: string, content: Buffer): ReadSegment {
  const records: SpoolRecord[] = []
  let start = 0
  for (let lineNumber = 1; start < content.length; lineNumber++) {
    const end = content.indexOf(NEWLINE, start)
    const last = end < 0
    const read = readLine(content.subarray(start, last ? content.length : end))
    if (!read.ok) {
      // A last line without its newline that does not read: the write a kill cut short.
      if (last) return { records, intactLength: start, lacksNewline: false }
      throw new SpoolDamagedError(file, start, lineNumber, read.problem)
    }
    if (records.length === 0 && read.record.t !== 'spool') {
      throw new SpoolDamagedError(
        file,
        start,
        lineNumber,
        'a spool file starts with its header line, and this one does not'
      )
    }
    if (records.length > 0 && read.record.t === 'spool') {
      throw new SpoolDamagedError(file, start, lineNumber, 'a header line appears after the start of the file')
    }
    records.push(read.record)
    if (last) return { records, intactLength: content.length, lacksNewline: true }
    start = end + 1
  }
  return { records, intactLength: content.length, lacksNewline: false }
}
