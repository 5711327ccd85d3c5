/**
 * The upstream snapshot convention, shared by both actions: a seeded random event and a minimal one
 * go through the action with its default mapping; the request Ortto receives is snapshotted, with
 * the Authorization header replaced so the key never lands in a snapshot file.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import nock from 'nock'
import { createTestIntegration, type SegmentEvent } from '@segment/actions-core'
import destination from '../../src/destinations/ortto'
import { LOCAL_ENDPOINT_ENV } from '../../src/destinations/ortto/constants'
import type { ActionSlug } from './ortto'

const API_KEY = 'pau-snapshot-key'
const ORIGIN = 'https://segment-action-api-au.ortto.app'
export const SNAPSHOT_TIMESTAMP = '2024-05-06T07:08:09.123Z'

/** Generators for seeded events: short names and small scalar values. */
export const fieldName = fc.stringMatching(/^[a-z][a-z0-9_]{2,11}$/)
export const fieldValue = fc.oneof(fc.string({ maxLength: 16 }), fc.integer(), fc.boolean(), fc.constant(null))
export const address = fc.record({
  country: fieldName,
  state: fieldName,
  city: fieldName,
  postal_code: fc.stringMatching(/^\d{4}$/)
})

/** One value from a generator, the same on every machine for the same seed. */
export const seeded = <T>(arbitrary: fc.Arbitrary<T>, seed: number): T => fc.sample(arbitrary, { seed, numRuns: 1 })[0]

interface Captured {
  body: unknown
  headers: Record<string, unknown>
}

async function send(slug: ActionSlug, path: string, event: Partial<SegmentEvent>): Promise<Captured> {
  const captured: Captured[] = []
  const scope = nock(ORIGIN).post(path).reply(200, {})
  scope.on('request', (req: { headers: Record<string, unknown> }, _interceptor: unknown, body: string) => {
    captured.push({ body: JSON.parse(body), headers: { ...req.headers } })
  })
  await createTestIntegration(destination).testAction(slug, {
    event,
    settings: { api_key: API_KEY },
    useDefaultMappings: true
  })
  expect(captured).toHaveLength(1)
  expect(captured[0].headers.authorization).toBe(`Bearer ${API_KEY}`)
  return { body: captured[0].body, headers: { ...captured[0].headers, authorization: 'Bearer <api key>' } }
}

export function describeRequestSnapshots(options: {
  slug: ActionSlug
  path: string
  /** The directory of the calling test file (its __snapshots__ folder holds the file). */
  testDir: string
  seededEvent: (seed: number) => Partial<SegmentEvent>
  requiredOnlyEvent: Partial<SegmentEvent>
  requiredOnlyBody: unknown
}): void {
  const { slug, path, seededEvent, requiredOnlyEvent, requiredOnlyBody } = options
  const snapshotFile = join(options.testDir, '__snapshots__', 'snapshot.test.ts.snap')
  const snapshotted: unknown[] = []
  const expectSnapshot = (value: unknown, hint: string) => {
    snapshotted.push(value)
    expect(value).toMatchSnapshot(hint)
  }

  describe(`Testing snapshot for ${destination.name}'s ${slug} destination action:`, () => {
    const saved = process.env[LOCAL_ENDPOINT_ENV]
    beforeEach(() => {
      delete process.env[LOCAL_ENDPOINT_ENV]
    })
    afterAll(() => {
      if (saved !== undefined) process.env[LOCAL_ENDPOINT_ENV] = saved
    })

    it('builds the same request from the same seeded event', async () => {
      const first = await send(slug, path, seededEvent(42))
      const second = await send(slug, path, seededEvent(42))
      expect(second).toEqual(first)
    })

    it('all fields', async () => {
      const { body, headers } = await send(slug, path, seededEvent(42))
      expectSnapshot(body, 'request body')
      expectSnapshot(headers, 'request headers')
    })

    it('required fields', async () => {
      const { body, headers } = await send(slug, path, requiredOnlyEvent)
      expect(body).toEqual(requiredOnlyBody)
      expectSnapshot(body, 'request body')
      expectSnapshot(headers, 'request headers')
    })

    it('keeps the API key out of every snapshot', () => {
      // The file is written when the test file ends; on a first run, check what will be written.
      const content = existsSync(snapshotFile) ? readFileSync(snapshotFile, 'utf8') : JSON.stringify(snapshotted)
      expect(content).toContain('Bearer <api key>')
      expect(content).not.toContain(API_KEY)
      expect(content).not.toContain('snapshot-key')
    })
  })
}
