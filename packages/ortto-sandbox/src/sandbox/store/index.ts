import { randomBytes, randomUUID } from 'node:crypto'
import { ORTTO_ENDPOINTS, type MembershipPath } from '../contract'
import type { JournalEntry } from '../data-file/format'
import type { SandboxAudience, SandboxMembershipChange, SandboxState } from '../types'
import type { AudienceChange, ObjectProblem, ValidActivity, ValidContact } from '../validation'
import {
  ChangeLog,
  activityKey,
  mergeByIndex,
  type StoredActivity,
  type StoredAudience,
  type StoredContact
} from './stored'
import { StoreViews, audienceView, storedActivity, storedAudience, storedContact } from './views'

/**
 * The sandbox's Ortto state and its merge rules: everything that changes it (views.ts reads it,
 * stored.ts holds its shapes). Every lookup on the request path goes through a Map (contacts by
 * user_id and anonymous_id, activities by message_id + timestamp, audiences by id and name), so
 * applying an object costs the same with 10 or 100,000 stored.
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

export type ActivityOutcome = { kind: 'stored' } | { kind: 'duplicate' } | { kind: 'rejected'; problem: ObjectProblem }

/** Ortto's audience ids look like 24 hex digits; random ones stay unique across resets. */
const newAudienceId = (): string => randomBytes(12).toString('hex')

export class SandboxStore extends StoreViews {
  /** Kept only when a data file is saved, which takes the changes after every request. */
  private changes: ChangeLog | undefined

  constructor(options: { trackChanges?: boolean } = {}) {
    super()
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
    return this.journalEntry(changes)
  }

  /** Creates the audience, or returns the one with exactly this name (case-sensitive). */
  createAudience(name: string, now: string): { audience: SandboxAudience; created: boolean } {
    const existing = this.audiencesByName.get(name)
    if (existing) return { audience: audienceView(existing), created: false }
    const audience: StoredAudience = {
      ordinal: this.audienceOrdinal++,
      id: newAudienceId(),
      name,
      createdAt: now,
      memberIds: new Set()
    }
    this.audiences.set(audience.id, audience)
    this.audiencesByName.set(name, audience)
    this.changes?.audiences.push(audience)
    return { audience: audienceView(audience), created: true }
  }

  /** The audience with this id, if there is one. */
  getAudience(id: string): SandboxAudience | undefined {
    const audience = this.audiences.get(id)
    return audience && audienceView(audience)
  }

  /**
   * Upserts the contact an identify or audience-member object names, then applies its
   * `audience`; undefined when applied.
   */
  applyContact(
    object: ValidContact,
    now: string,
    via: Exclude<MembershipPath, '/v1/track'>
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
    const activity: StoredActivity = {
      index: this.activities.length,
      contactId: contact.id,
      event: object.event,
      properties: object.properties ?? {},
      namespace: object.namespace ?? null,
      timestamp: object.timestamp ?? null,
      messageId: object.messageId ?? null,
      receivedAt: now
    }
    this.activities.push(activity)
    contact.activities.push(activity)
    if (key !== undefined) this.activityKeys.add(key)
    this.changes?.activities.add(activity)
    return { kind: 'stored' }
  }

  /** Replaces the state with one read from a data file (already checked by data-file/reader.ts). */
  load(state: SandboxState): void {
    this.reset()
    for (const view of state.contacts) {
      const contact = storedContact(view)
      this.contacts.set(contact.id, contact)
      if (contact.userId !== null) this.contactsByUserId.set(contact.userId, contact)
      for (const anonymousId of contact.anonymousIds) this.contactsByAnonymousId.set(anonymousId, contact)
    }
    for (const view of state.audiences) {
      const audience = storedAudience(view, this.audienceOrdinal++)
      this.audiences.set(audience.id, audience)
      this.audiencesByName.set(audience.name, audience)
      for (const memberId of audience.memberIds) this.contacts.get(memberId)?.audienceIds.add(audience.id)
    }
    for (const view of state.activities) {
      const activity = storedActivity(view, this.activities.length)
      this.activities.push(activity)
      this.contacts.get(activity.contactId)?.activities.push(activity)
      const key = activityKey(activity.messageId ?? undefined, activity.timestamp ?? undefined)
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

  private upsertContact(object: ValidContact, now: string, via: MembershipPath): StoredContact {
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
  private changeMembership(contact: StoredContact, object: ValidContact, now: string, via: MembershipPath): void {
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
  private addMember(audience: StoredAudience, contactId: string): boolean {
    if (audience.memberIds.has(contactId)) return false
    audience.memberIds.add(contactId)
    this.contacts.get(contactId)?.audienceIds.add(audience.id)
    this.changes?.memberships.push({ audience_id: audience.id, contact_id: contactId, member: true })
    return true
  }

  private removeMember(audience: StoredAudience, contactId: string): boolean {
    if (!audience.memberIds.has(contactId)) return false
    audience.memberIds.delete(contactId)
    this.contacts.get(contactId)?.audienceIds.delete(audience.id)
    this.changes?.memberships.push({ audience_id: audience.id, contact_id: contactId, member: false })
    return true
  }

  /** Finds or creates the contact for these ids, applying the identity rules above. */
  private locateContact(userId: string | undefined, anonymousId: string | undefined, now: string): StoredContact {
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
    const contact: StoredContact = {
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
  private attachAnonymousId(contact: StoredContact, anonymousId: string): void {
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
  private mergeInto(survivor: StoredContact, absorbed: StoredContact): void {
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
}
