/**
 * The store's objects as the sandbox shows and saves them (the JSON-ready views of types.ts), and
 * back from a data file's views when it is loaded.
 */
import type { JournalEntry } from '../data-file/format'
import type { SandboxActivity, SandboxAudience, SandboxContact, SandboxMembershipChange, SandboxState } from '../types'
import type { ChangeLog, StoredActivity, StoredAudience, StoredContact } from './stored'

/** `audienceOrdinal`: the creation order of an audience the contact is in, which its audience_ids follow. */
export function contactView(contact: StoredContact, audienceOrdinal: (id: string) => number): SandboxContact {
  const anonymousIds = [...contact.anonymousIds]
  return {
    id: contact.id,
    user_id: contact.userId,
    anonymous_id: anonymousIds.length > 0 ? anonymousIds[anonymousIds.length - 1] : null,
    anonymous_ids: anonymousIds,
    traits: Object.fromEntries(contact.traits),
    ip: contact.ip,
    location: contact.location,
    audience_ids: [...contact.audienceIds].sort((a, b) => audienceOrdinal(a) - audienceOrdinal(b)),
    created_at: contact.createdAt,
    updated_at: contact.updatedAt
  }
}

export function activityView(activity: StoredActivity): SandboxActivity {
  return {
    contact_id: activity.contactId,
    event: activity.event,
    properties: activity.properties,
    namespace: activity.namespace,
    timestamp: activity.timestamp,
    message_id: activity.messageId,
    received_at: activity.receivedAt
  }
}

export function audienceView(audience: StoredAudience): SandboxAudience {
  return { id: audience.id, name: audience.name, created_at: audience.createdAt, member_ids: [...audience.memberIds] }
}

/** A contact as loaded: its audiences and activities are linked once those are loaded. */
export const storedContact = (contact: SandboxContact): StoredContact => ({
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
})

export const storedAudience = (audience: SandboxAudience, ordinal: number): StoredAudience => ({
  ordinal,
  id: audience.id,
  name: audience.name,
  createdAt: audience.created_at,
  memberIds: new Set(audience.member_ids)
})

export const storedActivity = (activity: SandboxActivity, index: number): StoredActivity => ({
  index,
  contactId: activity.contact_id,
  event: activity.event,
  properties: activity.properties,
  namespace: activity.namespace,
  timestamp: activity.timestamp,
  messageId: activity.message_id,
  receivedAt: activity.received_at
})

/**
 * The store's tables, and every way of reading them as views: what the inspection routes show,
 * the whole state a data file saves, and the journal entry of what changed.
 */
export abstract class StoreViews {
  protected contacts = new Map<string, StoredContact>()
  protected contactsByUserId = new Map<string, StoredContact>()
  protected contactsByAnonymousId = new Map<string, StoredContact>()
  protected activities: StoredActivity[] = []
  protected activityKeys = new Set<string>()
  protected audiences = new Map<string, StoredAudience>()
  protected audiencesByName = new Map<string, StoredAudience>()
  protected audienceOrdinal = 0
  /** Entries are never changed once written, so views and the journal share them. */
  protected history: SandboxMembershipChange[] = []

  findContact(query: { userId?: string; anonymousId?: string }): SandboxContact | undefined {
    const contact =
      query.userId !== undefined
        ? this.contactsByUserId.get(query.userId)
        : query.anonymousId !== undefined
          ? this.contactsByAnonymousId.get(query.anonymousId)
          : undefined
    return contact && this.contactView(contact)
  }

  contactViews(): SandboxContact[] {
    return Array.from(this.contacts.values(), (contact) => this.contactView(contact))
  }

  activityViews(contactId?: string): SandboxActivity[] {
    const activities = contactId === undefined ? this.activities : (this.contacts.get(contactId)?.activities ?? [])
    return activities.map((activity) => activityView(activity))
  }

  /** Every audience, or the one with this id or this exact name (both given: it must match both). */
  audienceViews(filter: { id?: string; name?: string } = {}): SandboxAudience[] {
    const { id, name } = filter
    const audiences =
      id === undefined && name === undefined
        ? [...this.audiences.values()]
        : [id !== undefined ? this.audiences.get(id) : this.audiencesByName.get(name!)].filter(
            (audience): audience is StoredAudience =>
              audience !== undefined && (name === undefined || audience.name === name)
          )
    return audiences.map((audience) => audienceView(audience))
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

  /** The journal entry of these changes: each changed thing's current state. */
  protected journalEntry(changes: ChangeLog): JournalEntry {
    const entry: JournalEntry = {}
    if (changes.reset) entry.reset = true
    if (changes.audiences.length > 0) {
      entry.audiences = changes.audiences.map(({ id, name, createdAt }) => ({ id, name, created_at: createdAt }))
    }
    const contacts = [...changes.contacts].filter((contact) => this.contacts.get(contact.id) === contact)
    if (contacts.length > 0) entry.contacts = contacts.map((contact) => this.contactView(contact))
    if (changes.removedContactIds.size > 0) entry.removed_contacts = [...changes.removedContactIds]
    if (changes.memberships.length > 0) entry.memberships = changes.memberships
    if (changes.history.length > 0) entry.membership_history = changes.history
    if (changes.activities.size > 0) {
      entry.activities = [...changes.activities]
        .sort((a, b) => a.index - b.index)
        .map((activity) => ({ index: activity.index, ...activityView(activity) }))
    }
    return entry
  }

  protected contactView(contact: StoredContact): SandboxContact {
    return contactView(contact, (id) => this.audiences.get(id)!.ordinal)
  }
}
