/**
 * `npm run snapshots`: rewrites each action's `__tests__/snapshot.json` from what the action
 * sends today. The tests only read these files, so a change in what reaches Ortto fails them
 * until someone runs this and reviews the diff.
 */
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import nock from 'nock'
import * as prettier from 'prettier'
import {
  captureSnapshots,
  snapshotFile,
  snapshotTarget
} from '../src/destinations/ortto/__tests__/__helpers__/request-capture'
import { syncAudienceSnapshots } from '../src/destinations/ortto-audiences/__tests__/__helpers__/snapshot-cases'

/** One file per action; upsertContactProfile is checked against upsertContact's. */
const TARGETS = [snapshotTarget('upsertContact'), snapshotTarget('trackActivity'), syncAudienceSnapshots]
const DESTINATIONS_DIR = path.resolve(__dirname, '..', '..', 'src/destinations')

async function main(): Promise<void> {
  nock.disableNetConnect()
  for (const target of TARGETS) {
    const file = snapshotFile(target, DESTINATIONS_DIR)
    const text = JSON.stringify(await captureSnapshots(target), null, 2)
    const options = (await prettier.resolveConfig(file)) ?? {}
    await writeFile(file, await prettier.format(text, { ...options, filepath: file }))
    console.log(`Wrote ${path.relative(process.cwd(), file)}`)
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
