/**
 * readBody over real sockets: plain, gzip (also x-gzip) and deflate bodies; the size limit applied
 * to what a body decodes to, with inflating stopped once it is passed (a small bomb must not expand
 * in memory or CPU) while the client still finishes sending; broken data 400, other encodings 415.
 */
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
// The module object itself (not a namespace copy), so jest can spy on what readBody calls.
import zlib from 'node:zlib'
import { randomBytes } from 'node:crypto'
import { readBody } from '../http-io'
import type { BodyResult } from '../http-io'
import { rawRequest } from '../../../../../test/helpers/raw-http'

const LIMIT = 64 * 1024

let server: http.Server
let url: string
/** What readBody resolved with for each request, in order. */
let results: BodyResult[]

beforeAll(async () => {
  server = http.createServer((req, res) => {
    void readBody(req, LIMIT).then((result) => {
      results.push(result)
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(result))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

beforeEach(() => {
  results = []
})

const send = (body: Buffer | string, encoding?: string) =>
  rawRequest(url, '/', {
    method: 'POST',
    headers: encoding === undefined ? {} : { 'content-encoding': encoding },
    body
  })

const JSON_TEXT = JSON.stringify({ batch: [{ type: 'identify', userId: 'ada', traits: { city: 'Sydney ☀' } }] })

describe('bodies it takes', () => {
  it.each([
    ['no Content-Encoding', undefined, (text: string) => Buffer.from(text)],
    ['identity', 'identity', (text: string) => Buffer.from(text)],
    ['gzip', 'gzip', (text: string) => zlib.gzipSync(text)],
    ['x-gzip (gzip by its old name)', 'x-gzip', (text: string) => zlib.gzipSync(text)],
    ['GZIP in capitals', 'GZIP', (text: string) => zlib.gzipSync(text)],
    ['deflate (zlib format)', 'deflate', (text: string) => zlib.deflateSync(text)]
  ])('%s → the text', async (_what, encoding, encode) => {
    const answer = await send(encode(JSON_TEXT), encoding)
    expect(answer.json).toEqual({ kind: 'ok', text: JSON_TEXT, bytes: Buffer.from(JSON_TEXT).toJSON() })
  })

  it('an empty body under gzip is an empty body', async () => {
    const answer = await send('', 'gzip')
    expect(answer.json).toEqual({ kind: 'ok', text: '', bytes: Buffer.alloc(0).toJSON() })
  })

  it('takes a gzip body that decodes to exactly the limit, and refuses one a byte over', async () => {
    const at = await send(zlib.gzipSync(Buffer.alloc(LIMIT, 'a')), 'gzip')
    expect((at.json as { kind: string }).kind).toBe('ok')
    const over = await send(zlib.gzipSync(Buffer.alloc(LIMIT + 1, 'a')), 'gzip')
    expect(over.json).toEqual({ kind: 'too-large', size: `over ${LIMIT} bytes once decompressed` })
  })

  it('says how large a plain body over the limit was', async () => {
    const answer = await send(Buffer.alloc(LIMIT * 3, 'a'))
    expect(answer.json).toEqual({ kind: 'too-large', size: `${LIMIT * 3} bytes` })
  })
})

describe('a compression bomb', () => {
  const original = Object.getOwnPropertyDescriptor(zlib, 'createGunzip') as PropertyDescriptor

  /**
   * Counts what every gunzip readBody creates gives out. Node's own property is read-only (so
   * jest.spyOn cannot assign it) but configurable, so it is redefined and put back after the test.
   */
  function countInflated(): { bytes: number; closed: Promise<void> } {
    let closed: () => void = () => undefined
    const count = { bytes: 0, closed: new Promise<void>((resolve) => (closed = resolve)) }
    const create = zlib.createGunzip.bind(zlib)
    Object.defineProperty(zlib, 'createGunzip', {
      ...original,
      value: (options?: zlib.ZlibOptions) => {
        const stream = create(options)
        stream.on('data', (chunk: Buffer) => (count.bytes += chunk.length))
        stream.once('close', () => closed())
        return stream
      }
    })
    return count
  }

  afterEach(() => {
    Object.defineProperty(zlib, 'createGunzip', original)
  })

  it('10 MB of zeros gzipped to ~10 kB: refused as too large after inflating about the limit, no more', async () => {
    const bomb = zlib.gzipSync(Buffer.alloc(10 * 1024 * 1024))
    expect(bomb.length).toBeLessThan(20 * 1024)
    const inflated = countInflated()

    const answer = await send(bomb, 'gzip')
    expect(answer.json).toEqual({ kind: 'too-large', size: `over ${LIMIT} bytes once decompressed` })
    // The inflater is closed once the outcome is known; one left running would close only after
    // inflating all 10 MB, which the count below would show.
    await inflated.closed
    expect(inflated.bytes).toBeGreaterThan(LIMIT)
    // zlib gives out 16 kB at a time: one piece past the limit at most, not 10 MB.
    expect(inflated.bytes).toBeLessThanOrEqual(LIMIT + 16 * 1024)
  })

  it('reads the rest of a large upload after the limit without inflating it, and answers cleanly', async () => {
    // Random bytes barely compress: the upload is ~4 MB, its first 64 kB already past the limit.
    const upload = zlib.gzipSync(randomBytes(4 * 1024 * 1024))
    const inflated = countInflated()
    const answer = await send(upload, 'gzip')
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ kind: 'too-large', size: `over ${LIMIT} bytes once decompressed` })
    expect(inflated.bytes).toBeLessThanOrEqual(LIMIT + 16 * 1024)
  })
})

describe('bodies it refuses', () => {
  it.each([
    [
      'not gzip at all',
      'gzip',
      Buffer.from('{"userId": "ada"}'),
      /^the body is not valid gzip data \(Content-Encoding: gzip\): /
    ],
    [
      'gzip cut short',
      'gzip',
      zlib.gzipSync(JSON_TEXT).subarray(0, 20),
      /^the body is not valid gzip data .*unexpected end of file/
    ],
    ['gzip sent as deflate', 'deflate', zlib.gzipSync(JSON_TEXT), /^the body is not valid deflate \(zlib\) data /]
  ])('%s → 400 saying so', async (_what, encoding, body, message) => {
    const answer = await send(body, encoding)
    expect(answer.json).toEqual({
      kind: 'refused',
      status: 400,
      code: 'bad-request',
      message: expect.stringMatching(message)
    })
  })

  it.each(['br', 'compress', 'zstd', 'gzip, br', 'gzip, gzip', 'identity, gzip'])(
    'Content-Encoding "%s" → 415 naming what is taken',
    async (encoding) => {
      const answer = await send(zlib.gzipSync(JSON_TEXT), encoding)
      expect(answer.json).toEqual({
        kind: 'refused',
        status: 415,
        code: 'unsupported-media-type',
        message: `Content-Encoding "${encoding}" is not taken: send the body uncompressed, or compressed with gzip or deflate (one encoding)`
      })
    }
  )
})
