/**
 * The pipeline as a web page in the user's browser would meet it: the request guard (Host, Origin,
 * content-type) before any body is read or any route runs.
 */
import { LOCAL_ENDPOINT_ENV } from '../../destinations/ortto/constants'
import type { Sandbox } from '../../sandbox'
import type { PipelineConfig } from '../config'
import { startPipeline } from '../index'
import type { Pipeline } from '../index'
import { call, get, post, waitFor } from '../../../test/helpers/pipeline-helpers'
import { rawRequest } from '../../../test/helpers/raw-http'
import type { RawRequest } from '../../../test/helpers/raw-http'

let running: Array<{ stop: () => Promise<unknown> }> = []

async function start(overrides: Partial<PipelineConfig> = {}): Promise<Pipeline> {
  const pipeline = await startPipeline(
    { port: 0, target: { kind: 'sandbox', port: 0 }, flushIntervalMs: 20, maxAttempts: 2, ...overrides },
    () => undefined
  )
  running.push(pipeline)
  return pipeline
}

afterEach(async () => {
  for (const thing of running.reverse()) await thing.stop()
  running = []
  delete process.env[LOCAL_ENDPOINT_ENV]
})

const sandboxOf = (p: Pipeline) => p.sandbox as Sandbox
const messageOf = (answer: { json: unknown }) => (answer.json as { error: { message: string } }).error.message
const portOf = (p: Pipeline) => new URL(p.url).port

const identifyEvent = { type: 'identify', userId: 'intruder', traits: { email: 'i@example.com' } }
const trackEvent = { type: 'track', userId: 'intruder', event: 'Break In', properties: {} }

describe('the request guard', () => {
  let p: Pipeline
  const raw = (path: string, options: RawRequest = {}) => rawRequest(p.url, path, options)

  beforeEach(async () => {
    p = await start()
  })

  describe('Host: only the address the server bound (DNS rebinding)', () => {
    it.each([
      'attacker.example',
      'attacker.example:PORT',
      'localhost.attacker.example:PORT',
      '127.0.0.1',
      'localhost',
      '127.0.0.1:1',
      '0.0.0.0:PORT',
      '[::1]:PORT',
      '127.0.0.2:PORT'
    ])('Host %s → 421 naming the expected hosts, on open and gated routes alike', async (template) => {
      const host = template.replace('PORT', portOf(p))
      for (const path of ['/manifest', '/status', '/sandbox/contacts']) {
        const answer = await raw(path, { host })
        expect({ path, status: answer.status }).toEqual({ path, status: 421 })
        expect(answer.json).toEqual({
          error: {
            code: 'misdirected-request',
            message: `the Host header is "${host}"; this server answers only requests addressed to 127.0.0.1:${portOf(p)} or localhost:${portOf(p)}`
          }
        })
      }
    })

    it('no Host → 421', async () => {
      const answer = await raw('/status', { host: null })
      expect(answer.status).toBe(421)
      expect(messageOf(answer)).toBe(
        `no Host header; this server answers only requests addressed to 127.0.0.1:${portOf(p)} or localhost:${portOf(p)}`
      )
    })

    it.each(['127.0.0.1:PORT', 'localhost:PORT', 'LOCALHOST:PORT'])('Host %s is served', async (template) => {
      const answer = await raw('/status', { host: template.replace('PORT', portOf(p)) })
      expect(answer.status).toBe(200)
    })
  })

  describe("Origin: only serve's origins; none (curl, Segment libraries) passes", () => {
    it.each(['https://evil.example', 'null', 'http://127.0.0.1:3000', 'https://app.segment.com.evil.example'])(
      'Origin %s → 403, before the write key or the body count',
      async (origin) => {
        for (const [method, path] of [
          ['GET', '/status'],
          ['GET', '/manifest'],
          ['POST', '/trackActivity'],
          ['POST', '/v1/identify'],
          ['POST', '/sandbox/reset'],
          ['OPTIONS', '/trackActivity']
        ]) {
          const answer = await call(p.url, method, path, {
            body: method === 'POST' ? { payload: trackEvent, userId: 'x' } : undefined,
            headers: { origin }
          })
          expect({ path, method, status: answer.status }).toEqual({ path, method, status: 403 })
          expect(messageOf(answer)).toBe(
            `requests from the web page at ${origin} are refused: only https://app.segment.com, https://eu1.app.segment.com, ` +
              'https://app.segment.build, https://eu1.app.segment.build, http://localhost:8000 are allowed ' +
              "(requests without an Origin header, such as curl's, pass)"
          )
          expect(answer.headers.get('access-control-allow-origin')).toBeNull()
        }
        expect(sandboxOf(p).stats().requests).toBe(0)
        expect(p.delivery.status().received).toBe(0)
      }
    )

    it('an allowed origin passes, and reads why a request of its was refused', async () => {
      const origin = 'https://app.segment.com'
      const answer = await call(p.url, 'POST', '/trackActivity', {
        body: JSON.stringify({ payload: trackEvent }),
        headers: { origin, 'content-type': 'text/plain' }
      })
      expect(answer.status).toBe(415)
      expect(answer.headers.get('access-control-allow-origin')).toBe(origin)
    })
  })

  describe('content-type: only application/json on routes that change something', () => {
    it.each([
      ['text/plain', 'text/plain'],
      ['a form', 'application/x-www-form-urlencoded'],
      ['multipart', 'multipart/form-data; boundary=x'],
      ['text/json', 'text/json'],
      ['application/jsonp', 'application/jsonp'],
      ['application/json-seq', 'application/json-seq']
    ])('%s → 415, and nothing is delivered, reset or switched on', async (_what, contentType) => {
      await post(p.url, '/v1/identify', { userId: 'kept' })
      await waitFor('the kept contact', () => p.delivery.status().delivered === 1)
      const before = sandboxOf(p).snapshot()
      for (const [method, path, body] of [
        ['POST', '/v1/identify', { userId: 'form-post' }],
        ['POST', '/v1/batch', { batch: [identifyEvent] }],
        ['POST', '/trackActivity', { payload: trackEvent }],
        ['POST', '/upsertContact/hooks/onMappingSave', { hookInputs: { audience_name: 'X' } }],
        ['POST', '/sandbox/faults', { failRate: 1 }],
        ['POST', '/sandbox/reset', {}],
        ['PUT', '/v1/identify', { userId: 'put' }],
        ['DELETE', '/sandbox/reset', {}]
      ] as const) {
        const answer = await call(p.url, method, path, {
          body: JSON.stringify(body),
          headers: { 'content-type': contentType }
        })
        expect({ method, path, status: answer.status }).toEqual({ method, path, status: 415 })
        expect(messageOf(answer)).toBe(
          `${method} takes a JSON body: send "content-type: application/json" (got "${contentType.split(';')[0]}")`
        )
      }
      expect(sandboxOf(p).snapshot()).toEqual(before)
      expect((await get(p.url, '/sandbox/faults')).json).toEqual({ faults: {} })
      expect(p.delivery.status().received).toBe(1)
    })

    it('no content-type on a POST → 415 saying none was sent', async () => {
      const answer = await raw('/sandbox/reset', { method: 'POST' })
      expect(answer.status).toBe(415)
      expect(messageOf(answer)).toBe('POST takes a JSON body: send "content-type: application/json" (none was sent)')
    })

    it.each(['application/json', 'application/json; charset=utf-8', 'Application/JSON;charset=UTF-8'])(
      '%s is taken',
      async (contentType) => {
        const answer = await post(p.url, '/v1/identify', { userId: 'ok' }, { headers: { 'content-type': contentType } })
        expect(answer.status).toBe(200)
      }
    )
  })

  it('refuses before reading any body: headers alone get the answer', async () => {
    const port = portOf(p)
    const cases: Array<[RawRequest, number]> = [
      [{ host: 'attacker.example', headers: { 'content-type': 'application/json' } }, 421],
      [{ headers: { 'content-type': 'application/json', origin: 'https://evil.example' } }, 403],
      [{ headers: { 'content-type': 'text/plain' } }, 415],
      [{ host: `localhost:${port}`, headers: { 'content-type': 'text/plain' } }, 415]
    ]
    for (const [options, status] of cases) {
      const answer = await raw('/v1/batch', { ...options, method: 'POST', withholdBody: 100_000 })
      expect(answer.status).toBe(status)
    }
  })
})
