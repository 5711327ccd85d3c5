import { startSandbox, type Sandbox } from '../index'
import { MAX_ACTIVITY_BYTES, MAX_TEXT_LENGTH } from '../contract'
import { TEST_API_KEY, callSandbox, getJson, postJson } from '../../../../../test/helpers/http-client'

let sandbox: Sandbox

beforeEach(async () => {
  sandbox = await startSandbox()
})

afterEach(async () => {
  await sandbox.stop()
})

const identify = (body: unknown, apiKey?: string | null) => postJson(sandbox.url, '/v1/identify', body, { apiKey })
const track = (body: unknown) => postJson(sandbox.url, '/v1/track', body)

/** Sends one object alone and returns its single 207 error entry. */
async function rejectionOf(path: '/v1/identify' | '/v1/track', object: unknown) {
  const answer = await postJson(sandbox.url, path, [object])
  expect(answer.status).toBe(207)
  const { errors } = answer.json as { errors: Array<{ index: number; status: number; message: string }> }
  expect(errors).toHaveLength(1)
  expect(errors[0].index).toBe(0)
  return errors[0]
}

describe('authorization', () => {
  it('answers 401 without an Authorization header', async () => {
    const answer = await identify([{ user_id: 'u1' }], null)
    expect(answer.status).toBe(401)
    expect(answer.json).toEqual({
      error: { code: 'unauthorized', message: 'missing Authorization header; send "Authorization: Bearer <api key>"' }
    })
  })

  it('answers 401 for a header that is not "Bearer <key>"', async () => {
    const answer = await callSandbox(sandbox.url, 'GET', '/v1/me', {
      apiKey: null,
      headers: { authorization: `Basic ${TEST_API_KEY}` }
    })
    expect(answer.status).toBe(401)
    expect(answer.json).toEqual({
      error: { code: 'unauthorized', message: 'the Authorization header must be "Bearer <api key>"' }
    })
    expect(answer.text).not.toContain(TEST_API_KEY)
  })

  it.each([
    ['an unknown environment letter', 'xau-secret'],
    ['an upper-case region', 'pAU-secret'],
    ['an empty secret', 'pau-'],
    ['a secret with a space', 'pau-sec ret']
  ])('answers 401 for a key with %s, without echoing it', async (_why, key) => {
    const answer = await identify([{ user_id: 'u1' }], key)
    expect(answer.status).toBe(401)
    expect(answer.json).toEqual({
      error: { code: 'unauthorized', message: 'the API key is not a well-formed Ortto key' }
    })
    expect(answer.text).not.toContain(key)
    expect(sandbox.snapshot().contacts).toHaveLength(0)
  })

  it('accepts only the listed keys when acceptedKeys is set', async () => {
    const strict = await startSandbox({ acceptedKeys: ['sus-the-only-key'] })
    try {
      const refused = await getJson(strict.url, '/v1/me', { apiKey: 'pau-another-well-formed-key' })
      expect(refused.status).toBe(401)
      expect(refused.json).toEqual({
        error: {
          code: 'unauthorized',
          message:
            'the API key is not one this sandbox was started with (the sandbox of npm start takes only the pipeline’s own key: leave api_key out of the settings to use it)'
        }
      })
      expect(refused.text).not.toContain('pau-another-well-formed-key')
      const accepted = await getJson(strict.url, '/v1/me', { apiKey: 'sus-the-only-key' })
      expect(accepted.status).toBe(200)
    } finally {
      await strict.stop()
    }
  })

  it('refuses to start with a malformed accepted key, without quoting it', async () => {
    await expect(startSandbox({ acceptedKeys: ['pau-ok', 'not a key'] })).rejects.toThrow(
      new TypeError('acceptedKeys[1] is not a well-formed Ortto API key')
    )
  })

  it('reads the Bearer scheme case-insensitively', async () => {
    const answer = await callSandbox(sandbox.url, 'GET', '/v1/me', {
      apiKey: null,
      headers: { authorization: `bearer ${TEST_API_KEY}` }
    })
    expect(answer.status).toBe(200)
  })

  it('GET /v1/me answers 200 for a well-formed key', async () => {
    const answer = await getJson(sandbox.url, '/v1/me')
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ ok: true })
    expect(answer.headers.get('content-type')).toBe('application/json; charset=utf-8')
  })
})

describe('routing', () => {
  it('answers 404 JSON for an unknown /v1 endpoint', async () => {
    const answer = await postJson(sandbox.url, '/v1/audiences/delete', { id: 'x' })
    expect(answer.status).toBe(404)
    expect(answer.json).toEqual({
      error: { code: 'not-found', message: 'no such endpoint: POST /v1/audiences/delete' }
    })
  })

  it('answers 405 JSON with Allow for a wrong method', async () => {
    const answer = await getJson(sandbox.url, '/v1/identify')
    expect(answer.status).toBe(405)
    expect(answer.headers.get('allow')).toBe('POST')
    expect(answer.json).toEqual({ error: { code: 'method-not-allowed', message: '/v1/identify takes POST' } })
  })

  it('answers 404 JSON outside /v1 and /sandbox', async () => {
    const answer = await getJson(sandbox.url, '/favicon.ico')
    expect(answer.status).toBe(404)
    expect(answer.json).toEqual({ error: { code: 'not-found', message: 'no such route: GET /favicon.ico' } })
  })
})

describe('whole-request checks', () => {
  it('answers 400 for a body that is not JSON', async () => {
    const answer = await identify('[{"user_id": ')
    expect(answer.status).toBe(400)
    expect(answer.json).toEqual({ error: { code: 'bad-request', message: 'the body is not valid JSON' } })
  })

  it('answers 400 for JSON that is not an array', async () => {
    const answer = await track({ user_id: 'u1', event: 'e' })
    expect(answer.status).toBe(400)
    expect(answer.json).toEqual({
      error: { code: 'bad-request', message: 'the body must be a JSON array of activity objects' }
    })
    expect(sandbox.snapshot().activities).toHaveLength(0)
  })

  it('answers 200 {} for an empty array', async () => {
    const answer = await identify([])
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({})
  })

  // The limits themselves (500 objects, 2,000,000 bytes) are tested in contract.test.ts.
  it('answers 413 cleanly for a body far over the limit', async () => {
    const answer = await identify('x'.repeat(6_000_000))
    expect(answer.status).toBe(413)
  })
})

describe('per-object validation', () => {
  it.each([
    ['a number', 42],
    ['null', null],
    ['an array', [{ user_id: 'u1' }]],
    ['a string', 'u1']
  ])('rejects an element that is %s', async (_what, object) => {
    expect(await rejectionOf('/v1/identify', object)).toEqual({
      index: 0,
      status: 400,
      message: 'each element must be a JSON object'
    })
  })

  it.each([
    ['no ids', {}],
    ['blank ids', { user_id: '  ', anonymous_id: '' }]
  ])('rejects a contact with %s', async (_what, object) => {
    expect(await rejectionOf('/v1/identify', object)).toEqual({
      index: 0,
      status: 400,
      message: 'user_id or anonymous_id is required (a non-blank string)'
    })
  })

  it('accepts a blank user_id next to a usable anonymous_id, keeping only the anonymous id', async () => {
    const answer = await identify([{ user_id: ' ', anonymous_id: 'a1' }])
    expect(answer.status).toBe(200)
    const [contact] = sandbox.snapshot().contacts
    expect(contact.user_id).toBeNull()
    expect(contact.anonymous_ids).toEqual(['a1'])
  })

  it('rejects ids that are not strings', async () => {
    expect(await rejectionOf('/v1/identify', { user_id: 7 })).toEqual({
      index: 0,
      status: 400,
      message: 'user_id must be a string'
    })
  })

  it.each([
    ['missing', { user_id: 'u1' }],
    ['blank', { user_id: 'u1', event: ' ' }],
    ['not a string', { user_id: 'u1', event: 3 }]
  ])('rejects an activity whose event is %s', async (_what, object) => {
    expect(await rejectionOf('/v1/track', object)).toEqual({
      index: 0,
      status: 400,
      message: 'event is required (a non-blank string)'
    })
  })

  it.each(['1.2.3', '256.1.1.1', '::1', '1.2.3.4 ', 'localhost'])('rejects ip %j', async (ip) => {
    expect(await rejectionOf('/v1/identify', { user_id: 'u1', ip })).toEqual({
      index: 0,
      status: 400,
      message: 'ip must be an IPv4 address such as 180.1.12.125'
    })
  })

  it('stores a dotted-quad ip', async () => {
    expect((await identify([{ user_id: 'u1', ip: '180.1.12.125' }])).status).toBe(200)
    expect(sandbox.snapshot().contacts[0].ip).toBe('180.1.12.125')
  })

  it.each([
    ['a string', 'Sydney'],
    ['an array', ['AU']],
    ['null', null]
  ])('rejects a location that is %s', async (_what, location) => {
    expect(await rejectionOf('/v1/identify', { user_id: 'u1', location })).toEqual({
      index: 0,
      status: 400,
      message: 'location must be an object'
    })
  })

  it('rejects traits and properties that are not objects', async () => {
    expect(await rejectionOf('/v1/identify', { user_id: 'u1', traits: [1] })).toMatchObject({
      message: 'traits must be an object'
    })
    expect(await rejectionOf('/v1/track', { user_id: 'u1', event: 'e', properties: 'x' })).toMatchObject({
      message: 'properties must be an object'
    })
  })

  it('rejects a timestamp that is not ISO 8601', async () => {
    expect(await rejectionOf('/v1/track', { user_id: 'u1', event: 'e', timestamp: 'yesterday' })).toEqual({
      index: 0,
      status: 400,
      message: 'timestamp must be an ISO 8601 date-time such as 2024-05-01T12:30:00.000Z'
    })
  })

  it(`rejects a string over ${MAX_TEXT_LENGTH} characters anywhere, naming where`, async () => {
    const object = { user_id: 'u1', traits: { notes: [{ text: 'ok' }, { text: 'y'.repeat(MAX_TEXT_LENGTH + 1) }] } }
    expect(await rejectionOf('/v1/identify', object)).toEqual({
      index: 0,
      status: 400,
      message: `traits.notes[1].text is 4001 characters long; text fields take at most ${MAX_TEXT_LENGTH} characters`
    })
  })

  it(`accepts strings of exactly ${MAX_TEXT_LENGTH} characters, counting an emoji as one`, async () => {
    const emoji = '😀'.repeat(MAX_TEXT_LENGTH)
    expect(emoji.length).toBe(MAX_TEXT_LENGTH * 2)
    const answer = await identify([{ user_id: 'u1', traits: { plain: 'z'.repeat(MAX_TEXT_LENGTH), emoji } }])
    expect(answer.status).toBe(200)
  })

  it(`answers 413 for an activity over ${MAX_ACTIVITY_BYTES} bytes of JSON, and not for a contact`, async () => {
    const properties = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`p${i}`, 'x'.repeat(3_500)]))
    const activity = { user_id: 'u1', event: 'big', properties }
    const bytes = Buffer.byteLength(JSON.stringify(activity))
    expect(bytes).toBeGreaterThan(MAX_ACTIVITY_BYTES)
    expect(await rejectionOf('/v1/track', activity)).toEqual({
      index: 0,
      status: 413,
      message: `activity is ${bytes} bytes of JSON; an activity may be at most ${MAX_ACTIVITY_BYTES} bytes`
    })
    expect((await identify([{ user_id: 'u1', traits: properties }])).status).toBe(200)
  })

  it.each([
    ['not an object', 'add'],
    ['an unknown mode', { mode: 'toggle', id: 'a' }],
    ['a missing id', { mode: 'add' }],
    ['a blank id', { mode: 'remove', id: ' ' }]
  ])('rejects an audience that is %s', async (_what, audience) => {
    expect(await rejectionOf('/v1/identify', { user_id: 'u1', audience })).toEqual({
      index: 0,
      status: 400,
      message: 'audience must be {"mode": "add" | "remove", "id": "<audience id>"}'
    })
  })

  it('answers 404 for an audience id that does not exist', async () => {
    expect(
      await rejectionOf('/v1/track', { user_id: 'u1', event: 'e', audience: { mode: 'add', id: 'nope' } })
    ).toEqual({ index: 0, status: 404, message: 'audience nope does not exist; create it with /v1/audiences/create' })
    expect(sandbox.snapshot().contacts).toHaveLength(0)
  })

  it('rejects activities from the ortto.com namespace, which must never be sent back', async () => {
    expect(await rejectionOf('/v1/track', { user_id: 'u1', event: 'e', namespace: ' Ortto.com' })).toEqual({
      index: 0,
      status: 400,
      message: 'activities from namespace "ortto.com" came from Ortto and must not be sent back'
    })
  })

  it('reports each invalid object at its index and applies only the valid ones', async () => {
    const answer = await track([
      { user_id: 'u0', event: 'ok' },
      { user_id: 'u1' },
      { anonymous_id: 'a2', event: 'ok' },
      { user_id: 'u3', event: 'bad ip', ip: 'nope' },
      { user_id: 'u4', event: 'ok' }
    ])
    expect(answer.status).toBe(207)
    expect(answer.json).toEqual({
      errors: [
        { index: 1, status: 400, message: 'event is required (a non-blank string)' },
        { index: 3, status: 400, message: 'ip must be an IPv4 address such as 180.1.12.125' }
      ]
    })
    const state = sandbox.snapshot()
    expect(state.contacts.map((c) => c.user_id ?? c.anonymous_id)).toEqual(['u0', 'a2', 'u4'])
    expect(state.activities).toHaveLength(3)
    expect(sandbox.stats()).toMatchObject({ objectsReceived: 5, objectsAccepted: 3, objectsRejected: 2 })
  })
})
