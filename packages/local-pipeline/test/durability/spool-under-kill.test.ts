/**
 * What `npm start` answers 200 to survives it: real processes, `kill -9`, restarts. The Ortto
 * sandbox runs in a process of its own (so it outlives the pipeline's deaths); the pipeline is
 * `src/pipeline/start.ts`, spawned, with SPOOL_DIR and DEAD_LETTER_FILE in a temporary folder.
 * Afterwards each event that was answered 200 is looked for, one by one: a valid one in the
 * sandbox, an invalid one (which Ortto refuses) in the dead-letter file. An activity may have been
 * sent twice (Ortto and the sandbox drop a repeat of message_id and timestamp); none may be missing.
 *
 * Also: a stop ends within STOP_GRACE_MS while a slow Ortto holds 5,000 events, and the next start
 * delivers them. Kill moments and events are seeded, so a failure repeats.
 */
import { existsSync, readFileSync } from 'node:fs'
import { mulberry32 } from 'ortto-sandbox'
import { spawnTs, type TsProcess } from '../../../../test/helpers/run-ts'
import { get as sandboxGet, post as sandboxPost } from '../../../../test/helpers/http-client'
import { TEST_WRITE_KEY, get, post, tempDir, waitFor } from '../helpers/pipeline-helpers'

jest.setTimeout(180_000)

const TIMESTAMP = '2024-06-01T00:00:00.000Z'
/** Every INVALID_EVERY-th event carries a 5,000-character value, which Ortto refuses (400). */
const INVALID_EVERY = 41

let temp: ReturnType<typeof tempDir>
const children: TsProcess[] = []

beforeEach(() => {
  temp = tempDir('durability-')
})

afterEach(() => {
  // Only the processes this test started, by their handles.
  for (const child of children.splice(0)) {
    if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL')
  }
  temp.remove()
})

async function startSandbox(): Promise<string> {
  const sandbox = spawnTs('packages/ortto-sandbox/src/sandbox/cli.ts', ['--port', '0'])
  children.push(sandbox)
  return (await sandbox.waitForLine(/^Ortto sandbox listening on /)).split(' ').at(-1) as string
}

const setFaults = async (sandbox: string, faults: Record<string, number>) =>
  expect((await sandboxPost(sandbox, '/sandbox/faults', faults, { apiKey: null })).status).toBe(200)

async function startPipeline(
  sandbox: string,
  env: NodeJS.ProcessEnv = {}
): Promise<{ url: string; process: TsProcess }> {
  const pipelineEnv: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    ORTTO_LOCAL_ENDPOINT: sandbox,
    SEGMENT_WRITE_KEY: TEST_WRITE_KEY,
    SPOOL_DIR: temp.file('spool'),
    DEAD_LETTER_FILE: temp.file('dead.ndjson'),
    FLUSH_INTERVAL_MS: '50',
    ...env
  }
  delete pipelineEnv.ORTTO_API_KEY
  const child = spawnTs('packages/local-pipeline/src/pipeline/start.ts', [], pipelineEnv)
  children.push(child)
  const url = (await child.waitForLine(/^ {2}Listening on {4}http/, 60_000)).split(/\s+/)[3]
  return { url, process: child }
}

interface Sent {
  messageId: string
  userId: string
  type: 'identify' | 'track'
  valid: boolean
}

function eventAt(i: number): { sent: Sent; body: Record<string, unknown> } {
  const valid = i % INVALID_EVERY !== 0
  const note = valid ? 'ok' : 'x'.repeat(5_000)
  const sent: Sent = { messageId: `m-${i}`, userId: `u-${i}`, type: i % 2 === 0 ? 'identify' : 'track', valid }
  const common = { type: sent.type, userId: sent.userId, messageId: sent.messageId, timestamp: TIMESTAMP }
  const body =
    sent.type === 'identify'
      ? { ...common, traits: { seq: i, note } }
      : { ...common, event: 'Order Completed', properties: { seq: i, note } }
  return { sent, body }
}

/**
 * Sends `calls` calls of `size` events from event `first` on, `concurrency` at once, as a Segment
 * library would; adds the events of each call answered 200 to `acknowledged` as the answer comes.
 */
async function send(
  url: string,
  acknowledged: Sent[],
  { first, calls, size, concurrency }: { first: number; calls: number; size: number; concurrency: number }
): Promise<void> {
  let next = 0
  const worker = async () => {
    for (let call = next++; call < calls; call = next++) {
      const events = Array.from({ length: size }, (_, k) => eventAt(first + call * size + k))
      try {
        const answer = await post(url, '/v1/batch', { batch: events.map((e) => e.body) })
        if (answer.status === 200) acknowledged.push(...events.map((e) => e.sent))
      } catch {
        // No answer (the pipeline was killed): nothing was promised.
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
}

/** Waits until a pipeline holds nothing more, then stops it with SIGTERM; returns its totals line. */
async function drainAndStop(pipeline: { url: string; process: TsProcess }): Promise<string> {
  await waitFor(
    'the pipeline to deliver what it holds',
    async () => ((await get(pipeline.url, '/status')).json as { delivery: { pending: number } }).delivery.pending === 0,
    90_000,
    100
  )
  pipeline.process.child.kill('SIGTERM')
  expect(await pipeline.process.exited).toEqual({ code: 0, signal: null })
  return pipeline.process.stdout.find((line) => line.startsWith('Stopped. ')) ?? ''
}

/** Every acknowledged event, valid ones in the sandbox and invalid ones in the dead-letter file: the ones missing. */
async function missing(sandbox: string, acknowledged: Sent[]): Promise<string[]> {
  const contacts = (await sandboxGet(sandbox, '/sandbox/contacts', { apiKey: null })).json as {
    contacts: Array<{ user_id: string }>
  }
  const activities = (await sandboxGet(sandbox, '/sandbox/activities', { apiKey: null })).json as {
    activities: Array<{ message_id: string }>
  }
  const users = new Set(contacts.contacts.map((c) => c.user_id))
  const activityIds = new Set(activities.activities.map((a) => a.message_id))
  const file = temp.file('dead.ndjson')
  const deadLetters = new Set(
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => (JSON.parse(line) as { event: { messageId: string } }).event.messageId)
      : []
  )
  return acknowledged
    .filter((s) => {
      if (!s.valid) return !deadLetters.has(s.messageId)
      return s.type === 'identify' ? !users.has(s.userId) : !activityIds.has(s.messageId)
    })
    .map((s) => s.messageId)
}

it('loses nothing it answered 200 to, killed with SIGKILL at random moments under load and restarted', async () => {
  const random = mulberry32(20_240_615)
  const sandbox = await startSandbox()
  const acknowledged: Sent[] = []
  const calls = 40
  const size = 25
  for (let round = 0; round < 3; round++) {
    const pipeline = await startPipeline(sandbox)
    const before = acknowledged.length
    const sending = send(pipeline.url, acknowledged, { first: round * calls * size, calls, size, concurrency: 4 })
    // Killed after a seeded number of acknowledged calls and a seeded delay, while calls are in flight.
    const killAfter = (5 + Math.floor(random() * 25)) * size
    await waitFor('calls to be acknowledged', () => acknowledged.length - before >= killAfter, 60_000, 5)
    await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 40)))
    pipeline.process.child.kill('SIGKILL')
    await sending
    expect(await pipeline.process.exited).toEqual({ code: null, signal: 'SIGKILL' })
  }
  const last = await startPipeline(sandbox)
  expect(last.process.stdout.join('\n')).toMatch(
    / {2}Spool {11}\S+ {2}\(accepted events, kept until delivered; [1-9][\d,]* deliver(y|ies) taken back at start\)/
  )
  await drainAndStop(last)
  expect(acknowledged.length).toBeGreaterThanOrEqual(3 * 5 * size)
  expect(await missing(sandbox, acknowledged)).toEqual([])
})

it.each([
  ['failing every request', { failRate: 1 }],
  ['answering every request after 3 s', { slowRate: 1, slowMs: 3_000 }]
])('loses nothing it answered 200 to while Ortto is %s, killed and restarted', async (_what, faults) => {
  const sandbox = await startSandbox()
  await setFaults(sandbox, faults)
  const pipeline = await startPipeline(sandbox)
  const acknowledged: Sent[] = []
  await send(pipeline.url, acknowledged, { first: 0, calls: 20, size: 100, concurrency: 2 })
  expect(acknowledged).toHaveLength(2_000)
  pipeline.process.child.kill('SIGKILL')
  expect(await pipeline.process.exited).toEqual({ code: null, signal: 'SIGKILL' })

  await setFaults(sandbox, {})
  const next = await startPipeline(sandbox)
  const totals = await drainAndStop(next)
  expect(totals).toMatch(/^Stopped\. 0 events received, [\d,]+ deliveries taken back from the spool: /)
  expect(await missing(sandbox, acknowledged)).toEqual([])
})

it('stops within STOP_GRACE_MS while a slow Ortto holds 5,000 events, and the next start delivers them', async () => {
  const sandbox = await startSandbox()
  await setFaults(sandbox, { slowRate: 1, slowMs: 120_000 })
  const pipeline = await startPipeline(sandbox, { STOP_GRACE_MS: '2000', MAX_IN_FLIGHT: '10' })
  const acknowledged: Sent[] = []
  await send(pipeline.url, acknowledged, { first: 0, calls: 10, size: 500, concurrency: 1 })
  expect(acknowledged).toHaveLength(5_000)
  await waitFor(
    'the 5,000 to be in flight',
    async () =>
      ((await sandboxGet(sandbox, '/sandbox/stats', { apiKey: null })).json as { requests: number }).requests >= 10,
    30_000,
    50
  )

  pipeline.process.child.kill('SIGTERM')
  // A generous outer wait: before, the process had not stopped after 240 s.
  let timer: NodeJS.Timeout | undefined
  const exited = await Promise.race([
    pipeline.process.exited,
    new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), 30_000)))
  ])
  clearTimeout(timer)
  expect(exited).toEqual({ code: 0, signal: null })
  expect(pipeline.process.stdout).toContain(
    `Stopped. 5000 events received: 0 delivered, 0 failed, 0 matched no mapping, 0 retries. 5000 deliveries not delivered yet stay in the spool (${temp.file('spool')}) for the next start.`
  )
  expect(existsSync(temp.file('dead.ndjson'))).toBe(false)

  await setFaults(sandbox, {})
  const next = await startPipeline(sandbox)
  expect(next.process.stdout.join('\n')).toContain('5000 deliveries taken back at start')
  const invalid = acknowledged.filter((s) => !s.valid).length
  expect(await drainAndStop(next)).toBe(
    `Stopped. 0 events received, 5000 deliveries taken back from the spool: ${5_000 - invalid} delivered, ${invalid} failed, ` +
      `0 matched no mapping, 0 retries. ${invalid} written to ${temp.file('dead.ndjson')}.`
  )
  expect(await missing(sandbox, acknowledged)).toEqual([])
})
