import { randomBytes } from 'node:crypto'
import { constants as fsConstants, promises as fs } from 'node:fs'
import type { Stats } from 'node:fs'
import * as path from 'node:path'
import { SandboxDataError, messageOf } from './errors'
import type { SandboxActivity, SandboxAudience, SandboxContact, SandboxState } from './types'

/**
 * The data file: the sandbox state as JSON, read once at start and written back after
 * changes. Writes go to a temporary file in the same folder and are then renamed over the
 * data file, so a crash or a kill mid-write leaves the previous file whole, never half of one.
 */

export const DATA_FILE_FORMAT = 'ortto-sandbox'
export const DATA_FILE_VERSION = 1

interface DataFile extends SandboxState {
  format: typeof DATA_FILE_FORMAT
  version: typeof DATA_FILE_VERSION
  saved_at: string
}

const WHAT_TO_DO = 'Fix the file, or delete it to start with an empty sandbox.'

const emptyState = (): SandboxState => ({ contacts: [], activities: [], audiences: [] })

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

/**
 * Opens the data file for a sandbox: checks it can be saved, removes stale temporary files,
 * then reads it. A missing file is an empty sandbox; anything unusable a SandboxDataError.
 */
export async function openDataFile(
  file: string,
  log: (line: string) => void
): Promise<DataFilePath & { state: SandboxState }> {
  const data = await resolveDataFile(file)
  await checkWritable(data)
  await removeStaleTempFiles(data, log)
  return { ...data, state: await readState(data) }
}

/** Reads the state without checking that the file could be saved (for looking at a file). */
export async function loadDataFile(file: string): Promise<SandboxState> {
  return readState(await resolveDataFile(file))
}

async function readState(data: DataFilePath): Promise<SandboxState> {
  const { file } = data
  let text: string
  try {
    text = await fs.readFile(data.target, 'utf8')
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return emptyState()
    throw new SandboxDataError(`Cannot read the sandbox data file ${nameOf(data)}: ${messageOf(error)}. ${WHAT_TO_DO}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    const why = text.trim() === '' ? 'it is empty' : `it is not valid JSON (${messageOf(error)})`
    throw new SandboxDataError(`The sandbox data file ${file} cannot be used: ${why}. ${WHAT_TO_DO}`)
  }
  try {
    return checkDataFile(parsed)
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error
    throw new SandboxDataError(`The sandbox data file ${file} cannot be used: ${error.message}. ${WHAT_TO_DO}`)
  }
}

/** Coalesces saves: at most one write in flight and one pending, whatever the request rate. */
export class DataFileWriter {
  private inFlight: Promise<void> | undefined
  private pending = false
  private savedRevision: number
  /** The last failure; kept so stop() can report it rather than lose data silently. */
  lastError: SandboxDataError | undefined

  constructor(
    private readonly data: DataFilePath,
    private readonly currentRevision: () => number,
    private readonly serialize: () => SandboxState,
    private readonly reportError: (error: SandboxDataError) => void
  ) {
    this.savedRevision = currentRevision()
  }

  /** Asks for the current state to be written soon; cheap to call after every request. */
  requestSave(): void {
    if (this.currentRevision() === this.savedRevision && !this.inFlight) return
    if (this.inFlight) {
      this.pending = true
      return
    }
    this.inFlight = this.writeUntilCurrent()
  }

  /** Resolves once everything changed so far is on disk; rejects if the last write failed. */
  async flush(): Promise<void> {
    if (this.inFlight) await this.inFlight
    if (this.currentRevision() !== this.savedRevision) {
      this.requestSave()
      await this.inFlight
    }
    if (this.lastError) throw this.lastError
  }

  private async writeUntilCurrent(): Promise<void> {
    try {
      do {
        this.pending = false
        await this.writeOnce()
      } while (this.pending && this.currentRevision() !== this.savedRevision)
    } finally {
      this.inFlight = undefined
    }
  }

  private async writeOnce(): Promise<void> {
    const revision = this.currentRevision()
    const state = this.serialize()
    const content: DataFile = {
      format: DATA_FILE_FORMAT,
      version: DATA_FILE_VERSION,
      saved_at: new Date().toISOString(),
      ...state
    }
    const temp = tempFileFor(this.data.target)
    try {
      // No fsync: rename already protects against a killed process, which is what a local
      // sandbox meets; surviving a power cut is not worth slowing every write for.
      await fs.writeFile(temp, JSON.stringify(content))
      // Over the target: a symbolic link to the data file stays a link.
      await fs.rename(temp, this.data.target)
      this.savedRevision = revision
      this.lastError = undefined
    } catch (error) {
      await fs.rm(temp, { force: true }).catch(() => undefined)
      // Report the first failure of a streak only, so a full disk does not flood the log.
      const firstFailure = this.lastError === undefined
      this.lastError = new SandboxDataError(
        `Could not save the sandbox data file ${nameOf(this.data)}: ${messageOf(error)}. Check that its folder exists and is writable.`
      )
      if (firstFailure) this.reportError(this.lastError)
    }
  }
}

/** A shape problem inside the file; the message is a path such as contacts[3].user_id. */
class ShapeError extends Error {}

type Json = Record<string, unknown>

function record(value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ShapeError(`${where} must be an object`)
  }
  return value as Json
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

function unique(seen: Set<string>, value: string, where: string): string {
  if (seen.has(value)) throw new ShapeError(`${where} repeats ${JSON.stringify(value)}, which must be unique`)
  seen.add(value)
  return value
}

/** Checks every field the store relies on, so a hand-edited file fails here, not mid-request. */
function checkDataFile(value: unknown): SandboxState {
  const root = record(value, 'the top level')
  if (root.format !== DATA_FILE_FORMAT) {
    throw new ShapeError(`it is not an Ortto sandbox data file (no "format": "${DATA_FILE_FORMAT}")`)
  }
  if (root.version !== DATA_FILE_VERSION) {
    throw new ShapeError(
      `its version is ${JSON.stringify(root.version)}; this sandbox reads version ${DATA_FILE_VERSION}`
    )
  }

  const contactIds = new Set<string>()
  const userIds = new Set<string>()
  const anonymousIds = new Set<string>()
  const contacts = list(root.contacts, 'contacts').map((item, i): SandboxContact => {
    const where = `contacts[${i}]`
    const c = record(item, where)
    const userId = textOrNull(c.user_id, `${where}.user_id`)
    if (userId !== null) unique(userIds, userId, `${where}.user_id`)
    const anonymous = list(c.anonymous_ids, `${where}.anonymous_ids`).map((id, j) =>
      unique(anonymousIds, text(id, `${where}.anonymous_ids[${j}]`), `${where}.anonymous_ids[${j}]`)
    )
    return {
      id: unique(contactIds, text(c.id, `${where}.id`), `${where}.id`),
      user_id: userId,
      anonymous_id: anonymous.length > 0 ? anonymous[anonymous.length - 1] : null,
      anonymous_ids: anonymous,
      traits: record(c.traits, `${where}.traits`),
      ip: textOrNull(c.ip, `${where}.ip`),
      location: recordOrNull(c.location, `${where}.location`),
      // Memberships are read from the audiences below; this copy is derived, not trusted.
      audience_ids: [],
      created_at: text(c.created_at, `${where}.created_at`),
      updated_at: text(c.updated_at, `${where}.updated_at`)
    }
  })

  const knownContact = (id: string, where: string): string => {
    if (!contactIds.has(id))
      throw new ShapeError(`${where} names contact ${JSON.stringify(id)}, which is not in contacts`)
    return id
  }

  const audienceIds = new Set<string>()
  const audienceNames = new Set<string>()
  const audiences = list(root.audiences, 'audiences').map((item, i): SandboxAudience => {
    const where = `audiences[${i}]`
    const a = record(item, where)
    return {
      id: unique(audienceIds, text(a.id, `${where}.id`), `${where}.id`),
      name: unique(audienceNames, text(a.name, `${where}.name`), `${where}.name`),
      created_at: text(a.created_at, `${where}.created_at`),
      member_ids: list(a.member_ids, `${where}.member_ids`).map((id, j) =>
        knownContact(text(id, `${where}.member_ids[${j}]`), `${where}.member_ids[${j}]`)
      )
    }
  })

  const activities = list(root.activities, 'activities').map((item, i): SandboxActivity => {
    const where = `activities[${i}]`
    const a = record(item, where)
    return {
      contact_id: knownContact(text(a.contact_id, `${where}.contact_id`), `${where}.contact_id`),
      event: text(a.event, `${where}.event`),
      properties: record(a.properties, `${where}.properties`),
      namespace: textOrNull(a.namespace, `${where}.namespace`),
      timestamp: textOrNull(a.timestamp, `${where}.timestamp`),
      message_id: textOrNull(a.message_id, `${where}.message_id`),
      received_at: text(a.received_at, `${where}.received_at`)
    }
  })

  return { contacts, activities, audiences }
}
