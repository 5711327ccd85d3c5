/**
 * Stopping `npm start`: when the sandbox cannot save its data file, delivery is done, so its totals
 * are still reported (by stop() and by `npm start`), and the failure comes after them; a second
 * Ctrl+C stops at once, saying how many deliveries stay in the spool, and the next start delivers them.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as path from 'node:path'
import { LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import { SandboxDataError } from 'ortto-sandbox'
import { PipelineStopError, startPipeline } from '../index'
import type { Pipeline } from '../index'
import { TEST_WRITE_KEY, get, post, tempDir, waitFor } from '../../../test/helpers/pipeline-helpers'
import { spawnTs } from '../../../../../test/helpers/run-ts'
import type { TsProcess } from '../../../../../test/helpers/run-ts'

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
    DEAD_LETTER_FILE: temp.file('dead.ndjson'),
    SPOOL_DIR: temp.file('spool')
  }
  delete env[LOCAL_ENDPOINT_ENV]
  delete env.ORTTO_API_KEY
  child = spawnTs('packages/local-pipeline/src/pipeline/start.ts', [], env)
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

it('a second Ctrl+C stops at once, the deliveries stay in the spool, and the next start delivers them', async () => {
  // An Ortto stand-in that takes requests and never answers: what is sent stays in flight.
  const stalled: http.ServerResponse[] = []
  const standIn = http.createServer((_req, res) => stalled.push(res))
  await new Promise<void>((resolve) => standIn.listen(0, '127.0.0.1', resolve))
  try {
    const deadLetterFile = temp.file('dead.ndjson')
    const spoolDir = temp.file('spool')
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: '0',
      ORTTO_LOCAL_ENDPOINT: `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`,
      FLUSH_INTERVAL_MS: '60000',
      DEAD_LETTER_FILE: deadLetterFile,
      SPOOL_DIR: spoolDir
    }
    delete env.ORTTO_API_KEY
    delete env.SEGMENT_WRITE_KEY
    child = spawnTs('packages/local-pipeline/src/pipeline/start.ts', [], env)
    const url = (await child.waitForLine(/^ {2}Listening on {4}http/)).split(/\s+/)[3]
    const writeKey = (await child.waitForLine(/^ {2}Write key {7}/)).split(/\s+/)[3]
    expect(child.stdout.join('\n')).toContain(
      `Spool           ${spoolDir}  (accepted events, kept until delivered; 0 deliveries taken back at start)`
    )
    const batch = { batch: ['ada', 'grace'].map((userId) => ({ ...identify(userId), type: 'identify' })) }
    expect((await post(url, '/v1/batch', batch, { writeKey })).status).toBe(200)

    child.child.kill('SIGINT')
    await child.waitForLine(/^SIGINT: delivering what it can within 10 s/)
    await waitFor('the last attempt to reach the stand-in', () => stalled.length > 0)
    child.child.kill('SIGINT')
    expect(await child.exited).toEqual({ code: 1, signal: null })
    expect(child.stdout).toContain(
      `SIGINT again: stopping at once. 2 deliveries not delivered yet stay in the spool (${spoolDir}) for the next start; nothing is lost.`
    )
    expect(existsSync(deadLetterFile)).toBe(false)

    // The next start, against the embedded sandbox, takes them back and delivers them.
    const again: NodeJS.ProcessEnv = { ...env, FLUSH_INTERVAL_MS: '20', SEGMENT_WRITE_KEY: TEST_WRITE_KEY }
    delete again.ORTTO_LOCAL_ENDPOINT
    child = spawnTs('packages/local-pipeline/src/pipeline/start.ts', [], again)
    const nextUrl = (await child.waitForLine(/^ {2}Listening on {4}http/)).split(/\s+/)[3]
    expect(child.stdout.join('\n')).toContain('2 deliveries taken back at start')
    await waitFor('the two deliveries', async () => {
      const contacts = (await get(nextUrl, '/sandbox/contacts')).json as { contacts: Array<{ user_id: string }> }
      return contacts.contacts.length === 2 && contacts
    })
    child.child.kill('SIGTERM')
    expect(await child.exited).toEqual({ code: 0, signal: null })
    expect(child.stdout).toContain(
      'Stopped. 0 events received, 2 deliveries taken back from the spool: 2 delivered, 0 failed, 0 matched no mapping, 0 retries.'
    )
    expect(existsSync(deadLetterFile)).toBe(false)
  } finally {
    stalled.forEach((res) => res.destroy())
    await new Promise<void>((resolve) => standIn.close(() => resolve()))
  }
}, 90_000)
