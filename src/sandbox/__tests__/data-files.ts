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
