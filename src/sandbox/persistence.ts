import { randomBytes } from 'node:crypto'
import { constants as fsConstants, promises as fs } from 'node:fs'
import type { Stats } from 'node:fs'
import * as path from 'node:path'
import { AUDIENCE_MODES, MEMBERSHIP_ROUTES, type MembershipRoute } from './contract'
import { SandboxDataError, messageOf } from './errors'
import { isJsonObject as isRecord } from './json'
import type { SandboxActivity, SandboxAudience, SandboxContact, SandboxMembershipChange, SandboxState } from './types'

/**
 * The data file. Its first line is a snapshot of the whole state; every later line is a journal
 * entry: the changes of one request, appended before that request is answered, so what the
 * sandbox acknowledged is in the file even if the process is killed right after. Loading reads
 * the snapshot and replays the journal over it.
 *
 * Now and then (see DataFileWriter) the whole state is written as a fresh one-line file: to a
 * temporary file next to the data file, then renamed over it, so a kill leaves the old file or
 * the new one, never half of one. A save thus costs what changed, not what is stored.
 *
 * Version 1 files (a plain snapshot, one JSON document) still load; they are rewritten in this
 * layout at the first change. A snapshot without `membership_history` (written before the sandbox
 * kept one) loads with an empty history.
 */

export const DATA_FILE_FORMAT = 'ortto-sandbox'
export const DATA_FILE_VERSION = 2
const READABLE_VERSIONS: readonly unknown[] = [1, 2]

/**
 * One journal line: what a request changed, each part saying how things now are (not what to
 * do), so replaying a line twice leaves the same state. Replayed in this order: reset, audiences,
 * contacts, removed contacts, memberships, membership history, activities.
 */
export interface JournalEntry {
  /** Everything was emptied (POST /sandbox/reset); what follows starts from nothing. */
  reset?: true
  /** These audiences exist (memberships come separately). */
  audiences?: Array<Omit<SandboxAudience, 'member_ids'>>
  /** These contacts now look like this (audience_ids is derived and not read back). */
  contacts?: SandboxContact[]
  /** These contacts no longer exist (merged into another). */
  removed_contacts?: string[]
  /** In order: the contact now is (or is no longer) a member of the audience. */
  memberships?: Array<{ audience_id: string; contact_id: string; member: boolean }>
  /** The history entry with this sequence number now reads like this (entries are only ever added). */
  membership_history?: SandboxMembershipChange[]
  /** The activity at this position of the list now looks like this (new, or moved to another contact). */
  activities?: JournalActivity[]
}

export type JournalActivity = SandboxActivity & { index: number }

/** When the journal is compacted into a fresh snapshot: past this many bytes and this fraction of the snapshot. */
export interface CompactionPolicy {
  minJournalBytes: number
  snapshotFraction: number
}

export const DEFAULT_COMPACTION: CompactionPolicy = { minJournalBytes: 1024 * 1024, snapshotFraction: 1 }

const WHAT_TO_DO = 'Fix the file, or delete it to start with an empty sandbox.'

const emptyState = (): SandboxState => ({ contacts: [], activities: [], audiences: [], membership_history: [] })

const errorCode = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code

// ---- where the data file is, and whether it can be written --------------------------------

/** The data file as named by the user, and the file actually written (a symlink's target). */
export interface DataFilePath {
  /** As given: used in messages. */
  file: string
  /** Absolute; a symbolic link is followed to its target, which is what gets written. */
  target: string
}

const MAX_LINKS = 40

/** Follows symbolic links, including a dangling one (its target will be created). */
async function resolveDataFile(file: string): Promise<DataFilePath> {
  let target = path.resolve(file)
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    try {
      if (!(await fs.lstat(target)).isSymbolicLink()) return { file, target }
      target = path.resolve(path.dirname(target), await fs.readlink(target))
    } catch (error) {
      const code = errorCode(error)
      // Not there yet (or its folder is not): the checks at start say which.
      if (code === 'ENOENT' || code === 'ENOTDIR') return { file, target }
      throw new SandboxDataError(`Cannot read the sandbox data file ${file}: ${messageOf(error)}. ${WHAT_TO_DO}`)
    }
  }
  throw new SandboxDataError(
    `The sandbox data file ${file} is a chain of more than ${MAX_LINKS} symbolic links (or a loop). Point it at a file.`
  )
}

const nameOf = ({ file, target }: DataFilePath): string =>
  target === path.resolve(file) ? file : `${file} (a link to ${target})`

/** Write permission as the process has it, and not marked read-only for everyone (honoured even as root). */
async function isWritable(where: string, stat: Stats, mode: number): Promise<boolean> {
  if ((stat.mode & 0o222) === 0) return false
  try {
    await fs.access(where, mode)
    return true
  } catch {
    return false
  }
}

/**
 * Everything a save needs, checked at start rather than discovered at the first save or at
 * stop: the folder exists and can take a temporary file, and the file, if there, is a writable file.
 */
async function checkWritable(data: DataFilePath): Promise<void> {
  const folder = path.dirname(data.target)
  let folderStat: Stats | undefined
  try {
    folderStat = await fs.stat(folder)
  } catch {
    // Reported below, with the same message as "not a folder".
  }
  if (!folderStat?.isDirectory()) {
    throw new SandboxDataError(
      `The folder of the sandbox data file ${nameOf(data)} does not exist. Create ${folder} or choose another data file.`
    )
  }
  let fileStat: Stats | undefined
  try {
    fileStat = await fs.stat(data.target)
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') {
      throw new SandboxDataError(
        `Cannot read the sandbox data file ${nameOf(data)}: ${messageOf(error)}. ${WHAT_TO_DO}`
      )
    }
  }
  if (fileStat?.isDirectory()) {
    throw new SandboxDataError(
      `The sandbox data file ${nameOf(data)} is a folder, not a file. Name a file, such as ${path.join(data.file, 'sandbox.json')}.`
    )
  }
  if (fileStat && !fileStat.isFile()) {
    throw new SandboxDataError(`The sandbox data file ${nameOf(data)} is not a regular file. Choose another data file.`)
  }
  if (fileStat && !(await isWritable(data.target, fileStat, fsConstants.W_OK))) {
    throw new SandboxDataError(
      `The sandbox data file ${nameOf(data)} is read-only, so nothing could be saved to it. ` +
        `Make it writable (chmod u+w ${data.target}) or choose another data file.`
    )
  }
  if (!(await isWritable(folder, folderStat, fsConstants.W_OK | fsConstants.X_OK))) {
    throw new SandboxDataError(
      `The sandbox data file ${nameOf(data)} cannot be saved: its folder ${folder} is read-only ` +
        `(saving writes a temporary file there). Make the folder writable or choose another data file.`
    )
  }
}

// ---- temporary files -----------------------------------------------------------------------

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

let tempCounter = 0

/** `.<name>.<pid>.<n>.<8 hex>.tmp` next to the file: the only names the writer ever creates. */
const tempFileFor = (target: string): string =>
  path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${++tempCounter}.${randomBytes(4).toString('hex')}.tmp`
  )

const tempPatternFor = (target: string): RegExp =>
  new RegExp(`^\\.${escapeRegExp(path.basename(target))}\\.(\\d+)\\.\\d+\\.[0-9a-f]{8}\\.tmp$`)

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errorCode(error) === 'EPERM'
  }
}

/**
 * Removes temporary files of this data file left by a writer that was killed mid-save. Only
 * files named exactly as the writer names them, next to this file, whose process is gone (this
 * process counts as alive: another sandbox in it may be saving the same file right now).
 */
async function removeStaleTempFiles(data: DataFilePath, log: (line: string) => void): Promise<void> {
  const folder = path.dirname(data.target)
  const pattern = tempPatternFor(data.target)
  const removed: string[] = []
  for (const name of await fs.readdir(folder)) {
    const match = pattern.exec(name)
    if (!match) continue
    const pid = Number(match[1])
    if (pid === process.pid || isRunning(pid)) continue
    const temp = path.join(folder, name)
    try {
      if (!(await fs.lstat(temp)).isFile()) continue
      await fs.unlink(temp)
      removed.push(name)
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') {
        throw new SandboxDataError(
          `Cannot remove ${temp}, a temporary file an earlier sandbox left behind: ${messageOf(error)}. Delete it, then start again.`
        )
      }
    }
  }
  if (removed.length > 0) {
    log(
      `ortto sandbox: removed ${removed.length} temporary file${removed.length === 1 ? '' : 's'} left next to ` +
        `${data.file} by a sandbox that was stopped mid-save (${removed.join(', ')})`
    )
  }
}

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
    throw new SandboxDataError(`Cannot read the sandbox data file ${nameOf(data)}: ${messageOf(error)}. ${WHAT_TO_DO}`)
  }
  const unusable = (why: string): SandboxDataError =>
    new SandboxDataError(`The sandbox data file ${file} cannot be used: ${why}. ${WHAT_TO_DO}`)

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

// ---- checking what was read ----------------------------------------------------------------

/** A shape problem inside the file; the message is a path such as contacts[3].user_id. */
class ShapeError extends Error {}

type Json = Record<string, unknown>

function record(value: unknown, where: string): Json {
  if (!isRecord(value)) throw new ShapeError(`${where} must be an object`)
  return value
}

function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new ShapeError(`${where} must be a list`)
  return value
}

function text(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new ShapeError(`${where} must be a string`)
  return value
}

function textOrNull(value: unknown, where: string): string | null {
  if (value === null) return null
  if (typeof value !== 'string') throw new ShapeError(`${where} must be a string or null`)
  return value
}

function recordOrNull(value: unknown, where: string): Json | null {
  return value === null ? null : record(value, where)
}

function wholeNumber(value: unknown, where: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw new ShapeError(`${where} must be a whole number`)
  return value as number
}

function unique(seen: Set<string>, value: string, where: string): string {
  if (seen.has(value)) throw new ShapeError(`${where} repeats ${JSON.stringify(value)}, which must be unique`)
  seen.add(value)
  return value
}

function checkContact(value: unknown, where: string): SandboxContact {
  const c = record(value, where)
  const anonymous = list(c.anonymous_ids, `${where}.anonymous_ids`).map((id, j) =>
    text(id, `${where}.anonymous_ids[${j}]`)
  )
  return {
    id: text(c.id, `${where}.id`),
    user_id: textOrNull(c.user_id, `${where}.user_id`),
    anonymous_id: anonymous.length > 0 ? anonymous[anonymous.length - 1] : null,
    anonymous_ids: anonymous,
    traits: record(c.traits, `${where}.traits`),
    ip: textOrNull(c.ip, `${where}.ip`),
    location: recordOrNull(c.location, `${where}.location`),
    // Memberships are read from the audiences; this copy is derived, not trusted.
    audience_ids: [],
    created_at: text(c.created_at, `${where}.created_at`),
    updated_at: text(c.updated_at, `${where}.updated_at`)
  }
}

function checkAudience(value: unknown, where: string): Omit<SandboxAudience, 'member_ids'> {
  const a = record(value, where)
  return {
    id: text(a.id, `${where}.id`),
    name: text(a.name, `${where}.name`),
    created_at: text(a.created_at, `${where}.created_at`)
  }
}

const MODES: readonly unknown[] = AUDIENCE_MODES
const ROUTES: readonly unknown[] = MEMBERSHIP_ROUTES

function checkMembershipChange(value: unknown, where: string): SandboxMembershipChange {
  const m = record(value, where)
  if (!MODES.includes(m.mode)) throw new ShapeError(`${where}.mode must be one of ${AUDIENCE_MODES.join(', ')}`)
  if (typeof m.changed !== 'boolean') throw new ShapeError(`${where}.changed must be true or false`)
  if (!ROUTES.includes(m.via)) {
    throw new ShapeError(`${where}.via must be one of ${MEMBERSHIP_ROUTES.join(', ')}`)
  }
  const sequence = wholeNumber(m.sequence, `${where}.sequence`)
  if (sequence < 1) throw new ShapeError(`${where}.sequence must be 1 or more`)
  return {
    sequence,
    at: text(m.at, `${where}.at`),
    audience_id: text(m.audience_id, `${where}.audience_id`),
    mode: m.mode as SandboxMembershipChange['mode'],
    changed: m.changed,
    contact_id: text(m.contact_id, `${where}.contact_id`),
    user_id: textOrNull(m.user_id, `${where}.user_id`),
    anonymous_id: textOrNull(m.anonymous_id, `${where}.anonymous_id`),
    message_id: textOrNull(m.message_id, `${where}.message_id`),
    via: m.via as MembershipRoute
  }
}

function checkActivity(value: unknown, where: string): SandboxActivity {
  const a = record(value, where)
  return {
    contact_id: text(a.contact_id, `${where}.contact_id`),
    event: text(a.event, `${where}.event`),
    properties: record(a.properties, `${where}.properties`),
    namespace: textOrNull(a.namespace, `${where}.namespace`),
    timestamp: textOrNull(a.timestamp, `${where}.timestamp`),
    message_id: textOrNull(a.message_id, `${where}.message_id`),
    received_at: text(a.received_at, `${where}.received_at`)
  }
}

/** Checks every field the store relies on, so a hand-edited file fails here, not mid-request. */
function checkSnapshot(value: unknown): SandboxState {
  const root = record(value, 'the top level')
  if (root.format !== DATA_FILE_FORMAT) {
    throw new ShapeError(`it is not an Ortto sandbox data file (no "format": "${DATA_FILE_FORMAT}")`)
  }
  if (!READABLE_VERSIONS.includes(root.version)) {
    throw new ShapeError(
      `its version is ${JSON.stringify(root.version)}; this sandbox reads versions ${READABLE_VERSIONS.join(' and ')}`
    )
  }
  const state: SandboxState = {
    contacts: list(root.contacts, 'contacts').map((item, i) => checkContact(item, `contacts[${i}]`)),
    audiences: list(root.audiences, 'audiences').map((item, i) => {
      const where = `audiences[${i}]`
      const member_ids = list(record(item, where).member_ids, `${where}.member_ids`).map((id, j) =>
        text(id, `${where}.member_ids[${j}]`)
      )
      return { ...checkAudience(item, where), member_ids }
    }),
    activities: list(root.activities, 'activities').map((item, i) => checkActivity(item, `activities[${i}]`)),
    membership_history:
      root.membership_history === undefined
        ? []
        : list(root.membership_history, 'membership_history').map((item, i) =>
            checkMembershipChange(item, `membership_history[${i}]`)
          )
  }
  checkConsistency(state)
  return state
}

/** What no single record shows: ids that must be unique, and references that must resolve. */
function checkConsistency(state: SandboxState): void {
  const contactIds = new Set<string>()
  const userIds = new Set<string>()
  const anonymousIds = new Set<string>()
  state.contacts.forEach((contact, i) => {
    const where = `contacts[${i}]`
    unique(contactIds, contact.id, `${where}.id`)
    if (contact.user_id !== null) unique(userIds, contact.user_id, `${where}.user_id`)
    contact.anonymous_ids.forEach((id, j) => unique(anonymousIds, id, `${where}.anonymous_ids[${j}]`))
  })
  const knownContact = (id: string, where: string): void => {
    if (!contactIds.has(id))
      throw new ShapeError(`${where} names contact ${JSON.stringify(id)}, which is not in contacts`)
  }
  const audienceIds = new Set<string>()
  const audienceNames = new Set<string>()
  state.audiences.forEach((audience, i) => {
    const where = `audiences[${i}]`
    unique(audienceIds, audience.id, `${where}.id`)
    unique(audienceNames, audience.name, `${where}.name`)
    audience.member_ids.forEach((id, j) => knownContact(id, `${where}.member_ids[${j}]`))
  })
  state.activities.forEach((activity, i) => knownContact(activity.contact_id, `activities[${i}].contact_id`))
  // Contacts may since have been merged away; audiences are only ever emptied all at once, with the history.
  state.membership_history.forEach((entry, i) => {
    const where = `membership_history[${i}]`
    if (entry.sequence !== i + 1) throw new ShapeError(`${where}.sequence is ${entry.sequence}, not ${i + 1}`)
    if (!audienceIds.has(entry.audience_id)) {
      throw new ShapeError(
        `${where}.audience_id names audience ${JSON.stringify(entry.audience_id)}, which is not in audiences`
      )
    }
  })
}

/** The state being rebuilt from a snapshot and journal lines, keyed the way entries name things. */
class Replay {
  private contacts = new Map<string, SandboxContact>()
  private audiences = new Map<string, Omit<SandboxAudience, 'member_ids'> & { members: Set<string> }>()
  private activities: SandboxActivity[] = []
  private history: SandboxMembershipChange[] = []

  constructor(snapshot: SandboxState) {
    for (const contact of snapshot.contacts) this.contacts.set(contact.id, contact)
    for (const { member_ids, ...audience } of snapshot.audiences) {
      this.audiences.set(audience.id, { ...audience, members: new Set(member_ids) })
    }
    this.activities = snapshot.activities
    this.history = snapshot.membership_history
  }

  apply(value: unknown): void {
    const entry = record(value, 'the line')
    if (entry.reset !== undefined) {
      if (entry.reset !== true) throw new ShapeError('reset must be true')
      this.contacts.clear()
      this.audiences.clear()
      this.activities = []
      this.history = []
    }
    this.each(entry.audiences, 'audiences', (item, where) => {
      const audience = checkAudience(item, where)
      this.audiences.set(audience.id, { ...audience, members: this.audiences.get(audience.id)?.members ?? new Set() })
    })
    this.each(entry.contacts, 'contacts', (item, where) => {
      const contact = checkContact(item, where)
      this.contacts.set(contact.id, contact)
    })
    this.each(entry.removed_contacts, 'removed_contacts', (item, where) => this.contacts.delete(text(item, where)))
    this.each(entry.memberships, 'memberships', (item, where) => {
      const m = record(item, where)
      const audienceId = text(m.audience_id, `${where}.audience_id`)
      const contactId = text(m.contact_id, `${where}.contact_id`)
      if (typeof m.member !== 'boolean') throw new ShapeError(`${where}.member must be true or false`)
      const audience = this.audiences.get(audienceId)
      if (!audience) {
        throw new ShapeError(`${where}.audience_id names audience ${JSON.stringify(audienceId)}, which does not exist`)
      }
      if (m.member) audience.members.add(contactId)
      else audience.members.delete(contactId)
    })
    this.each(entry.membership_history, 'membership_history', (item, where) => {
      const change = checkMembershipChange(item, where)
      if (change.sequence > this.history.length + 1) {
        throw new ShapeError(
          `${where}.sequence is ${change.sequence}, but only ${this.history.length} history entries come before it`
        )
      }
      this.history[change.sequence - 1] = change
    })
    this.each(entry.activities, 'activities', (item, where) => {
      const index = wholeNumber(record(item, where).index, `${where}.index`)
      if (index > this.activities.length) {
        throw new ShapeError(`${where}.index is ${index}, but only ${this.activities.length} activities come before it`)
      }
      this.activities[index] = checkActivity(item, where)
    })
  }

  result(): SandboxState {
    const state: SandboxState = {
      contacts: [...this.contacts.values()],
      audiences: Array.from(this.audiences.values(), ({ members, ...audience }) => ({
        ...audience,
        member_ids: [...members]
      })),
      activities: this.activities,
      membership_history: this.history
    }
    checkConsistency(state)
    return state
  }

  private each(value: unknown, key: string, apply: (item: unknown, where: string) => void): void {
    if (value === undefined) return
    list(value, key).forEach((item, i) => apply(item, `${key}[${i}]`))
  }
}
