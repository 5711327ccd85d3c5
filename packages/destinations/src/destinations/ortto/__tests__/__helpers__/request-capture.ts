/**
 * Request snapshots, in a form both jest 27 (Segment's repository) and jest 30 (ours) read: each
 * action's `__tests__/snapshot.json` holds the request Ortto receives for a seeded event with
 * every mapped field and for one with only what is required. Tests compare with `toEqual`; only
 * `npm run snapshots` rewrites the files. No jest globals here, so that script can use it too.
 * Ortto (Audiences) snapshots its action the same way, with a target of its own.
 */
import path from 'path'
import nock from 'nock'
import { createTestIntegration } from '@segment/actions-core'
import type { DestinationDefinition, JSONValue, SegmentEvent } from '@segment/actions-core'
import destination from '../../index'
import { LOCAL_ENDPOINT_ENV } from '../../constants'
import type { OrttoSettings } from '../../types'
import { headerOf, pathOf } from './ortto'
import type { ActionSlug } from './ortto'

export const SNAPSHOT_API_KEY = 'pau-snapshot-key'
const ORIGIN = 'https://segment-action-api-au.ortto.app'
export const SNAPSHOT_TIMESTAMP = '2024-05-06T07:08:09.123Z'
/** The headers this destination decides; the rest belong to the HTTP client and nock's version. */
const SNAPSHOT_HEADERS = ['authorization', 'content-type', 'user-agent']

/** A small seeded generator (mulberry32): the same values on every machine for the same seed. */
export function seededRandom(seed: number) {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1))
  const chars = (alphabet: string, length: number) =>
    Array.from({ length }, () => alphabet[int(0, alphabet.length - 1)]).join('')
  const name = () => chars('abcdefghijklmnopqrstuvwxyz', 1) + chars('abcdefghijklmnopqrstuvwxyz0123456789_', int(2, 11))
  const hex = (length: number) => chars('0123456789abcdef', length)
  const values = [() => chars('abcdefghij KLMNOP-', int(0, 16)), () => int(-1000, 1000), () => int(0, 1) === 1]
  return {
    name,
    uuid: () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`,
    ipv4: () => [int(1, 223), int(0, 255), int(0, 255), int(1, 254)].join('.'),
    postcode: () => chars('0123456789', 4),
    /** An object of `min`–`max` entries with short names and small scalar values. */
    record: (min: number, max: number) => {
      const entries: Record<string, JSONValue> = {}
      for (let i = int(min, max); i > 0; i--) entries[name()] = values[int(0, values.length - 1)]()
      return entries
    }
  }
}

export function seededAddress(random: ReturnType<typeof seededRandom>) {
  return { country: random.name(), state: random.name(), city: random.name(), postal_code: random.postcode() }
}

export interface SnapshotCase {
  name: string
  event: Partial<SegmentEvent>
}

/** Every key a test event would get from createTestEvent, emptied: a case says all it sends. */
export const nothing: Partial<SegmentEvent> = {
  userId: undefined,
  anonymousId: undefined,
  messageId: undefined,
  timestamp: undefined,
  event: undefined,
  properties: undefined,
  traits: undefined,
  context: undefined
}

function contactCases(seed: number): SnapshotCase[] {
  const random = seededRandom(seed)
  const allFields: Partial<SegmentEvent> = {
    ...nothing,
    type: 'identify',
    userId: random.uuid(),
    anonymousId: random.uuid(),
    messageId: random.uuid(),
    timestamp: SNAPSHOT_TIMESTAMP,
    context: { ip: random.ipv4() },
    traits: { ...random.record(1, 6), address: seededAddress(random) }
  }
  const requiredOnly: Partial<SegmentEvent> = { ...nothing, type: 'identify', anonymousId: 'anon-required-only' }
  return [
    { name: 'all fields', event: allFields },
    { name: 'required fields', event: requiredOnly }
  ]
}

function activityCases(seed: number): SnapshotCase[] {
  const random = seededRandom(seed)
  const allFields: Partial<SegmentEvent> = {
    ...nothing,
    type: 'track',
    event: random.name(),
    userId: random.uuid(),
    anonymousId: random.uuid(),
    messageId: random.uuid(),
    timestamp: SNAPSHOT_TIMESTAMP,
    properties: random.record(1, 4),
    context: {
      ip: random.ipv4(),
      app: { namespace: random.name() },
      traits: { ...random.record(1, 4), address: seededAddress(random) }
    }
  }
  const requiredOnly: Partial<SegmentEvent> = {
    ...nothing,
    type: 'track',
    event: 'Signed Up',
    userId: 'user-required-only'
  }
  return [
    { name: 'all fields', event: allFields },
    { name: 'required fields', event: requiredOnly }
  ]
}

export const SEED = 42

/** What one action's snapshots are: its cases, where its requests go and where the file lives. */
export interface SnapshotTarget {
  destination: DestinationDefinition<OrttoSettings>
  slug: string
  method: 'POST' | 'PUT'
  path: string
  cases: SnapshotCase[]
  /** The action folder holding `__tests__/snapshot.json`, relative to src/destinations. */
  folder: string
}

/** An Ortto (Actions) action's target; the two contact keys share their cases and their file. */
export const snapshotTarget = (slug: ActionSlug): SnapshotTarget => ({
  destination,
  slug,
  method: 'POST',
  path: pathOf(slug),
  cases: slug === 'trackActivity' ? activityCases(SEED) : contactCases(SEED),
  folder: `ortto/${slug === 'upsertContactProfile' ? 'upsertContact' : slug}`
})

/**
 * Where a target's snapshots live. `destinationsDir` (src/destinations) defaults to the sources
 * next to this folder (a compiled script passes its own).
 */
export function snapshotFile(target: SnapshotTarget, destinationsDir = path.join(__dirname, '..', '..', '..')): string {
  return path.join(destinationsDir, target.folder, '__tests__', 'snapshot.json')
}

export interface CapturedRequest {
  body: unknown
  headers: Record<string, string | undefined>
}

/**
 * Runs one event through the action with its default mapping and returns the one request Ortto
 * received, with the key in Authorization replaced so it never reaches a snapshot file.
 */
export async function captureRequest(target: SnapshotTarget, event: Partial<SegmentEvent>): Promise<CapturedRequest[]> {
  const captured: CapturedRequest[] = []
  const savedEndpoint = process.env[LOCAL_ENDPOINT_ENV]
  delete process.env[LOCAL_ENDPOINT_ENV]
  const scope = nock(ORIGIN).intercept(target.path, target.method).reply(200, {})
  scope.on('request', (req: { headers: Record<string, unknown> }, _interceptor: unknown, body: string) => {
    const headers: Record<string, string | undefined> = {}
    for (const name of SNAPSHOT_HEADERS) headers[name] = headerOf(req.headers, name)
    if (headers.authorization === `Bearer ${SNAPSHOT_API_KEY}`) headers.authorization = 'Bearer <api key>'
    captured.push({ body: JSON.parse(body) as unknown, headers })
  })
  try {
    await createTestIntegration(target.destination).testAction(target.slug, {
      event,
      settings: { api_key: SNAPSHOT_API_KEY },
      useDefaultMappings: true
    })
  } finally {
    if (savedEndpoint !== undefined) process.env[LOCAL_ENDPOINT_ENV] = savedEndpoint
  }
  return captured
}

/** A target's snapshot file content: each case's one request, by case name. */
export async function captureSnapshots(target: SnapshotTarget): Promise<Record<string, CapturedRequest>> {
  const snapshots: Record<string, CapturedRequest> = {}
  for (const { name, event } of target.cases) {
    const requests = await captureRequest(target, event)
    if (requests.length !== 1) throw new Error(`${target.slug} "${name}": expected one request, got ${requests.length}`)
    snapshots[name] = requests[0]
  }
  return snapshots
}
