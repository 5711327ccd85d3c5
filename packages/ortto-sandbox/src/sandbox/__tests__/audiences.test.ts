import { startSandbox, type Sandbox, type SandboxContact, type SandboxMembershipChange } from '../index'
import { callSandbox, getJson, postJson, type Answer } from '../../../../../test/helpers/http-client'

let sandbox: Sandbox

beforeEach(async () => {
  sandbox = await startSandbox()
})

afterEach(async () => {
  await sandbox.stop()
})

const putMembers = (body: unknown, apiKey?: string | null) =>
  callSandbox(sandbox.url, 'PUT', '/v1/audiences/members', { body, apiKey })
const getAudience = (body: unknown) => postJson(sandbox.url, '/v1/audiences/get', body)

async function createAudience(name: string): Promise<string> {
  const answer = await postJson(sandbox.url, '/v1/audiences/create', { name })
  expect(answer.status).toBe(200)
  return (answer.json as { id: string }).id
}

async function expectOk(answer: Promise<Answer>): Promise<void> {
  const { status, json } = await answer
  expect({ status, json }).toEqual({ status: 200, json: {} })
}

const contactOf = (userId: string): SandboxContact | undefined =>
  sandbox.snapshot().contacts.find((contact) => contact.user_id === userId)

const AUDIENCE_SHAPE = '{"mode": "add" | "remove", "id": "<audience id>"}'

describe('POST /v1/audiences/get', () => {
  it('answers {id, name} for an audience that exists', async () => {
    const id = await createAudience('Newsletter')
    const answer = await getAudience({ id })
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ id, name: 'Newsletter' })
  })

  it('answers 404 with a JSON error for an id no audience has', async () => {
    await createAudience('Newsletter')
    const answer = await getAudience({ id: '0123456789abcdef01234567' })
    expect(answer.status).toBe(404)
    expect(answer.json).toEqual({
      error: { code: 'not-found', message: 'audience 0123456789abcdef01234567 does not exist' }
    })
  })

  it('finds nothing after a reset: the id belonged to the emptied state', async () => {
    const id = await createAudience('Newsletter')
    await sandbox.reset()
    expect((await getAudience({ id })).status).toBe(404)
  })

  it.each([
    ['missing', {}],
    ['blank', { id: '  ' }],
    ['not a string', { id: 7 }],
    ['in a body that is not an object', ['x']]
  ])('answers 400 for an id that is %s', async (_what, body) => {
    const answer = await getAudience(body)
    expect(answer.status).toBe(400)
    expect(answer.json).toEqual({
      error: { code: 'bad-request', message: 'the body must be {"id": "<audience id>"} with a non-blank id' }
    })
  })

  it('answers 400 for a body that is not JSON', async () => {
    const answer = await getAudience('{"id": ')
    expect(answer.status).toBe(400)
    expect(answer.json).toEqual({ error: { code: 'bad-request', message: 'the body is not valid JSON' } })
  })

  it('answers 405 with Allow: POST for another method, and 401 without a key', async () => {
    const wrong = await getJson(sandbox.url, '/v1/audiences/get')
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('POST')
    expect(wrong.json).toEqual({ error: { code: 'method-not-allowed', message: '/v1/audiences/get takes POST' } })
    const anonymous = await postJson(sandbox.url, '/v1/audiences/get', { id: 'x' }, { apiKey: null })
    expect(anonymous.status).toBe(401)
  })
})

describe('PUT /v1/audiences/members: whole-request checks', () => {
  it('answers 405 with Allow: PUT for POST', async () => {
    const answer = await postJson(sandbox.url, '/v1/audiences/members', [])
    expect(answer.status).toBe(405)
    expect(answer.headers.get('allow')).toBe('PUT')
    expect(answer.json).toEqual({ error: { code: 'method-not-allowed', message: '/v1/audiences/members takes PUT' } })
  })

  it('answers 401 without a key and applies nothing', async () => {
    const id = await createAudience('VIP')
    const answer = await putMembers([{ user_id: 'u1', audience: { mode: 'add', id } }], null)
    expect(answer.status).toBe(401)
    expect(sandbox.snapshot().contacts).toEqual([])
  })

  it('answers 400 for a body that is not JSON, or not an array', async () => {
    expect((await putMembers('[{')).json).toEqual({
      error: { code: 'bad-request', message: 'the body is not valid JSON' }
    })
    const notArray = await putMembers({ user_id: 'u1' })
    expect(notArray.status).toBe(400)
    expect(notArray.json).toEqual({
      error: { code: 'bad-request', message: 'the body must be a JSON array of audience member objects' }
    })
  })

  it('takes 500 members and answers 413 for 501, applying none of them', async () => {
    const id = await createAudience('VIP')
    const members = (count: number, prefix: string) =>
      Array.from({ length: count }, (_, i) => ({ user_id: `${prefix}${i}`, audience: { mode: 'add', id } }))
    await expectOk(putMembers(members(500, 'fits-')))
    const tooMany = await putMembers(members(501, 'over-'))
    expect(tooMany.status).toBe(413)
    expect(tooMany.json).toEqual({
      error: { code: 'too-large', message: 'the body has 501 objects; a request may carry at most 500' }
    })
    expect(sandbox.snapshot().contacts).toHaveLength(500)
    expect(sandbox.snapshot().audiences[0].member_ids).toHaveLength(500)
  })
})

describe('PUT /v1/audiences/members: each member', () => {
  let id: string

  beforeEach(async () => {
    id = await createAudience('VIP')
  })

  /** Sends one member alone and returns its single 207 error entry. */
  async function rejectionOf(object: unknown) {
    const answer = await putMembers([object])
    expect(answer.status).toBe(207)
    const { errors } = answer.json as { errors: unknown[] }
    expect(errors).toHaveLength(1)
    return errors[0]
  }

  it('requires audience, which identify does not', async () => {
    expect(await rejectionOf({ user_id: 'u1' })).toEqual({
      index: 0,
      status: 400,
      message: `audience is required on an audience member: ${AUDIENCE_SHAPE}`
    })
    expect(sandbox.snapshot().contacts).toEqual([])
  })

  it.each([
    ['no ids', { audience: { mode: 'add', id: 'x' } }, 'user_id or anonymous_id is required (a non-blank string)'],
    ['an unknown mode', { user_id: 'u1', audience: { mode: 'join', id: 'x' } }, `audience must be ${AUDIENCE_SHAPE}`],
    [
      'a blank audience id',
      { user_id: 'u1', audience: { mode: 'add', id: ' ' } },
      `audience must be ${AUDIENCE_SHAPE}`
    ],
    ['an ip that is not IPv4', { user_id: 'u1', ip: '::1' }, 'ip must be an IPv4 address such as 180.1.12.125'],
    ['traits that are not an object', { user_id: 'u1', traits: 'x' }, 'traits must be an object'],
    [
      'a bad timestamp',
      { user_id: 'u1', timestamp: 'now' },
      'timestamp must be an ISO 8601 date-time such as 2024-05-01T12:30:00.000Z'
    ]
  ])('applies the rules of identify: refuses %s', async (_what, object, message) => {
    expect(await rejectionOf({ audience: { mode: 'add', id }, ...object })).toEqual({ index: 0, status: 400, message })
  })

  it('refuses a string over 4,000 characters, naming where', async () => {
    const object = { user_id: 'u1', traits: { bio: 'y'.repeat(4_001) }, audience: { mode: 'add', id } }
    expect(await rejectionOf(object)).toEqual({
      index: 0,
      status: 400,
      message: 'traits.bio is 4001 characters long; text fields take at most 4000 characters'
    })
  })

  it("answers an unknown audience id with that member's 404 entry, creating no contact", async () => {
    expect(await rejectionOf({ user_id: 'u1', audience: { mode: 'add', id: 'gone' } })).toEqual({
      index: 0,
      status: 404,
      message: 'audience gone does not exist; create it with /v1/audiences/create'
    })
    expect(sandbox.snapshot().contacts).toEqual([])
    expect(sandbox.snapshot().membership_history).toEqual([])
  })

  it('reports each refused member at its index and applies the others', async () => {
    const answer = await putMembers([
      { user_id: 'u0', audience: { mode: 'add', id } },
      { user_id: 'u1' },
      { anonymous_id: 'a2', audience: { mode: 'add', id } },
      { user_id: 'u3', audience: { mode: 'add', id: 'gone' } },
      { user_id: 'u4', audience: { mode: 'add', id } }
    ])
    expect(answer.status).toBe(207)
    expect(answer.json).toEqual({
      errors: [
        { index: 1, status: 400, message: `audience is required on an audience member: ${AUDIENCE_SHAPE}` },
        { index: 3, status: 404, message: 'audience gone does not exist; create it with /v1/audiences/create' }
      ]
    })
    const state = sandbox.snapshot()
    expect(state.contacts.map((c) => c.user_id ?? c.anonymous_id)).toEqual(['u0', 'a2', 'u4'])
    expect(state.audiences[0].member_ids).toEqual(state.contacts.map((c) => c.id))
    expect(sandbox.stats()).toMatchObject({
      byRoute: { 'PUT /v1/audiences/members': 1 },
      objectsReceived: 5,
      objectsAccepted: 3,
      objectsRejected: 2
    })
  })

  it('upserts the contact exactly as identify does, then adds the membership', async () => {
    const object = {
      user_id: 'u1',
      anonymous_id: 'a1',
      ip: '203.0.113.9',
      location: { country: 'Australia', city: 'Sydney' },
      traits: { plan: 'pro', visits: 3 },
      timestamp: '2024-05-01T00:00:00.000Z',
      message_id: 'm-1',
      audience: { mode: 'add', id }
    }
    await expectOk(postJson(sandbox.url, '/v1/identify', [object]))
    const viaIdentify = contactOf('u1')!
    await sandbox.reset()
    const newId = await createAudience('VIP')
    await expectOk(putMembers([{ ...object, audience: { mode: 'add', id: newId } }]))
    const viaMembers = contactOf('u1')!

    const comparable = ({ id: _id, created_at: _c, updated_at: _u, audience_ids: _a, ...rest }: SandboxContact) => rest
    expect(comparable(viaMembers)).toEqual(comparable(viaIdentify))
    expect(viaMembers.audience_ids).toEqual([newId])
    expect(sandbox.snapshot().audiences[0].member_ids).toEqual([viaMembers.id])
  })

  it('follows the identity rules of identify: an anonymous member later identified is one contact', async () => {
    await expectOk(putMembers([{ anonymous_id: 'a1', traits: { seen: true }, audience: { mode: 'add', id } }]))
    await expectOk(putMembers([{ user_id: 'u1', anonymous_id: 'a1', audience: { mode: 'add', id } }]))
    const [contact] = sandbox.snapshot().contacts
    expect(sandbox.snapshot().contacts).toHaveLength(1)
    expect(contact).toMatchObject({ user_id: 'u1', anonymous_ids: ['a1'], traits: { seen: true }, audience_ids: [id] })
  })

  it('removes the membership for mode remove, keeping the contact', async () => {
    await expectOk(putMembers([{ user_id: 'u1', audience: { mode: 'add', id } }]))
    await expectOk(putMembers([{ user_id: 'u1', traits: { left: true }, audience: { mode: 'remove', id } }]))
    expect(sandbox.snapshot().audiences[0].member_ids).toEqual([])
    expect(contactOf('u1')).toMatchObject({ audience_ids: [], traits: { left: true } })
  })
})

describe('membership history', () => {
  let vip: string
  let later: string

  beforeEach(async () => {
    vip = await createAudience('VIP')
    later = await createAudience('Later')
  })

  const historyAt = async (
    query = ''
  ): Promise<{ audiences: unknown[]; membership_history: SandboxMembershipChange[] }> => {
    const answer = await getJson(sandbox.url, `/sandbox/audiences${query}`)
    expect(answer.status).toBe(200)
    return answer.json as { audiences: unknown[]; membership_history: SandboxMembershipChange[] }
  }

  it('lists every membership instruction applied, from every route, a repeat marked changed: false', async () => {
    await expectOk(putMembers([{ user_id: 'u1', message_id: 'm-1', audience: { mode: 'add', id: vip } }]))
    await expectOk(putMembers([{ user_id: 'u1', message_id: 'm-1', audience: { mode: 'add', id: vip } }]))
    await expectOk(
      postJson(sandbox.url, '/v1/identify', [{ anonymous_id: 'a2', audience: { mode: 'add', id: later } }])
    )
    await expectOk(
      postJson(sandbox.url, '/v1/track', [
        { user_id: 'u1', event: 'Left', message_id: 'm-3', audience: { mode: 'remove', id: vip } }
      ])
    )
    await expectOk(putMembers([{ user_id: 'u9', audience: { mode: 'remove', id: vip } }]))

    const u1 = contactOf('u1')!.id
    const a2 = sandbox.snapshot().contacts.find((c) => c.anonymous_id === 'a2')!.id
    const u9 = contactOf('u9')!.id
    const { membership_history } = await historyAt()
    expect(membership_history.map(({ at: _at, ...rest }) => rest)).toEqual([
      {
        sequence: 1,
        audience_id: vip,
        mode: 'add',
        changed: true,
        contact_id: u1,
        user_id: 'u1',
        anonymous_id: null,
        message_id: 'm-1',
        via: '/v1/audiences/members'
      },
      {
        sequence: 2,
        audience_id: vip,
        mode: 'add',
        changed: false,
        contact_id: u1,
        user_id: 'u1',
        anonymous_id: null,
        message_id: 'm-1',
        via: '/v1/audiences/members'
      },
      {
        sequence: 3,
        audience_id: later,
        mode: 'add',
        changed: true,
        contact_id: a2,
        user_id: null,
        anonymous_id: 'a2',
        message_id: null,
        via: '/v1/identify'
      },
      {
        sequence: 4,
        audience_id: vip,
        mode: 'remove',
        changed: true,
        contact_id: u1,
        user_id: 'u1',
        anonymous_id: null,
        message_id: 'm-3',
        via: '/v1/track'
      },
      {
        sequence: 5,
        audience_id: vip,
        mode: 'remove',
        changed: false,
        contact_id: u9,
        user_id: 'u9',
        anonymous_id: null,
        message_id: null,
        via: '/v1/audiences/members'
      }
    ])
    expect(membership_history.every((change) => !Number.isNaN(Date.parse(change.at)))).toBe(true)
    expect(membership_history).toEqual(sandbox.snapshot().membership_history)
  })

  it('adds no entry for refused members or for a repeated activity, which is dropped whole', async () => {
    const activity = {
      user_id: 'u1',
      event: 'Joined',
      message_id: 'm-1',
      timestamp: '2024-05-01T00:00:00.000Z',
      audience: { mode: 'add', id: vip }
    }
    await expectOk(postJson(sandbox.url, '/v1/track', [activity, activity]))
    await putMembers([{ user_id: 'u2', audience: { mode: 'add', id: 'gone' } }, { user_id: 'u3' }])
    expect((await historyAt()).membership_history.map((change) => change.message_id)).toEqual(['m-1'])
  })

  it('shows one audience and its history by ?id= or ?name=, and nothing for one that does not exist', async () => {
    await expectOk(
      putMembers([
        { user_id: 'u1', audience: { mode: 'add', id: vip } },
        { user_id: 'u2', audience: { mode: 'add', id: later } }
      ])
    )
    const byId = await historyAt(`?id=${vip}`)
    expect(byId.audiences).toEqual([
      expect.objectContaining({ id: vip, name: 'VIP', member_ids: [contactOf('u1')!.id] })
    ])
    expect(byId.membership_history.map((change) => [change.sequence, change.user_id])).toEqual([[1, 'u1']])
    expect(await historyAt('?name=Later')).toEqual({
      audiences: [expect.objectContaining({ id: later })],
      membership_history: [expect.objectContaining({ sequence: 2, audience_id: later })]
    })
    expect(await historyAt(`?id=${later}&name=Later`)).toMatchObject({ audiences: [{ id: later }] })
    expect(await historyAt(`?id=${vip}&name=Later`)).toEqual({ audiences: [], membership_history: [] })
    expect(await historyAt('?name=vip')).toEqual({ audiences: [], membership_history: [] })
    expect(await historyAt('?id=gone')).toEqual({ audiences: [], membership_history: [] })
  })

  it('is emptied by a reset, and numbering starts again at 1', async () => {
    await expectOk(putMembers([{ user_id: 'u1', audience: { mode: 'add', id: vip } }]))
    await sandbox.reset()
    expect(await historyAt()).toEqual({ audiences: [], membership_history: [] })
    const fresh = await createAudience('VIP')
    await expectOk(putMembers([{ user_id: 'u1', audience: { mode: 'add', id: fresh } }]))
    expect((await historyAt()).membership_history.map((change) => change.sequence)).toEqual([1])
  })
})
