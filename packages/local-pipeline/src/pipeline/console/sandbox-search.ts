/**
 * The console's Sandbox view: the embedded sandbox's contacts, their activities and the audiences
 * with their members, found by user id, anonymous id or email (any part of one, any case). Read
 * from a copy of the sandbox's state, made once per search.
 */
import type { SandboxActivity, SandboxAudience, SandboxContact, SandboxState } from 'ortto-sandbox'

/** Contacts and audiences listed per answer; activities per contact; members per audience. */
const CONTACTS_SHOWN = 50
const ACTIVITIES_SHOWN = 20
const AUDIENCES_SHOWN = 50
const MEMBERS_SHOWN = 50

interface ShownContact {
  id: string
  user_id: string | null
  anonymous_ids: string[]
  email: string | null
  traits: Record<string, unknown>
  audience_ids: string[]
  updated_at: string
  activities: SandboxActivity[]
  moreActivities: number
}

interface ShownAudience {
  id: string
  name: string
  created_at: string
  members: Array<{ id: string; user_id: string | null; email: string | null }>
  moreMembers: number
}

interface SandboxSearch {
  query: string
  /** What the sandbox holds in all. */
  totals: { contacts: number; activities: number; audiences: number }
  /** Contacts that match (the latest updated first; every contact when the query is empty). */
  contacts: ShownContact[]
  moreContacts: number
  /** Audiences with a matching contact among their members (every audience when the query is empty). */
  audiences: ShownAudience[]
  moreAudiences: number
}

const emailOf = (contact: SandboxContact): string | null =>
  typeof contact.traits.email === 'string' ? contact.traits.email : null

function matches(contact: SandboxContact, needle: string): boolean {
  const ids = [contact.user_id, emailOf(contact), ...contact.anonymous_ids]
  return ids.some((id) => id !== null && id.toLowerCase().includes(needle))
}

export function searchSandbox(state: SandboxState, query: string): SandboxSearch {
  const needle = query.trim().toLowerCase()
  const found = state.contacts
    .filter((contact) => needle === '' || matches(contact, needle))
    .sort((a, b) => b.updated_at.localeCompare(a.updated_at))
  const activitiesOf = new Map<string, SandboxActivity[]>()
  for (const activity of state.activities) {
    const list = activitiesOf.get(activity.contact_id)
    if (list) list.push(activity)
    else activitiesOf.set(activity.contact_id, [activity])
  }
  const byId = new Map(state.contacts.map((contact) => [contact.id, contact]))
  const foundIds = new Set(found.map((contact) => contact.id))
  const audiences = state.audiences.filter(
    (audience) => needle === '' || audience.member_ids.some((id) => foundIds.has(id))
  )
  return {
    query,
    totals: { contacts: state.contacts.length, activities: state.activities.length, audiences: state.audiences.length },
    contacts: found.slice(0, CONTACTS_SHOWN).map((contact) => {
      const activities = activitiesOf.get(contact.id) ?? []
      return {
        id: contact.id,
        user_id: contact.user_id,
        anonymous_ids: contact.anonymous_ids,
        email: emailOf(contact),
        traits: contact.traits,
        audience_ids: contact.audience_ids,
        updated_at: contact.updated_at,
        // The latest first.
        activities: activities.slice(-ACTIVITIES_SHOWN).reverse(),
        moreActivities: Math.max(0, activities.length - ACTIVITIES_SHOWN)
      }
    }),
    moreContacts: Math.max(0, found.length - CONTACTS_SHOWN),
    audiences: audiences.slice(0, AUDIENCES_SHOWN).map((audience) => shownAudience(audience, byId)),
    moreAudiences: Math.max(0, audiences.length - AUDIENCES_SHOWN)
  }
}

function shownAudience(audience: SandboxAudience, contacts: ReadonlyMap<string, SandboxContact>): ShownAudience {
  return {
    id: audience.id,
    name: audience.name,
    created_at: audience.created_at,
    members: audience.member_ids.slice(0, MEMBERS_SHOWN).map((id) => {
      const contact = contacts.get(id)
      return { id, user_id: contact?.user_id ?? null, email: contact ? emailOf(contact) : null }
    }),
    moreMembers: Math.max(0, audience.member_ids.length - MEMBERS_SHOWN)
  }
}
