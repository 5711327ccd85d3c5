import { existsSync, readFileSync } from 'fs'
import { join } from 'path'
import fc from 'fast-check'
import nock from 'nock'
import { createTestIntegration, type SegmentEvent } from '@segment/actions-core'
import destination from '../../index'
import { LOCAL_ENDPOINT_ENV } from '../../constants'

const actionSlug = 'upsertContact'
const API_KEY = 'pau-snapshot-key'
const ORIGIN = 'https://segment-action-api-au.ortto.app'
const PATH = '/v1/identify'
const TIMESTAMP = '2024-05-06T07:08:09.123Z'
const SNAPSHOT_FILE = join(__dirname, '__snapshots__', 'snapshot.test.ts.snap')

const name = fc.stringMatching(/^[a-z][a-z0-9_]{2,11}$/)
const value = fc.oneof(fc.string({ maxLength: 16 }), fc.integer(), fc.boolean(), fc.constant(null))

/** An identify event with every mapped field filled from a seeded generator: the same on every machine. */
function seededEvent(seed: number): Partial<SegmentEvent> {
  const arbitrary = fc.record({
    userId: fc.uuid(),
    anonymousId: fc.uuid(),
    messageId: fc.uuid(),
    ip: fc.ipV4(),
    traits: fc.dictionary(name, value, { minKeys: 1, maxKeys: 6 }),
    address: fc.record({ country: name, state: name, city: name, postal_code: fc.stringMatching(/^\d{4}$/) })
  })
  const generated = fc.sample(arbitrary, { seed, numRuns: 1 })[0]
  return {
    type: 'identify',
    event: undefined,
    userId: generated.userId,
    anonymousId: generated.anonymousId,
    messageId: generated.messageId,
    timestamp: TIMESTAMP,
    properties: undefined,
    traits: { ...generated.traits, address: generated.address },
    context: { ip: generated.ip }
  }
}

/** Only what the action requires: one identifier. */
const requiredOnlyEvent: Partial<SegmentEvent> = {
  type: 'identify',
  event: undefined,
  userId: undefined,
  anonymousId: 'anon-required-only',
  messageId: undefined,
  timestamp: undefined,
  properties: undefined,
  traits: undefined,
  context: undefined
}

interface Captured {
  body: unknown
  headers: Record<string, unknown>
}

const snapshotted: unknown[] = []

/** Runs the event through the action with its default mapping and returns what reached Ortto. */
async function send(event: Partial<SegmentEvent>): Promise<Captured> {
  const captured: Captured[] = []
  const scope = nock(ORIGIN).post(PATH).reply(200, {})
  scope.on('request', (req: { headers: Record<string, unknown> }, _interceptor: unknown, body: string) => {
    captured.push({ body: JSON.parse(body), headers: { ...req.headers } })
  })
  await createTestIntegration(destination).testAction(actionSlug, {
    event,
    settings: { api_key: API_KEY },
    useDefaultMappings: true
  })
  expect(captured).toHaveLength(1)
  expect(captured[0].headers.authorization).toBe(`Bearer ${API_KEY}`)
  return { body: captured[0].body, headers: { ...captured[0].headers, authorization: 'Bearer <api key>' } }
}

function expectSnapshot(value: unknown, hint: string): void {
  snapshotted.push(value)
  expect(value).toMatchSnapshot(hint)
}

describe(`Testing snapshot for ${destination.name}'s ${actionSlug} destination action:`, () => {
  const saved = process.env[LOCAL_ENDPOINT_ENV]

  beforeEach(() => {
    delete process.env[LOCAL_ENDPOINT_ENV]
  })

  afterAll(() => {
    if (saved !== undefined) process.env[LOCAL_ENDPOINT_ENV] = saved
  })

  it('builds the same request from the same seeded event', async () => {
    const first = await send(seededEvent(42))
    const second = await send(seededEvent(42))
    expect(second).toEqual(first)
  })

  it('all fields', async () => {
    const { body, headers } = await send(seededEvent(42))
    expectSnapshot(body, 'request body')
    expectSnapshot(headers, 'request headers')
  })

  it('required fields', async () => {
    const { body, headers } = await send(requiredOnlyEvent)
    expect(body).toEqual([{ anonymous_id: 'anon-required-only' }])
    expectSnapshot(body, 'request body')
    expectSnapshot(headers, 'request headers')
  })

  it('keeps the API key out of every snapshot', () => {
    // The file is written when this test file ends; on the very first run, check what will be written.
    const content = existsSync(SNAPSHOT_FILE) ? readFileSync(SNAPSHOT_FILE, 'utf8') : JSON.stringify(snapshotted)
    expect(content).toContain('Bearer <api key>')
    expect(content).not.toContain(API_KEY)
    expect(content).not.toContain('snapshot-key')
  })
})
