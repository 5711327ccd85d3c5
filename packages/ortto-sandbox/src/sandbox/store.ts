import { randomBytes, randomUUID } from 'node:crypto'
import { ORTTO_ENDPOINTS, type MembershipRoute } from './contract'
import type { JournalEntry } from './data-file/format'
import type { SandboxActivity, SandboxAudience, SandboxContact, SandboxMembershipChange, SandboxState } from './types'
import type { AudienceChange, ObjectProblem, ValidActivity, ValidContact } from './validation'

/**
 * The sandbox's Ortto state and its merge rules. Every lookup on the request path goes
 * through a Map (contacts by user_id and anonymous_id, activities by message_id + timestamp,
 * audiences by id and name), so applying an object costs the same with 10 or 100,000 stored.
 *
 * Identity rules (Ortto documents none; these are the sandbox's choices):
 * - An object is located by user_id first, else by anonymous_id.
 * - An anonymous contact later seen with its anonymous_id and a user_id gains that user_id.
 * - When user_id and anonymous_id locate two different contacts and the anonymous one has no
 *   user_id, the anonymous contact is merged into the identified one: the identified contact
 *   keeps its id and wins trait conflicts, gains the missing traits, the anonymous ids, the
 *   audience memberships and the activities; the anonymous contact disappears.
 * - An anonymous_id already attached to a contact with a different user_id is moved to the
 *   contact of the newer user_id (a shared device changed hands); nothing else is merged.
 */

interface ContactRecord {
  id: string
  userId: string | null
  /** Insertion order is recency: an id seen again is moved to the end. */
  anonymousIds: Set<string>
  /** A Map rather than an object, so a trait named "__proto__" is just a trait. */
  traits: Map<string, unknown>
  ip: string | null
  location: Record<string, unknown> | null
  audienceIds: Set<string>
  activities: ActivityRecord[]
  createdAt: string
  updatedAt: string
}

interface ActivityRecord {
  /** Its position in the list of all activities, which only grows (until a reset). */
  index: number
  contactId: string
  event: string
  properties: Record<string, unknown>
  namespace: string | null
  timestamp: string | null
  messageId: string | null
  receivedAt: string
}

interface AudienceRecord {
  /** Creation order, which a contact's audience_ids follow (as they do after a load). */
  ordinal: number
  id: string
  name: string
  createdAt: string
  memberIds: Set<string>
}

/** What changed since the last takeChanges(): the records, not copies, so the latest state is what gets saved. */
class ChangeLog {
  reset = false
  readonly contacts = new Set<ContactRecord>()
  readonly removedContactIds = new Set<string>()
  readonly audiences: AudienceRecord[] = []
  readonly memberships: Array<{ audience_id: string; contact_id: string; member: boolean }> = []
  readonly history: SandboxMembershipChange[] = []
  readonly activities = new Set<ActivityRecord>()

  get empty(): boolean {
    return (
      !this.reset &&
      this.contacts.size === 0 &&
      this.removedContactIds.size === 0 &&
      this.audiences.length === 0 &&
      this.memberships.length === 0 &&
      this.history.length === 0 &&
      this.activities.size === 0
    )
  }
}

export type ActivityOutcome = { kind: 'stored' } | { kind: 'duplicate' } | { kind: 'rejected'; problem: ObjectProblem }

/** Ortto's audience ids look like 24 hex digits; random ones stay unique across resets. */
const newAudienceId = (): string => randomBytes(12).toString('hex')

/** The pair that identifies an activity; only usable when both parts are present. */
const activityKey = (messageId: string | undefined, timestamp: string | undefined): string | undefined =>
  messageId && timestamp ? `${messageId}\u0000${timestamp}` : undefined

/** Two lists, each in index order, as one list in index order. */
function mergeByIndex(a: ActivityRecord[], b: ActivityRecord[]): ActivityRecord[] {
  const merged: ActivityRecord[] = []
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i].index < b[j].index)) merged.push(a[i++])
    else merged.push(b[j++])
  }
  return merged
}

export class SandboxStore {
  private contacts = new Map<string, ContactRecord>()
  private contactsByUserId = new Map<string, ContactRecord>()
  private contactsByAnonymousId = new Map<string, ContactRecord>()
  private activities: ActivityRecord[] = []
  private activityKeys = new Set<string>()
  private audiences = new Map<string, AudienceRecord>()
  private audiencesByName = new Map<string, AudienceRecord>()
  private audienceOrdinal = 0
  /** Entries are never changed once written, so views and the journal share them. */
  private history: SandboxMembershipChange[] = []

  /** Kept only when a data file is saved, which takes the changes after every request. */
  private changes: ChangeLog | undefined

  constructor(options: { trackChanges?: boolean } = {}) {
    if (options.trackChanges) this.changes = new ChangeLog()
  }

  get contactCount(): number {
    return this.contacts.size
  }

  get activityCount(): number {
    return this.activities.length
  }

  reset(): void {
    this.contacts.clear()
    this.contactsByUserId.clear()
    this.contactsByAnonymousId.clear()
    this.activities = []
    this.activityKeys.clear()
    this.audiences.clear()
    this.audiencesByName.clear()
    this.history = []
    if (this.changes) {
      this.changes = new ChangeLog()
      this.changes.reset = true
    }
  }

  /**
   * What changed since the last call, as a journal entry of each changed thing's current state
   * (undefined when nothing changed or changes are not tracked). Called after every request.
   */
  takeChanges(): JournalEntry | undefined {
    const changes = this.changes
    if (!changes || changes.empty) return undefined
    this.changes = new ChangeLog()
    const entry: JournalEntry = {}
    if (changes.reset) entry.reset = true
    if (changes.audiences.length > 0) {
      entry.audiences = changes.audiences.map(({ id, name, createdAt }) => ({ id, name, created_at: createdAt }))
    }
    const contacts = [...changes.contacts].filter((record) => this.contacts.get(record.id) === record)
    if (contacts.length > 0) entry.contacts = contacts.map((record) => this.contactView(record))
    if (changes.removedContactIds.size > 0) entry.removed_contacts = [...changes.removedContactIds]
    if (changes.memberships.length > 0) entry.memberships = changes.memberships
    if (changes.history.length > 0) entry.membership_history = changes.history
    if (changes.activities.size > 0) {
      entry.activities = [...changes.activities]
        .sort((a, b) => a.index - b.index)
        .map((record) => ({ index: record.index, ...this.activityView(record) }))
    }
    return entry
  }

  /** Creates the audience, or returns the one with exactly this name (case-sensitive). */
  createAudience(name: string, now: string): { audience: SandboxAudience; created: boolean } {
    const existing = this.audiencesByName.get(name)
    if (existing) return { audience: this.audienceView(existing), created: false }
    const record: AudienceRecord = {
      ordinal: this.audienceOrdinal++,
      id: newAudienceId(),
      name,
      createdAt: now,
      memberIds: new Set()
    }
    this.audiences.set(record.id, record)
    this.audiencesByName.set(name, record)
    this.changes?.audiences.push(record)
    return { audience: this.audienceView(record), created: true }
  }

  /** The audience with this id, if there is one. */
  getAudience(id: string): SandboxAudience | undefined {
    const record = this.audiences.get(id)
    return record && this.audienceView(record)
  }

  /**
   * Upserts the contact an identify or audience-member object names, then applies its
   * `audience`; undefined when applied.
   */
  applyContact(
    object: ValidContact,
    now: string,
    via: Exclude<MembershipRoute, '/v1/track'>
  ): ObjectProblem | undefined {
    const problem = this.checkAudience(object.audience)
    if (problem) return problem
    this.upsertContact(object, now, via)
    return undefined
  }

  /** Stores an activity and upserts its contact (Ortto counts it as an identify too). */
  applyActivity(object: ValidActivity, now: string): ActivityOutcome {
    const problem = this.checkAudience(object.audience)
    if (problem) return { kind: 'rejected', problem }
    const key = activityKey(object.messageId, object.timestamp)
    // A repeat is dropped whole, contact changes included: it is the same event sent again.
    if (key !== undefined && this.activityKeys.has(key)) return { kind: 'duplicate' }
    const contact = this.upsertContact(object, now, ORTTO_ENDPOINTS.track.path)
    const record: ActivityRecord = {
      index: this.activities.length,
      contactId: contact.id,
      event: object.event,
      properties: object.properties ?? {},
      namespace: object.namespace ?? null,
      timestamp: object.timestamp ?? null,
      messageId: object.messageId ?? null,
      receivedAt: now
    }
    this.activities.push(record)
    contact.activities.push(record)
    if (key !== undefined) this.activityKeys.add(key)
    this.changes?.activities.add(record)
    return { kind: 'stored' }
  }

  findContact(query: { userId?: string; anonymousId?: string }): SandboxContact | undefined {
    const record =
      query.userId !== undefined
        ? this.contactsByUserId.get(query.userId)
        : query.anonymousId !== undefined
          ? this.contactsByAnonymousId.get(query.anonymousId)
          : undefined
    return record && this.contactView(record)
  }

  contactViews(): SandboxContact[] {
    return Array.from(this.contacts.values(), (record) => this.contactView(record))
  }

  activityViews(contactId?: string): SandboxActivity[] {
    const records = contactId === undefined ? this.activities : (this.contacts.get(contactId)?.activities ?? [])
    return records.map((record) => this.activityView(record))
  }

  /** Every audience, or the one with this id or this exact name (both given: it must match both). */
  audienceViews(filter: { id?: string; name?: string } = {}): SandboxAudience[] {
    const { id, name } = filter
    const records =
      id === undefined && name === undefined
        ? [...this.audiences.values()]
        : [id !== undefined ? this.audiences.get(id) : this.audiencesByName.get(name!)].filter(
            (record): record is AudienceRecord => record !== undefined && (name === undefined || record.name === name)
          )
    return records.map((record) => this.audienceView(record))
  }

  /** The membership history, oldest first: all of it, or only that of these audiences. */
  membershipHistory(audienceIds?: ReadonlySet<string>): SandboxMembershipChange[] {
    return audienceIds === undefined ? [...this.history] : this.history.filter((e) => audienceIds.has(e.audience_id))
  }

  /**
   * The whole state as plain JSON-ready objects. They share trait and property values with
   * the store, so callers that hand it out (snapshot()) copy it; serialising it is safe as is.
   */
  view(): SandboxState {
    return {
      contacts: this.contactViews(),
      activities: this.activityViews(),
      audiences: this.audienceViews(),
      membership_history: this.membershipHistory()
    }
  }

  /** Replaces the state with one read from a data file (already checked by data-file/reader.ts). */
  load(state: SandboxState): void {
    this.reset()
    for (const contact of state.contacts) {
      const record: ContactRecord = {
        id: contact.id,
        userId: contact.user_id,
        anonymousIds: new Set(contact.anonymous_ids),
        traits: new Map(Object.entries(contact.traits)),
        ip: contact.ip,
        location: contact.location,
        audienceIds: new Set(),
        activities: [],
        createdAt: contact.created_at,
        updatedAt: contact.updated_at
      }
      this.contacts.set(record.id, record)
      if (record.userId !== null) this.contactsByUserId.set(record.userId, record)
      for (const anonymousId of record.anonymousIds) this.contactsByAnonymousId.set(anonymousId, record)
    }
    for (const audience of state.audiences) {
      const record: AudienceRecord = {
        ordinal: this.audienceOrdinal++,
        id: audience.id,
        name: audience.name,
        createdAt: audience.created_at,
        memberIds: new Set(audience.member_ids)
      }
      this.audiences.set(record.id, record)
      this.audiencesByName.set(record.name, record)
      for (const memberId of record.memberIds) this.contacts.get(memberId)?.audienceIds.add(record.id)
    }
    for (const activity of state.activities) {
      const record: ActivityRecord = {
        index: this.activities.length,
        contactId: activity.contact_id,
        event: activity.event,
        properties: activity.properties,
        namespace: activity.namespace,
        timestamp: activity.timestamp,
        messageId: activity.message_id,
        receivedAt: activity.received_at
      }
      this.activities.push(record)
      this.contacts.get(record.contactId)?.activities.push(record)
      const key = activityKey(record.messageId ?? undefined, record.timestamp ?? undefined)
      if (key !== undefined) this.activityKeys.add(key)
    }
    this.history = state.membership_history.map((entry) => ({ ...entry }))
    // What was loaded is already in the file.
    if (this.changes) this.changes = new ChangeLog()
  }

  private checkAudience(audience: AudienceChange | undefined): ObjectProblem | undefined {
    if (audience === undefined || this.audiences.has(audience.id)) return undefined
    return { status: 404, message: `audience ${audience.id} does not exist; create it with /v1/audiences/create` }
  }

  private upsertContact(object: ValidContact, now: string, via: MembershipRoute): ContactRecord {
    const contact = this.locateContact(object.userId, object.anonymousId, now)
    if (object.traits) {
      for (const [key, value] of Object.entries(object.traits)) contact.traits.set(key, value)
    }
    if (object.ip !== undefined) contact.ip = object.ip
    if (object.location !== undefined) contact.location = object.location
    if (object.audience) this.changeMembership(contact, object, now, via)
    contact.updatedAt = now
    this.changes?.contacts.add(contact)
    return contact
  }

  /** Applies the object's `audience` (checked to exist) and writes it in the history, a repeat included. */
  private changeMembership(contact: ContactRecord, object: ValidContact, now: string, via: MembershipRoute): void {
    const { mode, id } = object.audience!
    const audience = this.audiences.get(id)!
    const changed = mode === 'add' ? this.addMember(audience, contact.id) : this.removeMember(audience, contact.id)
    const entry: SandboxMembershipChange = {
      sequence: this.history.length + 1,
      at: now,
      audience_id: id,
      mode,
      changed,
      contact_id: contact.id,
      user_id: object.userId ?? null,
      anonymous_id: object.anonymousId ?? null,
      message_id: object.messageId ?? null,
      via
    }
    this.history.push(entry)
    this.changes?.history.push(entry)
  }

  /** Membership lives on both sides; true when it changed (a change that changes nothing is not journalled). */
  private addMember(audience: AudienceRecord, contactId: string): boolean {
    if (audience.memberIds.has(contactId)) return false
    audience.memberIds.add(contactId)
    this.contacts.get(contactId)?.audienceIds.add(audience.id)
    this.changes?.memberships.push({ audience_id: audience.id, contact_id: contactId, member: true })
    return true
  }

  private removeMember(audience: AudienceRecord, contactId: string): boolean {
    if (!audience.memberIds.has(contactId)) return false
    audience.memberIds.delete(contactId)
    this.contacts.get(contactId)?.audienceIds.delete(audience.id)
    this.changes?.memberships.push({ audience_id: audience.id, contact_id: contactId, member: false })
    return true
  }

  /** Finds or creates the contact for these ids, applying the identity rules above. */
  private locateContact(userId: string | undefined, anonymousId: string | undefined, now: string): ContactRecord {
    const byUser = userId !== undefined ? this.contactsByUserId.get(userId) : undefined
    const byAnonymous = anonymousId !== undefined ? this.contactsByAnonymousId.get(anonymousId) : undefined

    if (byUser) {
      if (byAnonymous && byAnonymous !== byUser && byAnonymous.userId === null) this.mergeInto(byUser, byAnonymous)
      if (anonymousId !== undefined) this.attachAnonymousId(byUser, anonymousId)
      return byUser
    }
    if (byAnonymous && (userId === undefined || byAnonymous.userId === null)) {
      if (userId !== undefined) {
        byAnonymous.userId = userId
        this.contactsByUserId.set(userId, byAnonymous)
      }
      this.attachAnonymousId(byAnonymous, anonymousId!)
      return byAnonymous
    }
    const contact: ContactRecord = {
      id: randomUUID(),
      userId: userId ?? null,
      anonymousIds: new Set(),
      traits: new Map(),
      ip: null,
      location: null,
      audienceIds: new Set(),
      activities: [],
      createdAt: now,
      updatedAt: now
    }
    this.contacts.set(contact.id, contact)
    // Recorded at creation, so new contacts are saved in the order they were made.
    this.changes?.contacts.add(contact)
    if (userId !== undefined) this.contactsByUserId.set(userId, contact)
    if (anonymousId !== undefined) this.attachAnonymousId(contact, anonymousId)
    return contact
  }

  /** Points the anonymous id at this contact (taking it from any other) and marks it latest. */
  private attachAnonymousId(contact: ContactRecord, anonymousId: string): void {
    const previous = this.contactsByAnonymousId.get(anonymousId)
    if (previous && previous !== contact) {
      previous.anonymousIds.delete(anonymousId)
      this.changes?.contacts.add(previous)
    }
    contact.anonymousIds.delete(anonymousId)
    contact.anonymousIds.add(anonymousId)
    this.contactsByAnonymousId.set(anonymousId, contact)
  }

  /** Folds an anonymous contact into an identified one (see the identity rules above). */
  private mergeInto(survivor: ContactRecord, absorbed: ContactRecord): void {
    for (const [key, value] of absorbed.traits) {
      if (!survivor.traits.has(key)) survivor.traits.set(key, value)
    }
    survivor.ip ??= absorbed.ip
    survivor.location ??= absorbed.location
    if (absorbed.createdAt < survivor.createdAt) survivor.createdAt = absorbed.createdAt
    // Older anonymous ids go first so the survivor's recency order stays meaningful.
    const anonymousIds = [...absorbed.anonymousIds, ...survivor.anonymousIds]
    survivor.anonymousIds = new Set(anonymousIds)
    for (const anonymousId of absorbed.anonymousIds) this.contactsByAnonymousId.set(anonymousId, survivor)
    for (const audienceId of [...absorbed.audienceIds]) {
      const audience = this.audiences.get(audienceId)
      if (!audience) continue
      this.removeMember(audience, absorbed.id)
      this.addMember(audience, survivor.id)
    }
    for (const activity of absorbed.activities) {
      activity.contactId = survivor.id
      this.changes?.activities.add(activity)
    }
    // In the order they were received, as a load of the data file lists them.
    survivor.activities = mergeByIndex(survivor.activities, absorbed.activities)
    this.contacts.delete(absorbed.id)
    this.changes?.contacts.add(survivor)
    this.changes?.removedContactIds.add(absorbed.id)
  }

  private contactView(record: ContactRecord): SandboxContact {
    const anonymousIds = [...record.anonymousIds]
    return {
      id: record.id,
      user_id: record.userId,
      anonymous_id: anonymousIds.length > 0 ? anonymousIds[anonymousIds.length - 1] : null,
      anonymous_ids: anonymousIds,
      traits: Object.fromEntries(record.traits),
      ip: record.ip,
      location: record.location,
      audience_ids: [...record.audienceIds].sort(
        (a, b) => this.audiences.get(a)!.ordinal - this.audiences.get(b)!.ordinal
      ),
      created_at: record.createdAt,
      updated_at: record.updatedAt
    }
  }

  private activityView(record: ActivityRecord): SandboxActivity {
    return {
      contact_id: record.contactId,
      event: record.event,
      properties: record.properties,
      namespace: record.namespace,
      timestamp: record.timestamp,
      message_id: record.messageId,
      received_at: record.receivedAt
    }
  }

  private audienceView(record: AudienceRecord): SandboxAudience {
    return { id: record.id, name: record.name, created_at: record.createdAt, member_ids: [...record.memberIds] }
  }
}
