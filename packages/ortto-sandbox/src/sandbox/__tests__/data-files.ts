/** Data files for the sandbox's tests, written as earlier versions of the sandbox wrote them. */
import { randomUUID } from 'node:crypto'
import { promises as fs } from 'node:fs'
import type { SandboxContact } from '../index'

/** A version 1 data file (one JSON document, as the sandbox wrote before the journal) with `contacts` contacts. */
export async function writeVersion1File(file: string, contacts: number): Promise<void> {
  const at = '2024-01-01T00:00:00.000Z'
  const list: SandboxContact[] = Array.from({ length: contacts }, (_, i) => ({
    id: randomUUID(),
    user_id: `stored-${i}`,
    anonymous_id: null,
    anonymous_ids: [],
    traits: { email: `stored-${i}@example.com`, plan: 'pro', logins: i },
    ip: null,
    location: null,
    audience_ids: [],
    created_at: at,
    updated_at: at
  }))
  const content = { format: 'ortto-sandbox', version: 1, saved_at: at, contacts: list, activities: [], audiences: [] }
  await fs.writeFile(file, JSON.stringify(content))
}

/**
 * A version 2 data file (a snapshot line, then journal entries without checksums or numbers), as
 * the sandbox wrote before checksums: `contacts` contacts in the snapshot, then one identify line
 * per user id in `journal`. `lastNewline: false` leaves the newline off the last line.
 */
export async function writeVersion2File(
  file: string,
  contacts: number,
  journal: string[],
  options: { lastNewline?: boolean } = {}
): Promise<string[]> {
  const at = '2024-01-01T00:00:00.000Z'
  const contact = (userId: string): SandboxContact => ({
    id: randomUUID(),
    user_id: userId,
    anonymous_id: null,
    anonymous_ids: [],
    traits: {},
    ip: null,
    location: null,
    audience_ids: [],
    created_at: at,
    updated_at: at
  })
  const snapshot = {
    format: 'ortto-sandbox',
    version: 2,
    saved_at: at,
    contacts: Array.from({ length: contacts }, (_, i) => contact(`stored-${i}`)),
    activities: [],
    audiences: [],
    membership_history: []
  }
  const lines = [JSON.stringify(snapshot), ...journal.map((userId) => JSON.stringify({ contacts: [contact(userId)] }))]
  await fs.writeFile(file, lines.join('\n') + (options.lastNewline === false ? '' : '\n'))
  return lines
}
