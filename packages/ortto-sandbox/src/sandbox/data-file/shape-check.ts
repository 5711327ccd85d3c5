import { AUDIENCE_MODES, MEMBERSHIP_PATHS, type MembershipPath } from '../contract'
import { isRecord } from '../json'
import type { SandboxActivity, SandboxAudience, SandboxContact, SandboxMembershipChange, SandboxState } from '../types'
import { DATA_FILE_FORMAT, READABLE_VERSIONS } from './format'

/**
 * The shape of what a data file holds, checked field by field, so a hand-edited file fails at
 * start with the path of what is wrong, not mid-request.
 */

/** A shape problem inside the file; the message is a path such as contacts[3].user_id. */
export class ShapeError extends Error {}

type Json = Record<string, unknown>

export function jsonObject(value: unknown, where: string): Json {
  if (!isRecord(value)) throw new ShapeError(`${where} must be an object`)
  return value
}

export function list(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new ShapeError(`${where} must be a list`)
  return value
}

export function text(value: unknown, where: string): string {
  if (typeof value !== 'string') throw new ShapeError(`${where} must be a string`)
  return value
}

function textOrNull(value: unknown, where: string): string | null {
  if (value === null) return null
  if (typeof value !== 'string') throw new ShapeError(`${where} must be a string or null`)
  return value
}

function jsonObjectOrNull(value: unknown, where: string): Json | null {
  return value === null ? null : jsonObject(value, where)
}

export function wholeNumber(value: unknown, where: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw new ShapeError(`${where} must be a whole number`)
  return value as number
}

function unique(seen: Set<string>, value: string, where: string): string {
  if (seen.has(value)) throw new ShapeError(`${where} repeats ${JSON.stringify(value)}, which must be unique`)
  seen.add(value)
  return value
}

export function checkContact(value: unknown, where: string): SandboxContact {
  const c = jsonObject(value, where)
  const anonymous = list(c.anonymous_ids, `${where}.anonymous_ids`).map((id, j) =>
    text(id, `${where}.anonymous_ids[${j}]`)
  )
  return {
    id: text(c.id, `${where}.id`),
    user_id: textOrNull(c.user_id, `${where}.user_id`),
    anonymous_id: anonymous.length > 0 ? anonymous[anonymous.length - 1] : null,
    anonymous_ids: anonymous,
    traits: jsonObject(c.traits, `${where}.traits`),
    ip: textOrNull(c.ip, `${where}.ip`),
    location: jsonObjectOrNull(c.location, `${where}.location`),
    // Memberships are read from the audiences; this copy is derived, not trusted.
    audience_ids: [],
    created_at: text(c.created_at, `${where}.created_at`),
    updated_at: text(c.updated_at, `${where}.updated_at`)
  }
}

export function checkAudience(value: unknown, where: string): Omit<SandboxAudience, 'member_ids'> {
  const a = jsonObject(value, where)
  return {
    id: text(a.id, `${where}.id`),
    name: text(a.name, `${where}.name`),
    created_at: text(a.created_at, `${where}.created_at`)
  }
}

const MODES: readonly unknown[] = AUDIENCE_MODES
const PATHS: readonly unknown[] = MEMBERSHIP_PATHS

export function checkMembershipChange(value: unknown, where: string): SandboxMembershipChange {
  const m = jsonObject(value, where)
  if (!MODES.includes(m.mode)) throw new ShapeError(`${where}.mode must be one of ${AUDIENCE_MODES.join(', ')}`)
  if (typeof m.changed !== 'boolean') throw new ShapeError(`${where}.changed must be true or false`)
  if (!PATHS.includes(m.via)) {
    throw new ShapeError(`${where}.via must be one of ${MEMBERSHIP_PATHS.join(', ')}`)
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
    via: m.via as MembershipPath
  }
}

export function checkActivity(value: unknown, where: string): SandboxActivity {
  const a = jsonObject(value, where)
  return {
    contact_id: text(a.contact_id, `${where}.contact_id`),
    event: text(a.event, `${where}.event`),
    properties: jsonObject(a.properties, `${where}.properties`),
    namespace: textOrNull(a.namespace, `${where}.namespace`),
    timestamp: textOrNull(a.timestamp, `${where}.timestamp`),
    message_id: textOrNull(a.message_id, `${where}.message_id`),
    received_at: text(a.received_at, `${where}.received_at`)
  }
}

/** Checks every field the store relies on, so a hand-edited file fails here, not mid-request. */
export function checkSnapshot(value: unknown): SandboxState {
  const root = jsonObject(value, 'the top level')
  if (root.format !== DATA_FILE_FORMAT) {
    throw new ShapeError(`it is not an Ortto sandbox data file (no "format": "${DATA_FILE_FORMAT}")`)
  }
  if (!READABLE_VERSIONS.includes(root.version)) {
    throw new ShapeError(
      `its version is ${JSON.stringify(root.version)}; this sandbox reads versions ${READABLE_VERSIONS.slice(0, -1).join(', ')} and ${String(READABLE_VERSIONS[READABLE_VERSIONS.length - 1])}`
    )
  }
  const state: SandboxState = {
    contacts: list(root.contacts, 'contacts').map((item, i) => checkContact(item, `contacts[${i}]`)),
    audiences: list(root.audiences, 'audiences').map((item, i) => {
      const where = `audiences[${i}]`
      const member_ids = list(jsonObject(item, where).member_ids, `${where}.member_ids`).map((id, j) =>
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

/** What no single object shows: ids that must be unique, and references that must resolve. */
export function checkConsistency(state: SandboxState): void {
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
