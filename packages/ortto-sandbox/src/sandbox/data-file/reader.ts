import { promises as fs } from 'node:fs'
import { SandboxDataError, errorCode, messageOf } from '../errors'
import { isRecord, parseJson } from '../json'
import type { SandboxState } from '../types'
import { couldBeCutShort, recordProblem, startsWithRecord } from './checksum'
import { DataFileDamage, unusable } from './damage'
import { DATA_FILE_FORMAT, DATA_FILE_VERSION, FIX_OR_DELETE, emptyState, journalRecordStart } from './format'
import { nameOf, type DataFilePath } from './location'
import { Replay } from './replay'
import { ShapeError, checkSnapshot } from './shape-check'

/**
 * Reads a data file (format.ts) into the state it holds. Only a last journal record cut short by
 * a kill is set aside; any other damage is a DataFileDamage naming the line and its byte offset.
 */

/** What loading found, beyond the state: what the writer needs to carry on from it. */
export interface LoadedDataFile extends DataFilePath {
  state: SandboxState
  snapshotBytes: number
  journalBytes: number
  /** Journal records in the file: the next one appended is number journalRecords + 1. */
  journalRecords: number
  /**
   * False when the next save must write a whole new file: none yet, an older version, a record
   * cut short, or a last record without its newline (kept, but nothing may be appended onto it).
   */
  appendable: boolean
  /** Bytes of a last journal record cut short by a kill (ignored: it had not been acknowledged). */
  tornBytes: number
}

export interface ReadOptions {
  /** Read only the first `lines` lines, as if the file ended after them (to salvage the records before damage). */
  lines?: number
}

interface Line {
  /** 1-based. */
  number: number
  /** Byte offsets of its first byte and of its end (its newline, or the end of the file). */
  start: number
  end: number
  terminated: boolean
}

function splitLines(bytes: Buffer, limit = Infinity): Line[] {
  const lines: Line[] = []
  let start = 0
  while (start < bytes.length && lines.length < limit) {
    const newline = bytes.indexOf(0x0a, start)
    const end = newline === -1 ? bytes.length : newline
    lines.push({ number: lines.length + 1, start, end, terminated: newline !== -1 })
    start = end + 1
  }
  return lines
}

export async function readDataFile(data: DataFilePath, options: ReadOptions = {}): Promise<LoadedDataFile> {
  const bytes = await readBytes(data)
  if (bytes === undefined) {
    const empty = { state: emptyState(), snapshotBytes: 0, journalBytes: 0, journalRecords: 0 }
    return { ...data, ...empty, appendable: false, tornBytes: 0 }
  }
  return parseDataFile(data, bytes, options)
}

/** The file's bytes; undefined when there is no file yet. */
export async function readBytes(data: DataFilePath): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(data.target)
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined
    throw new SandboxDataError(
      `Cannot read the sandbox data file ${nameOf(data)}: ${messageOf(error)}. ${FIX_OR_DELETE}`
    )
  }
}

export function parseDataFile(data: DataFilePath, bytes: Buffer, options: ReadOptions = {}): LoadedDataFile {
  return startsWithRecord(bytes)
    ? readRecords(data, bytes, options.lines)
    : readOlderVersion(data, bytes, options.lines)
}

type Damaged = (why: string) => DataFileDamage

const damageAt =
  (data: DataFilePath, line: Line): Damaged =>
  (why) =>
    new DataFileDamage(data.file, { line: line.number, offset: line.start, why }, nameOf(data))

/** Runs a shape check of one line, reporting what it finds as damage at that line. */
function checked<T>(damaged: Damaged, check: () => T): T {
  try {
    return check()
  } catch (error) {
    if (error instanceof ShapeError) throw damaged(error.message)
    throw error
  }
}

type Parsed = { ok: true; value: unknown } | { ok: false; why: string }

function parse(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) as unknown }
  } catch (error) {
    return { ok: false, why: `it is not valid JSON (${messageOf(error)})` }
  }
}

function finish(data: DataFilePath, replay: Replay): SandboxState {
  try {
    return replay.result()
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error
    throw unusable(data.file, `after replaying its journal, ${error.message}`)
  }
}

/** Version 3: every line a record with a checksum; line 1 the snapshot, then journal records numbered from 1. */
function readRecords(data: DataFilePath, bytes: Buffer, limit: number | undefined): LoadedDataFile {
  let snapshot = emptyState()
  // Made at the first journal record: a snapshot alone is already checked, and used as it is.
  let replay: Replay | undefined
  const sizes = { snapshotBytes: 0, journalBytes: 0, journalRecords: 0, tornBytes: 0 }
  let appendable = true
  for (const line of splitLines(bytes, limit)) {
    const content = bytes.subarray(line.start, line.end)
    const damaged = damageAt(data, line)
    const problem =
      content.length === 0 ? 'it is empty (the sandbox never writes an empty line)' : recordProblem(content)
    if (problem !== undefined) {
      // What a kill mid-append leaves: the beginning of the next journal record, with nothing after it.
      if (!line.terminated && line.number > 1 && couldBeCutShort(content, journalRecordStart(line.number - 1))) {
        sizes.tornBytes = content.length
        break
      }
      throw damaged(problem)
    }
    // A complete record is kept even without its newline; the next save then rewrites the file whole.
    if (!line.terminated) appendable = false
    const parsed = parse(content.toString('utf8'))
    if (!parsed.ok) throw damaged(parsed.why)
    const { value } = parsed
    const size = line.end - line.start + (line.terminated ? 1 : 0)
    if (line.number === 1) {
      snapshot = snapshotOf(data, value, damaged)
      sizes.snapshotBytes = size
      continue
    }
    const record = isRecord(value) ? value : {}
    const expected = line.number - 1
    if (record.seq !== expected) {
      throw damaged(
        `it is change ${JSON.stringify(record.seq)} where change ${expected} was expected ` +
          '(a line is missing, repeated or out of order)'
      )
    }
    replay ??= new Replay(snapshot)
    checked(damaged, () => replay!.apply(record.change))
    sizes.journalRecords++
    sizes.journalBytes += size
  }
  const state = replay ? finish(data, replay) : snapshot
  return { ...data, state, ...sizes, appendable: appendable && sizes.tornBytes === 0 }
}

function snapshotOf(data: DataFilePath, value: unknown, damaged: Damaged): SandboxState {
  const version = isRecord(value) ? value.version : undefined
  if (isRecord(value) && value.format === DATA_FILE_FORMAT && version !== DATA_FILE_VERSION) {
    throw unusable(
      data.file,
      `its snapshot says version ${JSON.stringify(version)}, but lines with checksums are version ${DATA_FILE_VERSION}`
    )
  }
  return checked(damaged, () => checkSnapshot(value))
}

/**
 * Version 2 (a snapshot line, then journal entries without checksums) or version 1 (one JSON
 * document). Loaded once, then rewritten as version 3 at the first change.
 */
function readOlderVersion(data: DataFilePath, bytes: Buffer, limit: number | undefined): LoadedDataFile {
  const firstEnd = bytes.indexOf(0x0a)
  const head = firstEnd === -1 ? undefined : parseJson(bytes.subarray(0, firstEnd).toString('utf8'))
  const layered = isRecord(head) && head.format === DATA_FILE_FORMAT && head.version === 2
  const older = { journalRecords: 0, appendable: false }
  if (!layered) {
    const text = bytes.toString('utf8')
    const parsed = parse(text)
    if (!parsed.ok) throw unusable(data.file, text.trim() === '' ? 'it is empty' : parsed.why)
    const document = parsed.value
    if (isRecord(document) && document.version === DATA_FILE_VERSION) {
      throw unusable(data.file, `it says version ${DATA_FILE_VERSION}, but has no checksums`)
    }
    const state = snapshotOrUnusable(data, document)
    return { ...data, ...older, state, snapshotBytes: bytes.length, journalBytes: 0, tornBytes: 0 }
  }

  const replay = new Replay(snapshotOrUnusable(data, head))
  let tornBytes = 0
  let journalBytes = 0
  for (const line of splitLines(bytes, limit).slice(1)) {
    const content = bytes.subarray(line.start, line.end)
    const text = content.toString('utf8')
    if (text.trim() !== '') {
      const entry = parse(text)
      // Without checksums, a last line that is not JSON and has no newline is taken for one cut short by a kill.
      if (!entry.ok && !line.terminated) {
        tornBytes = content.length
        break
      }
      const damaged = damageAt(data, line)
      if (!entry.ok) throw damaged(entry.why)
      checked(damaged, () => replay.apply(entry.value))
    }
    journalBytes += line.end - line.start + (line.terminated ? 1 : 0)
  }
  const snapshotBytes = firstEnd + 1
  return { ...data, ...older, state: finish(data, replay), snapshotBytes, journalBytes, tornBytes }
}

function snapshotOrUnusable(data: DataFilePath, value: unknown): SandboxState {
  try {
    return checkSnapshot(value)
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error
    throw unusable(data.file, error.message)
  }
}
