/**
 * Stopping `npm start`: when the sandbox cannot save its data file, delivery is done, so its totals
 * are still reported (by stop() and by `npm start`), and the failure comes after them; a second
 * Ctrl+C stops at once, saying how many deliveries it abandons and where they were written.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as path from 'node:path'
import { LOCAL_ENDPOINT_ENV } from '../../destinations/ortto/constants'
import { SandboxDataError } from '../../sandbox'
import { PipelineStopError, startPipeline } from '../index'
import type { Pipeline } from '../index'
import { TEST_WRITE_KEY, get, post, tempDir, waitFor } from '../../../test/helpers/pipeline-helpers'
import { spawnTs } from '../../../test/helpers/run-ts'
import type { TsProcess } from '../../../test/helpers/run-ts'

let temp: ReturnType<typeof tempDir>
let pipeline: Pipeline | undefined
let child: TsProcess | undefined

beforeEach(() => {
  temp = tempDir()
  delete process.env[LOCAL_ENDPOINT_ENV]
})

afterEach(async () => {
  await pipeline?.stop().catch(() => undefined)
  pipeline = undefined
  // Only the child this test started, by its handle.
  if (child && child.child.exitCode === null && child.child.signalCode === null) child.child.kill()
  child = undefined
  temp.remove()
})

const identify = (userId: string) => ({ userId, traits: { plan: 'pro' }, messageId: `m-${userId}` })

it('stop() rejects with PipelineStopError carrying the totals when the sandbox cannot save', async () => {
  const folder = temp.file('data')
  const dataFile = path.join(folder, 'sandbox.json')
  mkdirSync(folder)
  const started = await startPipeline(
    {
      port: 0,
      target: { kind: 'sandbox', port: 0, dataFile },
      writeKey: TEST_WRITE_KEY,
      flushIntervalMs: 20,
      maxAttempts: 1
    },
    () => undefined
  )
  pipeline = started
  // One at a time: the first creates the file, the second is journaled, so stop has something to save.
  for (const [i, userId] of ['ada', 'grace'].entries()) {
    expect((await post(started.url, '/v1/identify', identify(userId))).status).toBe(200)
    await waitFor('delivery', () => started.delivery.status().delivered === i + 1)
  }
  // The folder goes away under the running sandbox, so its last save at stop fails.
  rmSync(folder, { recursive: true, force: true })

  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true)
  let error: unknown
  try {
    error = await started.stop().then(
      () => undefined,
      (e: unknown) => e
    )
  } finally {
    stderr.mockRestore()
  }
  expect(error).toBeInstanceOf(PipelineStopError)
  const failure = error as PipelineStopError
  expect(failure.totals).toMatchObject({ received: 2, delivered: 2, failed: 0, pending: 0 })
  expect(failure.cause).toBeInstanceOf(SandboxDataError)
  expect(failure.message).toMatch(/^Could not save the sandbox data file .*sandbox\.json: /)
  // Stopping still gave the endpoint back, so another pipeline can start in this process.
  expect(process.env[LOCAL_ENDPOINT_ENV]).toBeUndefined()
})

it('npm start prints its totals, then the failure, and exits 1 when the sandbox cannot save at stop', async () => {
  const folder = temp.file('data')
  mkdirSync(folder)
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    SANDBOX_DATA: path.join(folder, 'sandbox.json'),
    FLUSH_INTERVAL_MS: '20',
    SEGMENT_WRITE_KEY: TEST_WRITE_KEY,
    DEAD_LETTER_FILE: temp.file('dead.ndjson')
  }
  delete env[LOCAL_ENDPOINT_ENV]
  delete env.ORTTO_API_KEY
  child = spawnTs('src/pipeline/start.ts', [], env)
  const url = (await child.waitForLine(/^ {2}Listening on {4}http/)).split(/\s+/)[3]
  for (const [i, userId] of ['ada', 'grace'].entries()) {
    expect((await post(url, '/v1/identify', identify(userId))).status).toBe(200)
    await waitFor('delivery', async () => {
      const status = (await get(url, '/status')).json as { delivery: { delivered: number } }
      return status.delivery.delivered === i + 1
    })
  }
  rmSync(folder, { recursive: true, force: true })

  child.child.kill('SIGTERM')
  expect(await child.exited).toEqual({ code: 1, signal: null })
  expect(child.stdout).toContain('Stopped. 2 events received: 2 delivered, 0 failed, 0 matched no mapping, 0 retries.')
  expect(child.stderr.filter((line) => line.startsWith('Stopping failed: '))).toEqual([
    expect.stringMatching(/^Stopping failed: Could not save the sandbox data file .*sandbox\.json: /)
  ])
}, 60_000)

it('a second Ctrl+C stops at once, and every abandoned event is in the dead-letter file', async () => {
  // An Ortto stand-in that takes requests and never answers: what is sent stays in flight.
  const stalled: http.ServerResponse[] = []
  const standIn = http.createServer((_req, res) => stalled.push(res))
  await new Promise<void>((resolve) => standIn.listen(0, '127.0.0.1', resolve))
  try {
    const deadLetterFile = temp.file('dead.ndjson')
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: '0',
      ORTTO_LOCAL_ENDPOINT: `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`,
      FLUSH_INTERVAL_MS: '60000',
      DEAD_LETTER_FILE: deadLetterFile
    }
    delete env.ORTTO_API_KEY
    delete env.SEGMENT_WRITE_KEY
    child = spawnTs('src/pipeline/start.ts', [], env)
    const url = (await child.waitForLine(/^ {2}Listening on {4}http/)).split(/\s+/)[3]
    const writeKey = (await child.waitForLine(/^ {2}Write key {7}/)).split(/\s+/)[3]
    expect(child.stdout.join('\n')).toContain(`Dead letters    ${deadLetterFile}`)
    const batch = { batch: ['ada', 'grace'].map((userId) => ({ ...identify(userId), type: 'identify' })) }
    expect((await post(url, '/v1/batch', batch, { writeKey })).status).toBe(200)

    child.child.kill('SIGINT')
    await child.waitForLine(/^SIGINT: delivering what is held/)
    await waitFor('the last attempt to reach the stand-in', () => stalled.length > 0)
    child.child.kill('SIGINT')
    expect(await child.exited).toEqual({ code: 1, signal: null })
    expect(child.stdout).toContain(
      `SIGINT again: stopping at once. 2 deliveries abandoned, each written to ${deadLetterFile} to send again later.`
    )
    const letters = readFileSync(deadLetterFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: { userId: string }; message: string })
    expect(letters.map((l) => l.event.userId)).toEqual(['ada', 'grace'])
    expect(letters[0].message).toMatch(/a second Ctrl\+C.*it was being sent, so Ortto may have it/)
  } finally {
    stalled.forEach((res) => res.destroy())
    await new Promise<void>((resolve) => standIn.close(() => resolve()))
  }
}, 60_000)
