import type { SandboxActivity, SandboxAudience, SandboxContact, SandboxMembershipChange, SandboxState } from '../types'

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
export const READABLE_VERSIONS: readonly unknown[] = [1, 2]

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

/** The end of every message about a data file that cannot be used as it is. */
export const FIX_OR_DELETE = 'Fix the file, or delete it to start with an empty sandbox.'

export const emptyState = (): SandboxState => ({ contacts: [], activities: [], audiences: [], membership_history: [] })
