/**
 * The upstream snapshot convention (a seeded event with every field, one with only what is
 * required), checked against the action's `__tests__/snapshot.json`. A missing or stale file
 * fails the test; `npm run snapshots` writes it.
 */
import fs from 'fs'
import { SNAPSHOT_API_KEY, captureRequest, snapshotFile } from './request-capture'
import type { CapturedRequest, SnapshotTarget } from './request-capture'

const UPDATE_HINT = 'run `npm run snapshots` in the actions-ortto repository and review the change'

function readSnapshots(file: string): Record<string, CapturedRequest> {
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: ${UPDATE_HINT}`)
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, CapturedRequest>
}

export function describeRequestSnapshots(target: SnapshotTarget): void {
  describe(`Testing snapshot for ${target.destination.name}'s ${target.slug} destination action:`, () => {
    const file = snapshotFile(target)

    it('builds the same request from the same seeded event', async () => {
      const [first] = target.cases
      expect(await captureRequest(target, first.event)).toEqual(await captureRequest(target, first.event))
    })

    it.each(target.cases.map((c) => [c.name, c.event] as const))('%s', async (name, event) => {
      const snapshots = readSnapshots(file)
      expect(Object.keys(snapshots)).toContain(name)
      expect(await captureRequest(target, event)).toEqual([snapshots[name]])
    })

    it('keeps the API key out of the snapshot file', () => {
      const content = fs.readFileSync(file, 'utf8')
      expect(content).toContain('Bearer <api key>')
      expect(content).not.toContain(SNAPSHOT_API_KEY)
      expect(content).not.toContain('snapshot-key')
    })
  })
}
