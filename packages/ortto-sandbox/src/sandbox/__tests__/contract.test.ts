/**
 * The sandbox is the oracle the destination is tested against, so it reads the contract
 * (docs/ortto-api.md) on its own: these tests state the contract's numbers and examples as
 * literals, never through either side's constants. The second half pins where the destination
 * must agree with the sandbox, so a wrong constant on one side fails here instead of passing on both.
 */
import * as destination from 'actions-ortto'
import { AUDIENCE_MODES, LOCAL_ENDPOINT_ENV, ORTTO_ENDPOINTS, ORTTO_NAMESPACE, isOrttoApiKey } from '../contract'
import { startSandbox, type Sandbox } from '../index'
import { callSandbox, getJson } from '../../../../../test/helpers/http-client'

let sandbox: Sandbox
let audienceId: string

beforeEach(async () => {
  sandbox = await startSandbox()
  const created = await callSandbox(sandbox.url, 'POST', '/v1/audiences/create', { body: { name: 'VIP' } })
  audienceId = (created.json as { id: string }).id
})

afterEach(async () => {
  await sandbox.stop()
})

/** The contract's key examples and what its rule makes of them. */
const WELL_FORMED_KEYS = ['pau-abc123', 'sus-x', 'peu-Secret_With.Punctuation~!', 'pzz-0']
const MALFORMED_KEYS: Array<[string, unknown]> = [
  ['an environment other than p or s', 'xau-secret'],
  ['an upper-case environment', 'Pau-secret'],
  ['an upper-case region', 'pAU-secret'],
  ['a slash in the region (a host would be built from it)', 'pa/-x'],
  ['a dot in the region', 'p.u-x'],
  ['a colon in the region', 'pa:-x'],
  ['an @ in the region', 'p@u-x'],
  ['a % in the region', 'p%u-x'],
  ['a space in the region', 'p u-x'],
  ['a non-ASCII letter in the region', 'pé-x'],
  ['a one-letter region', 'pa-secret'],
  ['a three-letter region', 'paus-secret'],
  ['no hyphen', 'pau_secret'],
  ['an empty secret', 'pau-'],
  ['a space in the secret', 'pau-sec ret'],
  ['a line break after the secret', 'pau-secret\n'],
  ['a space before the key', ' pau-secret'],
  ['nothing at all', ''],
  ['not a string', 42]
]

type BatchPath = '/v1/identify' | '/v1/track' | '/v1/audiences/members'

const BATCH_ENDPOINTS: Array<[BatchPath, string]> = [
  ['/v1/identify', 'POST'],
  ['/v1/track', 'POST'],
  ['/v1/audiences/members', 'PUT']
]

/** A valid object for the endpoint, about 4 kB when padded (500 of them stay under 2,000,000 bytes). */
function objectFor(path: BatchPath, i: number, padding = 0): Record<string, unknown> {
  const object: Record<string, unknown> = { user_id: `u${i}` }
  if (padding > 0) object.traits = { note: 'x'.repeat(padding) }
  if (path === '/v1/track') object.event = 'Order Completed'
  if (path === '/v1/audiences/members') object.audience = { mode: 'add', id: audienceId }
  return object
}

const send = (path: BatchPath, method: string, body: unknown) => callSandbox(sandbox.url, method, path, { body })

/** A JSON array of `count` objects for the endpoint, padded with whitespace to exactly `bytes` bytes. */
function bodyOf(path: BatchPath, count: number, bytes: number): string {
  const json = JSON.stringify(Array.from({ length: count }, (_, i) => objectFor(path, i, 3_900)))
  expect(Buffer.byteLength(json)).toBeLessThan(bytes)
  return json + ' '.repeat(bytes - Buffer.byteLength(json))
}

describe('the contract, as the sandbox reads it', () => {
  it.each(WELL_FORMED_KEYS)('takes the well-formed key %j', async (key) => {
    expect(isOrttoApiKey(key)).toBe(true)
    expect((await getJson(sandbox.url, '/v1/me', { apiKey: key })).status).toBe(200)
  })

  it.each(MALFORMED_KEYS)('refuses a key with %s', (_why, key) => {
    expect(isOrttoApiKey(key)).toBe(false)
  })

  // Those a header can carry as they are (fetch refuses line breaks and non-ASCII; HTTP trims outer spaces).
  it.each(
    MALFORMED_KEYS.filter(([, key]) => typeof key === 'string' && /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(key))
  )('answers 401 over HTTP for a key with %s, without echoing it', async (_why, key) => {
    const answer = await getJson(sandbox.url, '/v1/me', { apiKey: key as string })
    expect(answer.status).toBe(401)
    expect(answer.json).toEqual({
      error: { code: 'unauthorized', message: 'the API key is not a well-formed Ortto key' }
    })
  })

  it.each(BATCH_ENDPOINTS)('%s takes 500 objects and refuses 501 whole with 413', async (path, method) => {
    const fits = await send(
      path,
      method,
      Array.from({ length: 500 }, (_, i) => objectFor(path, i))
    )
    expect({ status: fits.status, json: fits.json }).toEqual({ status: 200, json: {} })
    await sandbox.reset()
    const tooMany = await send(
      path,
      method,
      Array.from({ length: 501 }, (_, i) => objectFor(path, i))
    )
    expect(tooMany.status).toBe(413)
    expect(tooMany.json).toEqual({
      error: { code: 'too-large', message: 'the body has 501 objects; a request may carry at most 500' }
    })
    expect(sandbox.snapshot().contacts).toEqual([])
  })

  it.each(BATCH_ENDPOINTS)(
    '%s takes a body of exactly 2,000,000 bytes and refuses 2,000,001 with 413',
    async (path, method) => {
      const atLimit = bodyOf(path, 500, 2_000_000)
      const fits = await send(path, method, atLimit)
      expect({ status: fits.status, json: fits.json }).toEqual({ status: 200, json: {} })
      expect(sandbox.snapshot().contacts).toHaveLength(500)

      await sandbox.reset()
      const tooLarge = await send(path, method, `${atLimit} `)
      expect(tooLarge.status).toBe(413)
      expect(tooLarge.json).toEqual({
        error: { code: 'too-large', message: 'the body is 2000001 bytes; a request may be at most 2000000 bytes' }
      })
      expect(sandbox.snapshot().contacts).toEqual([])
      // The 413 was a clean answer, not a reset: the sandbox still serves.
      expect((await getJson(sandbox.url, '/v1/me')).status).toBe(200)
    }
  )
})

describe('where the destination must agree with the sandbox', () => {
  it('names the same environment variable for a local stand-in', () => {
    expect(LOCAL_ENDPOINT_ENV).toBe('ORTTO_LOCAL_ENDPOINT')
    expect(destination.LOCAL_ENDPOINT_ENV).toBe(LOCAL_ENDPOINT_ENV)
  })

  it('calls only paths the sandbox serves', () => {
    const served = Object.values(ORTTO_ENDPOINTS).map((endpoint) => endpoint.path)
    for (const path of Object.values(destination.API_PATHS)) expect(served).toContain(path)
  })

  it('sends the audience modes and recognises the namespace the sandbox reads', () => {
    expect([...Object.values(destination.AUDIENCE_UPDATE_MODES)].sort()).toEqual([...AUDIENCE_MODES].sort())
    expect(destination.ORTTO_NAMESPACE).toBe(ORTTO_NAMESPACE)
  })

  it('judges every contract example key as the sandbox does', () => {
    const verdicts = (check: (key: unknown) => boolean) =>
      [...WELL_FORMED_KEYS, ...MALFORMED_KEYS.map(([, key]) => key)].map((key) => [key, check(key)])
    expect(verdicts(destination.isWellFormedApiKey)).toEqual(verdicts(isOrttoApiKey))
  })

  it('plans requests within what the sandbox takes: its limits fit, one more does not', async () => {
    const { MAX_OBJECTS_PER_REQUEST, MAX_REQUEST_BYTES } = destination
    const objects = (count: number) => Array.from({ length: count }, (_, i) => objectFor('/v1/identify', i))
    expect((await send('/v1/identify', 'POST', objects(MAX_OBJECTS_PER_REQUEST))).status).toBe(200)
    expect((await send('/v1/identify', 'POST', objects(MAX_OBJECTS_PER_REQUEST + 1))).status).toBe(413)
    const atLimit = bodyOf('/v1/identify', 500, MAX_REQUEST_BYTES)
    expect((await send('/v1/identify', 'POST', atLimit)).status).toBe(200)
    expect((await send('/v1/identify', 'POST', `${atLimit} `)).status).toBe(413)
  })
})
