import { withChecksum } from './checksum'
import type { SandboxActivity, SandboxAudience, SandboxContact, SandboxMembershipChange, SandboxState } from '../types'

/**
 * The data file, version 3. Every line is a record with a checksum (checksum.ts). Line 1 is a
 * snapshot of the whole state:
 *   {"checksum":"…","format":"ortto-sandbox","version":3,"saved_at":"…","contacts":[…],…}
 * Every later line is a journal record, the changes of one request, numbered from 1 after the
 * snapshot and appended before that request is answered:
 *   {"checksum":"…","seq":1,"change":{"contacts":[…],…}}
 * Loading reads the snapshot and replays the journal over it. The numbers catch a line missing,
 * repeated or moved; the checksums catch changed bytes.
 *
 * Now and then (see DataFileWriter) the whole state is written as a fresh one-line file: to a
 * temporary file next to the data file, then renamed over it, so a kill leaves the old file or
 * the new one, never half of one. A save thus costs what changed, not what is stored.
 *
 * Older versions still load, and are rewritten as version 3 at the first change:
 * - 2: the same layout without checksums or numbers (snapshot `{"format","version":2,…}`, then
 *   bare journal entries); damage shows only when a line is not JSON or does not fit the state.
 * - 1: one JSON document (a snapshot), pretty-printed or not.
 * A snapshot without `membership_history` (written before the sandbox kept one) loads with an
 * empty history.
 */

export const DATA_FILE_FORMAT = 'ortto-sandbox'
export const DATA_FILE_VERSION = 3
export const READABLE_VERSIONS: readonly unknown[] = [1, 2, 3]

/** Line 1: the whole state, as a record. */
export function snapshotRecord(state: SandboxState, savedAt: string): string {
  return withChecksum(
    JSON.stringify({ format: DATA_FILE_FORMAT, version: DATA_FILE_VERSION, saved_at: savedAt, ...state })
  )
}

/** What a journal record holds after its checksum, up to its change (whose JSON follows). */
export const journalRecordStart = (seq: number): string => `"seq":${seq},"change":{`

/** Line `seq + 1`: the changes of one request (`entryJson`, a JournalEntry as JSON), as a record. */
export const journalRecord = (seq: number, entryJson: string): string =>
  withChecksum(`{${journalRecordStart(seq)}${entryJson.slice(1)}}`)

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
