/**
 * The standalone sandbox behind the shared request guard: only its own address as Host, no browser
 * origin at all, JSON only on what changes state, all before any body is read. Its /v1 routes
 * take gzip and deflate bodies, with the size limit applied after decompression.
 */
import * as zlib from 'node:zlib'
import { startSandbox } from '../index'
import type { Sandbox } from '../index'
import { TEST_API_KEY, getJson, postJson } from '../../../../../test/helpers/http-client'
import { rawRequest } from '../../../../../test/helpers/raw-http'
import type { RawRequest } from '../../../../../test/helpers/raw-http'

let sandbox: Sandbox

beforeEach(async () => {
  sandbox = await startSandbox({ port: 0 })
  await postJson(sandbox.url, '/v1/identify', [{ user_id: 'kept', traits: { plan: 'pro' } }])
})

afterEach(async () => {
  await sandbox.stop()
})

const port = () => String(sandbox.port)
const answerMessage = (answer: { json: unknown }) => (answer.json as { error: { message: string } }).error.message
const contactIds = () => sandbox.snapshot().contacts.map((contact) => contact.user_id)

const raw = (path: string, options: RawRequest = {}) =>
  rawRequest(sandbox.url, path, {
    ...options,
    headers: { authorization: `Bearer ${TEST_API_KEY}`, ...options.headers }
  })

describe('Host', () => {
  it.each(['attacker.example', 'attacker.example:PORT', '127.0.0.1', '127.0.0.1:1', 'localhost.attacker.example:PORT'])(
    'Host %s → 421 naming the expected hosts',
    async (template) => {
      const host = template.replace('PORT', port())
      for (const path of ['/sandbox/contacts', '/sandbox/stats', '/v1/me']) {
        const answer = await raw(path, { host })
        expect({ path, status: answer.status }).toEqual({ path, status: 421 })
        expect(answer.json).toEqual({
          error: {
            code: 'misdirected-request',
            message: `the Host header is "${host}"; this server answers only requests addressed to 127.0.0.1:${port()} or localhost:${port()}`
          }
        })
        expect(answer.text).not.toContain('kept')
      }
    }
  )

  it('no Host → 421', async () => {
    const answer = await raw('/sandbox/contacts', { host: null })
    expect(answer.status).toBe(421)
  })

  it.each(['127.0.0.1:PORT', 'localhost:PORT'])('Host %s is served', async (template) => {
    const answer = await raw('/sandbox/contacts', { host: template.replace('PORT', port()) })
    expect(answer.status).toBe(200)
  })

  it('a POST with a foreign Host changes nothing, and is answered before its body', async () => {
    const refused = await raw('/sandbox/reset', {
      method: 'POST',
      host: 'attacker.example',
      headers: { 'content-type': 'application/json' },
      withholdBody: 10_000
    })
    expect(refused.status).toBe(421)
    expect(contactIds()).toEqual(['kept'])
  })
})

describe('Origin: the standalone sandbox allows none', () => {
  it.each(['https://evil.example', 'https://app.segment.com', 'http://localhost:8000', 'null'])(
    'Origin %s → 403 on every route',
    async (origin) => {
      for (const [method, path] of [
        ['GET', '/sandbox/contacts'],
        ['POST', '/sandbox/reset'],
        ['POST', '/sandbox/faults'],
        ['POST', '/v1/identify'],
        ['OPTIONS', '/v1/identify']
      ]) {
        const answer = await raw(path, {
          method,
          headers: { origin, 'content-type': 'application/json' },
          body: method === 'POST' ? '{}' : undefined
        })
        expect({ method, path, status: answer.status }).toEqual({ method, path, status: 403 })
        expect(answerMessage(answer)).toBe(
          `requests from the web page at ${origin} are refused: none is allowed (requests without an Origin header, such as curl's, pass)`
        )
      }
      expect(contactIds()).toEqual(['kept'])
      expect(sandbox.stats().requests).toBe(1)
    }
  )
})

describe('content-type', () => {
  it.each(['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data'])(
    '%s on what changes state → 415; nothing is reset, switched on or stored',
    async (contentType) => {
      for (const [path, body] of [
        ['/sandbox/reset', ''],
        ['/sandbox/faults', '{"failRate": 1}'],
        ['/v1/identify', '[{"user_id": "form-post"}]'],
        ['/v1/audiences/create', '{"name": "Intruders"}']
      ]) {
        const answer = await raw(path, { method: 'POST', headers: { 'content-type': contentType }, body })
        expect({ path, status: answer.status }).toEqual({ path, status: 415 })
        expect(answerMessage(answer)).toBe(
          `POST takes a JSON body: send "content-type: application/json" (got "${contentType}")`
        )
      }
      expect(contactIds()).toEqual(['kept'])
      expect(sandbox.snapshot().audiences).toEqual([])
      expect((await getJson(sandbox.url, '/sandbox/faults')).json).toEqual({ faults: {} })
    }
  )

  it('no content-type → 415; application/json (with a charset) is taken', async () => {
    const none = await raw('/sandbox/reset', { method: 'POST' })
    expect(none.status).toBe(415)
    expect(contactIds()).toEqual(['kept'])
    const json = await raw('/sandbox/reset', {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' }
    })
    expect(json.status).toBe(200)
    expect(contactIds()).toEqual([])
  })
})

describe('compressed bodies on /v1', () => {
  const sendEncoded = (body: Buffer, encoding: string) =>
    raw('/v1/identify', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': encoding },
      body
    })
  const contacts = JSON.stringify([{ user_id: 'zipped', traits: { plan: 'gzip' } }])

  it.each([
    ['gzip', zlib.gzipSync],
    ['deflate', zlib.deflateSync]
  ])('takes a %s body', async (encoding, encode) => {
    const answer = await sendEncoded(encode(contacts), encoding)
    expect(answer.status).toBe(200)
    expect(contactIds()).toEqual(['kept', 'zipped'])
  })

  it('refuses a gzip bomb with 413 once it decodes past the limit', async () => {
    const answer = await sendEncoded(zlib.gzipSync(Buffer.alloc(10 * 1024 * 1024)), 'gzip')
    expect(answer.status).toBe(413)
    expect(answerMessage(answer)).toBe(
      'the body is over 2000000 bytes once decompressed; a request may be at most 2000000 bytes'
    )
  })

  it('answers 400 for corrupt gzip and 415 for br', async () => {
    const corrupt = await sendEncoded(Buffer.from(contacts), 'gzip')
    expect(corrupt.status).toBe(400)
    expect(answerMessage(corrupt)).toMatch(/^the body is not valid gzip data/)
    const brotli = await sendEncoded(zlib.brotliCompressSync(contacts), 'br')
    expect(brotli.status).toBe(415)
    expect(contactIds()).toEqual(['kept'])
  })

  it('answers 415 for a br body on POST /sandbox/faults too', async () => {
    const answer = await raw('/sandbox/faults', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
      body: zlib.brotliCompressSync('{"failRate": 1}')
    })
    expect(answer.status).toBe(415)
    expect((await getJson(sandbox.url, '/sandbox/faults')).json).toEqual({ faults: {} })
  })
})
