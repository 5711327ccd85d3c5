/**
 * The sandbox's ingest rate with a data file: Ortto-shaped identify and track batches posted
 * straight to the sandbox over loopback, first with no data file, then with one pre-filled to a
 * given size. What the data file costs per change shows up as the difference, and as the bytes
 * the process wrote to disk per event (Linux's /proc/self/io; omitted elsewhere).
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import { snapshotRecord, startSandbox, type Sandbox, type SandboxActivity, type SandboxContact } from 'ortto-sandbox'

export interface StoreIngestOptions {
  /** Size the data file is pre-filled to before ingest (MiB). */
  storeMiB: number
  /** Objects posted (half identify, half track, batches of 500). */
  events: number
  /** Requests in flight at once. */
  concurrency: number
}

export interface IngestFigures {
  eventsPerSecond: number
  wallMs: number
  /** Bytes this process had written to storage per event during ingest (undefined off Linux). */
  diskBytesPerEvent?: number
  statuses: Record<string, number>
}

export interface StoreIngestFigures {
  storeBytes: number
  loadMs: number
  memoryOnly: IngestFigures
  withDataFile: IngestFigures
  /** How long stop() took (it writes what is still unsaved). */
  stopMs: number
}

const API_KEY = 'pau-bench-store-key'
const BATCH = 500

function diskBytesWritten(): number | undefined {
  try {
    const match = /^write_bytes: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))
    return match ? Number(match[1]) : undefined
  } catch {
    return undefined
  }
}

const traitsFor = (i: number): Record<string, unknown> => ({
  email: `bench-${i}@example.com`,
  first_name: 'Olivia',
  last_name: 'Nguyen',
  plan: ['free', 'starter', 'business'][i % 3],
  company: 'Acme Pty Ltd',
  city: 'Sydney',
  logins: i % 97
})

/** Writes a data file (version 3, a snapshot and no journal yet), about `bytes` long; returns its size. */
export function prefillDataFile(file: string, bytes: number): number {
  const contacts: SandboxContact[] = []
  const activities: SandboxActivity[] = []
  const now = '2024-05-01T00:00:00.000Z'
  let size = 0
  for (let i = 0; size < bytes; i++) {
    const contact: SandboxContact = {
      id: randomUUID(),
      user_id: `stored-${i}`,
      anonymous_id: `anon-${i}`,
      anonymous_ids: [`anon-${i}`],
      traits: traitsFor(i),
      ip: '203.0.113.7',
      location: null,
      audience_ids: [],
      created_at: now,
      updated_at: now
    }
    const activity: SandboxActivity = {
      contact_id: contact.id,
      event: 'Order Completed',
      properties: { order_id: `o-${i}`, total: 42.5, currency: 'AUD', products: 3 },
      namespace: null,
      timestamp: now,
      message_id: `stored-msg-${i}`,
      received_at: now
    }
    contacts.push(contact)
    activities.push(activity)
    size += JSON.stringify(contact).length + JSON.stringify(activity).length + 2
  }
  // As a sandbox writes it: one snapshot record, with its checksum, which loading verifies.
  writeFileSync(file, `${snapshotRecord({ contacts, activities, audiences: [], membership_history: [] }, now)}\n`)
  return statSync(file).size
}

async function post(sandbox: Sandbox, apiPath: string, body: unknown[]): Promise<number> {
  const response = await fetch(`${sandbox.url}${apiPath}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body)
  })
  await response.arrayBuffer()
  return response.status
}

/** Half the contacts are new, half update stored ones; every activity is new. */
function batches(events: number, run: string): Array<{ apiPath: string; body: unknown[] }> {
  const out: Array<{ apiPath: string; body: unknown[] }> = []
  for (let start = 0, n = 0; start < events; start += BATCH, n++) {
    const size = Math.min(BATCH, events - start)
    const ids = Array.from({ length: size }, (_, j) => start + j)
    if (n % 2 === 0) {
      out.push({
        apiPath: '/v1/identify',
        body: ids.map((i) => ({ user_id: i % 2 ? `stored-${i}` : `${run}-${i}`, traits: traitsFor(i) }))
      })
    } else {
      out.push({
        apiPath: '/v1/track',
        body: ids.map((i) => ({
          user_id: `${run}-${i}`,
          event: 'Product Viewed',
          properties: { product_id: `p-${i % 50}`, price: 19.5 },
          message_id: `${run}-msg-${i}`,
          timestamp: '2024-05-02T00:00:00.000Z'
        }))
      })
    }
  }
  return out
}

async function ingest(sandbox: Sandbox, events: number, concurrency: number, run: string): Promise<IngestFigures> {
  const queue = batches(events, run)
  const statuses: Record<string, number> = {}
  // Not timed: a first change may rewrite a data file in an older layout once.
  await post(sandbox, '/v1/identify', [{ user_id: `${run}-warm-up` }])
  const diskBefore = diskBytesWritten()
  const start = performance.now()
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const status = String(await post(sandbox, next.apiPath, next.body))
      statuses[status] = (statuses[status] ?? 0) + 1
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const wallMs = performance.now() - start
  const diskAfter = diskBytesWritten()
  return {
    eventsPerSecond: events / (wallMs / 1000),
    wallMs,
    diskBytesPerEvent:
      diskBefore === undefined || diskAfter === undefined ? undefined : (diskAfter - diskBefore) / events,
    statuses
  }
}

export async function runStoreIngest(options: StoreIngestOptions): Promise<StoreIngestFigures> {
  const folder = mkdtempSync(path.join(tmpdir(), 'ortto-bench-store-'))
  try {
    const memory = await startSandbox({ port: 0 })
    let memoryOnly: IngestFigures
    try {
      memoryOnly = await ingest(memory, options.events, options.concurrency, 'mem')
    } finally {
      await memory.stop()
    }

    const file = path.join(folder, 'state.json')
    const storeBytes = prefillDataFile(file, options.storeMiB * 1024 * 1024)
    const loadStart = performance.now()
    const sandbox = await startSandbox({ port: 0, dataFile: file })
    const loadMs = performance.now() - loadStart
    let withDataFile: IngestFigures
    try {
      withDataFile = await ingest(sandbox, options.events, options.concurrency, 'file')
    } catch (error) {
      await sandbox.stop().catch(() => undefined)
      throw error
    }
    const stopStart = performance.now()
    await sandbox.stop()
    const stopMs = performance.now() - stopStart
    return { storeBytes, loadMs, memoryOnly, withDataFile, stopMs }
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}
