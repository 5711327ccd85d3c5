import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
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

/** Reads the state; a missing file is an empty sandbox, anything unusable a SandboxDataError. */
export async function loadDataFile(file: string): Promise<SandboxState> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      await requireFolder(file)
      return emptyState()
    }
    throw new SandboxDataError(`Cannot read the sandbox data file ${file}: ${messageOf(error)}. ${WHAT_TO_DO}`)
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

/** The folder must exist now, or the first save would fail long after start. */
async function requireFolder(file: string): Promise<void> {
  const folder = path.dirname(path.resolve(file))
  try {
    const stat = await fs.stat(folder)
    if (stat.isDirectory()) return
  } catch {
    // Reported below with the same message as "not a folder".
  }
  throw new SandboxDataError(
    `The folder of the sandbox data file ${file} does not exist. Create ${folder} or choose another data file.`
  )
}

/** Coalesces saves: at most one write in flight and one pending, whatever the request rate. */
export class DataFileWriter {
  private inFlight: Promise<void> | undefined
  private pending = false
  private savedRevision: number
  private tempCounter = 0
  /** The last failure; kept so stop() can report it rather than lose data silently. */
  lastError: SandboxDataError | undefined

  constructor(
    private readonly file: string,
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
    const folder = path.dirname(path.resolve(this.file))
    const temp = path.join(
      folder,
      `.${path.basename(this.file)}.${process.pid}.${++this.tempCounter}.${randomBytes(4).toString('hex')}.tmp`
    )
    try {
      // No fsync: rename already protects against a killed process, which is what a local
      // sandbox meets; surviving a power cut is not worth slowing every write for.
      await fs.writeFile(temp, JSON.stringify(content))
      await fs.rename(temp, this.file)
      this.savedRevision = revision
      this.lastError = undefined
    } catch (error) {
      await fs.rm(temp, { force: true }).catch(() => undefined)
      // Report the first failure of a streak only, so a full disk does not flood the log.
      const firstFailure = this.lastError === undefined
      this.lastError = new SandboxDataError(
        `Could not save the sandbox data file ${this.file}: ${messageOf(error)}. Check that its folder exists and is writable.`
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
