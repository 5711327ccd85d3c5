import type { SandboxActivity, SandboxAudience, SandboxContact, SandboxMembershipChange, SandboxState } from '../types'
import {
  ShapeError,
  checkActivity,
  checkAudience,
  checkConsistency,
  checkContact,
  checkMembershipChange,
  jsonObject,
  list,
  text,
  wholeNumber
} from './shape-check'

/** The state being rebuilt from a snapshot and journal lines, keyed the way entries name things. */
export class Replay {
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
    const entry = jsonObject(value, 'the line')
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
      const m = jsonObject(item, where)
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
      const index = wholeNumber(jsonObject(item, where).index, `${where}.index`)
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
