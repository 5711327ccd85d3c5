/**
 * What the store keeps: contacts, activities and audiences as the model holds them (Maps and Sets,
 * linked to each other), and the log of what changed since the data file was last saved.
 */
import type { SandboxMembershipChange } from '../types'

export interface StoredContact {
  id: string
  userId: string | null
  /** Insertion order is recency: an id seen again is moved to the end. */
  anonymousIds: Set<string>
  /** A Map rather than an object, so a trait named "__proto__" is just a trait. */
  traits: Map<string, unknown>
  ip: string | null
  location: Record<string, unknown> | null
  audienceIds: Set<string>
  activities: StoredActivity[]
  createdAt: string
  updatedAt: string
}

export interface StoredActivity {
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

export interface StoredAudience {
  /** Creation order, which a contact's audience_ids follow (as they do after a load). */
  ordinal: number
  id: string
  name: string
  createdAt: string
  memberIds: Set<string>
}

/** What changed since the last takeChanges(): the stored objects, not copies, so the latest state is what gets saved. */
export class ChangeLog {
  reset = false
  readonly contacts = new Set<StoredContact>()
  readonly removedContactIds = new Set<string>()
  readonly audiences: StoredAudience[] = []
  readonly memberships: Array<{ audience_id: string; contact_id: string; member: boolean }> = []
  readonly history: SandboxMembershipChange[] = []
  readonly activities = new Set<StoredActivity>()

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

/** The pair that identifies an activity; only usable when both parts are present. */
export const activityKey = (messageId: string | undefined, timestamp: string | undefined): string | undefined =>
  messageId && timestamp ? `${messageId}\u0000${timestamp}` : undefined

/** Two lists, each in index order, as one list in index order. */
export function mergeByIndex(a: StoredActivity[], b: StoredActivity[]): StoredActivity[] {
  const merged: StoredActivity[] = []
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i].index < b[j].index)) merged.push(a[i++])
    else merged.push(b[j++])
  }
  return merged
}
