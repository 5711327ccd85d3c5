/**
 * The engine benchmark's yardstick in a process of its own: `Destination.executeBatch` alone on the
 * bench's events, in Segment's batches of 500 per action with the presets' mappings, against the
 * sandbox at ORTTO_LOCAL_ENDPOINT. Like the pipeline process it is compared with, it stays up from
 * round to round (warm) and nobody collects its garbage for it.
 *
 *   node dist/bench/execute-batch-process.js <events> <seed>
 *
 * Each line `pass <from> <to>` on stdin runs one pass over the events from..to (all when none are
 * given); it answers `done <delivered>`, the results with a 2xx status. The parent reads this
 * process's CPU time around each pass (/proc).
 */
import { createInterface } from 'node:readline'
import { Destination } from '@segment/actions-core'
import { ortto as definition } from 'actions-ortto'
import { ORTTO } from '../src/pipeline/destinations'
import { presetSubscriptions } from '../src/pipeline/subscriptions'
import { actionBatches } from './compare'
import { benchEvent, userCountFor } from './events'

const [count, seed] = process.argv.slice(2).map(Number)
const users = userCountFor(count)
const events = Array.from({ length: count }, (_, i) => benchEvent(seed, i, users))
const destination = new Destination(definition)
const mappings = Object.fromEntries(presetSubscriptions(ORTTO).map((s) => [s.partnerAction, s.mapping]))
/** Segment's batches of each range of events asked for, made once. */
const batchesOf = new Map<string, ReturnType<typeof actionBatches>['upsertContact']>()

async function pass(from: number, to: number): Promise<number> {
  const key = `${from} ${to}`
  let batches = batchesOf.get(key)
  if (!batches) {
    const byAction = actionBatches(events.slice(from, to), 500)
    batches = [...byAction.upsertContact, ...byAction.trackActivity]
    batchesOf.set(key, batches)
  }
  let delivered = 0
  for (const batch of batches) {
    const results = await destination.executeBatch(batch.slug, {
      events: batch.events,
      mapping: mappings[batch.slug],
      settings: { api_key: 'pau-bench-engine-key' }
    })
    for (const result of results) if (result.status >= 200 && result.status < 300) delivered++
    // As the pipeline does: a long-running process lets go of the responses actions-core keeps.
    destination.responses.length = 0
  }
  return delivered
}

const lines = createInterface({ input: process.stdin })
let queue = Promise.resolve()
lines.on('line', (line) => {
  const [command, from = 0, to = count] = line.trim().split(' ')
  if (command !== 'pass') return
  queue = queue.then(async () => {
    console.log(`done ${await pass(Number(from), Number(to))}`)
  })
})
lines.on('close', () => void queue.then(() => process.exit(0)))
console.log('ready')
