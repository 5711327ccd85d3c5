/**
 * A real `npm run replay` process killed with SIGKILL at a seeded random moment, then run again:
 * across both runs every event is acknowledged, and nothing the checkpoint says was acknowledged
 * is sent again. The stand-in pipeline records every message id it acknowledged, so the counts are
 * exact. Each test kills only the process it started, by that process's pid.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { mulberry32 } from 'ortto-sandbox'
import { tempDir } from '../../../test/helpers/pipeline-helpers'
import { replayStandIn, takenAnswer, type ReplayStandIn } from '../../../test/helpers/replay-stand-in'
import { spawnTs, type TsProcess } from '../../../../../test/helpers/run-ts'
import { checkpointPathFor, readCheckpoint } from '../checkpoint'

const WRITE_KEY = 'kill-test-key'
/** Change it to explore other moments; a failure names the seed. */
const SEED = 0x15eed

let folder: ReturnType<typeof tempDir>
let standIn: ReplayStandIn | undefined
const started: TsProcess[] = []

beforeEach(() => {
  folder = tempDir('replay-kill-')
})
afterEach(async () => {
  // Only the processes this test started, by their own pids, and only if still running.
  for (const { child } of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  await standIn?.close()
  standIn = undefined
  folder.remove()
})

/** A file of `count` events, line n (1-based) carrying message id m-n. */
function eventsFile(count: number): string {
  const file = folder.file('archive.ndjson')
  const lines = Array.from({ length: count }, (_, i) =>
    JSON.stringify({ type: 'track', userId: `user-${i % 97}`, event: 'Viewed', messageId: `m-${i + 1}` })
  )
  writeFileSync(file, `${lines.join('\n')}\n`)
  return file
}

const replayProcess = (file: string, args: string[]) => {
  const process_ = spawnTs('packages/local-pipeline/src/replay/cli.ts', [...args, file], {
    ...process.env,
    SEGMENT_WRITE_KEY: WRITE_KEY,
    PIPELINE_URL: standIn!.url
  })
  started.push(process_)
  return process_
}

const countsOf = (ids: string[]) => {
  const counts = new Map<string, number>()
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1)
  return counts
}

/** The lines (1-based) a checkpoint says were acknowledged. */
async function coveredBy(file: string): Promise<Set<number>> {
  const state = await readCheckpoint(checkpointPathFor(file))
  const covered = new Set<number>()
  if (!state) return covered
  for (let line = 1; line < state.acknowledged.line; line++) covered.add(line)
  for (const { from, to } of state.ahead) for (let line = from.line; line < to.line; line++) covered.add(line)
  return covered
}

it(`one batch in flight, killed while the pipeline holds a seeded batch (seed ${SEED}): every event acknowledged exactly once`, async () => {
  const random = mulberry32(SEED)
  const events = 3_000
  const file = eventsFile(events)
  const killAt = 2 + Math.floor(random() * 26)
  const toKill: { replay?: TsProcess } = {}
  let holding = true
  standIn = await replayStandIn(WRITE_KEY, (request) => {
    if (holding && request.number === killAt) {
      toKill.replay!.child.kill('SIGKILL')
      return 'hold'
    }
    return takenAnswer(request.events.length)
  })
  const first = (toKill.replay = replayProcess(file, ['--in-flight', '1', '--batch-events', '100']))
  expect(await first.exited).toEqual({ code: null, signal: 'SIGKILL' })
  expect(standIn.acknowledged).toHaveLength((killAt - 1) * 100)
  holding = false

  const second = replayProcess(file, ['--in-flight', '1', '--batch-events', '100'])
  expect((await second.exited).code).toBe(0)
  const counts = countsOf(standIn.acknowledged)
  expect(counts.size).toBe(events)
  expect([...counts.values()].every((count) => count === 1)).toBe(true)
  expect(second.stdout.join('\n')).toContain(
    `${file}: 3,000 events sent (${(events - (killAt - 1) * 100).toLocaleString('en-US')} in this run), 0 lines refused`
  )
}, 60_000)

it(`three batches in flight, killed as a seeded batch arrives (seed ${SEED}): the rerun sends exactly what the checkpoint lacks`, async () => {
  const random = mulberry32(SEED + 1)
  const events = 5_000
  const batchEvents = 50
  const inFlight = 3
  const file = eventsFile(events)
  const killAt = 10 + Math.floor(random() * 70)
  const toKill: { replay?: TsProcess } = {}
  let killing = true
  // Answers come back after a seeded 0–4 ms, so batches are acknowledged out of order; the seeded
  // request is never answered: the replay is killed as it arrives, whatever else it is doing then.
  standIn = await replayStandIn(WRITE_KEY, async (request) => {
    if (killing && request.number === killAt) {
      toKill.replay!.child.kill('SIGKILL')
      return 'hold'
    }
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 5)))
    return takenAnswer(request.events.length)
  })
  const args = ['--in-flight', String(inFlight), '--batch-events', String(batchEvents)]
  const first = (toKill.replay = replayProcess(file, args))
  expect((await first.exited).signal).toBe('SIGKILL')
  const ackedInFirst = new Set(standIn.acknowledged)
  const covered = await coveredBy(file)
  const sentBefore = standIn.requests.length
  killing = false

  const second = replayProcess(file, args)
  expect((await second.exited).code).toBe(0)
  const lineOf = (id: string) => Number(id.slice(2))
  // The checkpoint claims nothing the pipeline did not acknowledge…
  for (const line of covered) expect(ackedInFirst.has(`m-${line}`)).toBe(true)
  // …and the rerun sends exactly the lines it does not cover, each once.
  const sentAgain = standIn.requests.slice(sentBefore).flatMap((r) => r.events.map((e) => lineOf(String(e.messageId))))
  const notCovered = Array.from({ length: events }, (_, i) => i + 1).filter((line) => !covered.has(line))
  expect([...sentAgain].sort((a, b) => a - b)).toEqual(notCovered)
  // Nothing is missing; a repeat is only an answer the kill kept from being recorded (at most the batches in flight).
  const counts = countsOf(standIn.acknowledged)
  expect(counts.size).toBe(events)
  const repeats = [...counts].filter(([, count]) => count > 1).map(([id]) => lineOf(id))
  for (const line of repeats) expect(covered.has(line)).toBe(false)
  expect(repeats.length).toBeLessThanOrEqual(inFlight * batchEvents)
  // The checkpoint was never left half-written.
  expect(() => JSON.parse(readFileSync(checkpointPathFor(file), 'utf8')) as unknown).not.toThrow()
}, 60_000)
