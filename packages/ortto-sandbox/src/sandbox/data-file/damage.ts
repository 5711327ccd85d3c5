import { SandboxDataError } from '../errors'
import { FIX_OR_DELETE } from './format'

/** Where a data file stops being usable: the first line that is not what the sandbox wrote. */
export interface DamageSite {
  /** 1-based line number. */
  line: number
  /** Byte offset of the line's first byte in the file. */
  offset: number
  /** What is wrong with the line, e.g. "its checksum does not match its content". */
  why: string
}

/** The command that keeps the records before the damage (cli.ts implements it). */
export const salvageCommand = (file: string): string => `npm run sandbox -- --salvage ${file}`

/**
 * A data file damaged somewhere other than a last record cut short by a kill. The sandbox does not
 * start from it: it says where, and how to keep the records before that point.
 */
export class DataFileDamage extends SandboxDataError {
  constructor(
    /** The file as the user named it. */
    readonly file: string,
    readonly site: DamageSite,
    /** How the file is named in the message (with its link target, when it is a link). */
    name = file
  ) {
    const { line, offset, why } = site
    const where = `The sandbox data file ${name} is damaged at line ${line} (byte offset ${offset}): ${why}.`
    const intact = line === 2 ? 'Line 1 is intact' : `Lines 1 to ${line - 1} are intact`
    const keep =
      line === 1
        ? `Line 1 holds the snapshot, so no record before the damage can be kept: \`${salvageCommand(file)}\` ` +
          'moves the whole file to a side file and leaves an empty sandbox.'
        : `${intact}. To start from ${line === 2 ? 'it' : 'them'}, stop the sandbox and run \`${salvageCommand(file)}\`: ` +
          `it keeps ${line === 2 ? 'it' : 'them'} and moves line ${line} and everything after it to a side file.`
    super(`${where} ${keep} Or restore the file from a copy.`)
    this.name = 'DataFileDamage'
  }
}

/** A data file that cannot be used, for a reason that is not damage to one line. */
export const unusable = (name: string, why: string): SandboxDataError =>
  new SandboxDataError(`The sandbox data file ${name} cannot be used: ${why}. ${FIX_OR_DELETE}`)
