/** Shared helpers for the local pipeline's tests: HTTP calls, polling, temp files, a recording proxy. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import * as path from 'node:path'
import type { Sandbox } from 'ortto-sandbox'
import * as client from '../../../../test/helpers/http-client'
import type { Answer, CallOptions } from '../../../../test/helpers/http-client'

export { basicAuth, type Answer, type CallOptions } from '../../../../test/helpers/http-client'
export { waitFor } from '../../../../test/helpers/wait-for'

/** The write key pipeline tests start with (`writeKey: TEST_WRITE_KEY`); the calls below send it by default. */
export const TEST_WRITE_KEY = 'test-write-key'

/**
 * Calls to a pipeline: with TEST_WRITE_KEY as the basic-auth user unless `writeKey` says otherwise
 * (`null` sends no Authorization header at all).
 */
export const call = (baseUrl: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> =>
  client.call(baseUrl, method, path, { apiKey: null, writeKey: TEST_WRITE_KEY, ...options })

export const post = (baseUrl: string, path: string, body: unknown, options: Omit<CallOptions, 'body'> = {}) =>
  call(baseUrl, 'POST', path, { ...options, body })

export const get = (baseUrl: string, path: string, options: Omit<CallOptions, 'body'> = {}) =>
  call(baseUrl, 'GET', path, options)

/** A temporary folder, removed by the returned clean-up. */
export function tempDir(prefix = 'pipeline-test-'): {
  dir: string
  file: (name: string) => string
  remove: () => void
} {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  return {
    dir,
    file: (name) => path.join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true })
  }
}

export function writeJson(file: string, value: unknown): string {
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2))
  return file
}

/** One request the recording proxy saw: when it arrived, when its answer finished, and the status. */
interface RecordedRequest {
  method: string
  path: string
  arrivedAt: number
  finishedAt?: number
  status?: number
}

export interface RecordingProxy {
  url: string
  requests: RecordedRequest[]
  close(): Promise<void>
}

/**
 * A loopback server in front of a sandbox's router (`sandbox.handle`) that records the arrival
 * time and the answer of every request, so tests can check when requests were sent. Times are
 * read from `now`: a test that drives the pipeline with a ManualClock passes the clock's.
 */
export async function recordingProxy(sandbox: Sandbox, now: () => number = Date.now): Promise<RecordingProxy> {
  const requests: RecordedRequest[] = []
  const server = http.createServer((req, res) => {
    const entry: RecordedRequest = {
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0],
      arrivedAt: now()
    }
    if (entry.path.startsWith('/v1/')) requests.push(entry)
    res.on('finish', () => {
      entry.finishedAt = now()
      entry.status = res.statusCode
    })
    sandbox.handle(req, res)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}

/** The four kinds of Segment event body the pipeline takes, with fixed ids for exact comparisons. */
export const identifyBody = (
  userId: string,
  traits: Record<string, unknown> = {},
  extra: Record<string, unknown> = {}
) => ({
  userId,
  traits,
  messageId: `msg-identify-${userId}`,
  timestamp: '2024-03-01T10:00:00.000Z',
  ...extra
})

export const trackBody = (
  userId: string,
  event: string,
  properties: Record<string, unknown> = {},
  extra: Record<string, unknown> = {}
) => ({
  userId,
  event,
  properties,
  messageId: `msg-track-${userId}-${event}`,
  timestamp: '2024-03-01T10:00:00.000Z',
  ...extra
})
