import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { startSandbox, type Sandbox, type SandboxContact } from '../index'
import { callSandbox, getJson, postJson } from '../../../../../test/helpers/http-client'
import { waitFor } from '../../../../../test/helpers/wait-for'

let sandbox: Sandbox

beforeEach(async () => {
  sandbox = await startSandbox()
})

afterEach(async () => {
  await sandbox.stop()
})

async function send(path: '/v1/identify' | '/v1/track', objects: unknown[]): Promise<void> {
  const answer = await postJson(sandbox.url, path, objects)
  expect({ status: answer.status, body: answer.json }).toEqual({ status: 200, body: {} })
}

async function createAudience(name: string): Promise<{ id: string; name: string }> {
  const answer = await postJson(sandbox.url, '/v1/audiences/create', { name })
  expect(answer.status).toBe(200)
  return answer.json as { id: string; name: string }
}

const contactOf = (userId: string): SandboxContact | undefined =>
  sandbox.snapshot().contacts.find((contact) => contact.user_id === userId)

describe('contacts', () => {
  it('makes an anonymous contact that is later identified one contact', async () => {
    await send('/v1/identify', [{ anonymous_id: 'a1', traits: { plan: 'free', seen: 1 } }])
    const anonymous = sandbox.snapshot().contacts[0]
    await send('/v1/identify', [{ user_id: 'u1', anonymous_id: 'a1', traits: { plan: 'pro', email: 'a@b.co' } }])

    const { contacts } = sandbox.snapshot()
    expect(contacts).toHaveLength(1)
    expect(contacts[0]).toMatchObject({
      id: anonymous.id,
      user_id: 'u1',
      anonymous_id: 'a1',
      anonymous_ids: ['a1'],
      traits: { plan: 'pro', seen: 1, email: 'a@b.co' },
      created_at: anonymous.created_at
    })
    // Later it is found by user_id alone.
    await send('/v1/identify', [{ user_id: 'u1', traits: { seen: 2 } }])
    expect(sandbox.snapshot().contacts).toHaveLength(1)
    expect(contactOf('u1')?.traits).toEqual({ plan: 'pro', seen: 2, email: 'a@b.co' })
  })

  it('merges traits shallowly, later values winning and null stored as null', async () => {
    await send('/v1/identify', [{ user_id: 'u1', traits: { a: 1, nested: { x: 1, y: 2 }, gone: 'yes' } }])
    await send('/v1/identify', [{ user_id: 'u1', traits: { nested: { x: 9 }, gone: null, b: true } }])
    expect(contactOf('u1')?.traits).toEqual({ a: 1, nested: { x: 9 }, gone: null, b: true })
  })

  it('keeps the latest ip and location, and keeps them when an object has none', async () => {
    await send('/v1/identify', [{ user_id: 'u1', ip: '1.1.1.1', location: { city: 'Sydney' } }])
    await send('/v1/identify', [{ user_id: 'u1', ip: '2.2.2.2', location: { country: 'NZ' } }])
    await send('/v1/identify', [{ user_id: 'u1', traits: { x: 1 } }])
    expect(contactOf('u1')).toMatchObject({ ip: '2.2.2.2', location: { country: 'NZ' } })
  })

  it('keeps created_at and moves updated_at', async () => {
    await send('/v1/identify', [{ user_id: 'u1' }])
    const first = contactOf('u1')!
    // The second change must come at a later millisecond than the first to be told apart.
    await waitFor('the clock to pass the first change', () => Date.now() > Date.parse(first.updated_at))
    await send('/v1/identify', [{ user_id: 'u1', traits: { x: 1 } }])
    const second = contactOf('u1')!
    expect(second.created_at).toBe(first.created_at)
    expect(Date.parse(second.updated_at)).toBeGreaterThan(Date.parse(first.updated_at))
  })

  it('stores a trait named __proto__ as an ordinary trait', async () => {
    await send('/v1/identify', [{ user_id: 'u1', traits: JSON.parse('{"__proto__": {"polluted": true}}') as object }])
    const traits = contactOf('u1')!.traits
    expect(Object.keys(traits)).toEqual(['__proto__'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('merges an existing anonymous contact into an existing identified one', async () => {
    const vip = await createAudience('VIP')
    await send('/v1/identify', [{ user_id: 'u1', traits: { plan: 'pro' } }])
    await send('/v1/track', [
      { anonymous_id: 'a1', event: 'Viewed', ip: '3.3.3.3', traits: { plan: 'free', utm: 'ad' } },
      { anonymous_id: 'a1', event: 'Joined', audience: { mode: 'add', id: vip.id } }
    ])
    const identified = contactOf('u1')!
    expect(sandbox.snapshot().contacts).toHaveLength(2)

    await send('/v1/identify', [{ user_id: 'u1', anonymous_id: 'a1' }])

    const state = sandbox.snapshot()
    expect(state.contacts).toHaveLength(1)
    expect(state.contacts[0]).toMatchObject({
      id: identified.id,
      user_id: 'u1',
      anonymous_ids: ['a1'],
      // The identified contact wins conflicts and gains what it lacked.
      traits: { plan: 'pro', utm: 'ad' },
      ip: '3.3.3.3',
      audience_ids: [vip.id]
    })
    expect(state.activities.map((a) => [a.event, a.contact_id])).toEqual([
      ['Viewed', identified.id],
      ['Joined', identified.id]
    ])
    expect(state.audiences[0].member_ids).toEqual([identified.id])
    // The anonymous id now locates the merged contact.
    await send('/v1/identify', [{ anonymous_id: 'a1', traits: { later: 1 } }])
    expect(sandbox.snapshot().contacts).toHaveLength(1)
    expect(contactOf('u1')!.traits.later).toBe(1)
  })

  it('moves an anonymous id owned by another user to the newer user, merging nothing else', async () => {
    await send('/v1/identify', [{ user_id: 'u1', anonymous_id: 'device', traits: { who: 'first' } }])
    await send('/v1/identify', [{ user_id: 'u2', anonymous_id: 'device' }])

    expect(sandbox.snapshot().contacts).toHaveLength(2)
    expect(contactOf('u1')).toMatchObject({ anonymous_ids: [], anonymous_id: null, traits: { who: 'first' } })
    expect(contactOf('u2')).toMatchObject({ anonymous_ids: ['device'], traits: {} })
    await send('/v1/identify', [{ anonymous_id: 'device', traits: { who: 'second' } }])
    expect(contactOf('u2')!.traits).toEqual({ who: 'second' })
  })

  it('upserts the contact of an activity (ids, traits, ip, location)', async () => {
    await send('/v1/track', [
      { user_id: 'u1', event: 'Signed Up', traits: { t: 1 }, ip: '4.4.4.4', location: { city: 'Perth' } }
    ])
    expect(contactOf('u1')).toMatchObject({ traits: { t: 1 }, ip: '4.4.4.4', location: { city: 'Perth' } })
  })
})

describe('activities', () => {
  const activity = (messageId: string | undefined, timestamp: string | undefined, event = 'Clicked') => ({
    user_id: 'u1',
    event,
    properties: { button: 'buy' },
    namespace: 'web',
    ...(messageId === undefined ? {} : { message_id: messageId }),
    ...(timestamp === undefined ? {} : { timestamp })
  })

  it('stores event, properties, namespace, timestamp, message_id and the contact', async () => {
    await send('/v1/track', [activity('m1', '2024-05-01T00:00:00.000Z')])
    const { activities, contacts } = sandbox.snapshot()
    expect(activities).toEqual([
      {
        contact_id: contacts[0].id,
        event: 'Clicked',
        properties: { button: 'buy' },
        namespace: 'web',
        timestamp: '2024-05-01T00:00:00.000Z',
        message_id: 'm1',
        received_at: expect.any(String) as string
      }
    ])
  })

  it('drops a repeat of the same (message_id, timestamp) across and within requests, answering success', async () => {
    const t = '2024-05-01T00:00:00.000Z'
    await send('/v1/track', [activity('m1', t), activity('m1', t, 'Repeated in the same request')])
    await send('/v1/track', [activity('m1', t, 'Retried')])
    await send('/v1/track', [activity('m1', '2024-05-01T00:00:01.000Z'), activity('m2', t)])

    expect(sandbox.snapshot().activities.map((a) => [a.message_id, a.timestamp, a.event])).toEqual([
      ['m1', t, 'Clicked'],
      ['m1', '2024-05-01T00:00:01.000Z', 'Clicked'],
      ['m2', t, 'Clicked']
    ])
    expect(sandbox.stats().duplicateActivitiesDropped).toBe(2)
    expect(sandbox.stats().objectsAccepted).toBe(5)
  })

  it('stores every activity that lacks message_id or timestamp', async () => {
    await send('/v1/track', [activity('m1', undefined), activity('m1', undefined), activity(undefined, '2024-05-01')])
    await send('/v1/track', [activity(undefined, '2024-05-01')])
    expect(sandbox.snapshot().activities).toHaveLength(4)
    expect(sandbox.stats().duplicateActivitiesDropped).toBe(0)
  })
})

describe('audiences', () => {
  it('creates an audience once per exact, case-sensitive name', async () => {
    const first = await createAudience('Newsletter')
    expect(first).toEqual({ id: expect.stringMatching(/^[0-9a-f]{24}$/) as string, name: 'Newsletter' })
    expect(await createAudience('Newsletter')).toEqual(first)
    const lower = await createAudience('newsletter')
    expect(lower.id).not.toBe(first.id)
    const spaced = await createAudience('Newsletter ')
    expect(spaced.id).not.toBe(first.id)
    expect(sandbox.snapshot().audiences.map((a) => a.name)).toEqual(['Newsletter', 'newsletter', 'Newsletter '])
  })

  it.each([
    ['missing', {}],
    ['blank', { name: '   ' }],
    ['not a string', { name: 5 }],
    ['not an object', ['VIP']]
  ])('answers 400 for a name that is %s', async (_what, body) => {
    const answer = await postJson(sandbox.url, '/v1/audiences/create', body)
    expect(answer.status).toBe(400)
    expect(answer.json).toEqual({
      error: { code: 'bad-request', message: 'the body must be {"name": "<audience name>"} with a non-blank name' }
    })
    expect(sandbox.snapshot().audiences).toHaveLength(0)
  })

  it('adds and removes membership from identify and track objects', async () => {
    const { id } = await createAudience('VIP')
    await send('/v1/identify', [
      { user_id: 'u1', audience: { mode: 'add', id } },
      { user_id: 'u2', audience: { mode: 'add', id } }
    ])
    await send('/v1/track', [{ user_id: 'u3', event: 'Bought', audience: { mode: 'add', id } }])
    const ids = (userId: string) => contactOf(userId)!.id
    expect(sandbox.snapshot().audiences[0].member_ids).toEqual([ids('u1'), ids('u2'), ids('u3')])

    await send('/v1/identify', [{ user_id: 'u2', audience: { mode: 'remove', id } }])
    await send('/v1/identify', [{ user_id: 'u9', audience: { mode: 'remove', id } }])
    expect(sandbox.snapshot().audiences[0].member_ids).toEqual([ids('u1'), ids('u3')])
    expect(contactOf('u2')!.audience_ids).toEqual([])
    expect(contactOf('u1')!.audience_ids).toEqual([id])
  })
})

describe('inspection routes', () => {
  beforeEach(async () => {
    const { id } = await createAudience('VIP')
    await send('/v1/identify', [{ user_id: 'u1', anonymous_id: 'a1', audience: { mode: 'add', id } }])
    await send('/v1/track', [
      { user_id: 'u1', event: 'One' },
      { anonymous_id: 'a2', event: 'Two' }
    ])
  })

  it('GET /sandbox/contacts lists contacts and finds one by user_id or anonymous_id', async () => {
    const all = await getJson(sandbox.url, '/sandbox/contacts', { apiKey: null })
    expect(all.status).toBe(200)
    expect((all.json as { contacts: SandboxContact[] }).contacts).toEqual(sandbox.snapshot().contacts)

    const byUser = (await getJson(sandbox.url, '/sandbox/contacts?user_id=u1')).json as { contacts: SandboxContact[] }
    expect(byUser.contacts.map((c) => c.user_id)).toEqual(['u1'])
    const byAnonymous = (await getJson(sandbox.url, '/sandbox/contacts?anonymous_id=a2')).json as {
      contacts: SandboxContact[]
    }
    expect(byAnonymous.contacts.map((c) => c.anonymous_id)).toEqual(['a2'])
    const none = await getJson(sandbox.url, '/sandbox/contacts?user_id=nobody')
    expect(none.json).toEqual({ contacts: [] })
  })

  it('GET /sandbox/activities lists activities, optionally of one contact', async () => {
    const all = await getJson(sandbox.url, '/sandbox/activities')
    expect(all.json).toEqual({ activities: sandbox.snapshot().activities })
    const u1 = contactOf('u1')!.id
    const mine = (await getJson(sandbox.url, `/sandbox/activities?contact_id=${u1}`)).json as {
      activities: Array<{ event: string }>
    }
    expect(mine.activities.map((a) => a.event)).toEqual(['One'])
  })

  it('GET /sandbox/audiences lists audiences with their member contact ids, and the membership history', async () => {
    const answer = await getJson(sandbox.url, '/sandbox/audiences')
    const { audiences, membership_history } = sandbox.snapshot()
    const [vip] = audiences
    expect(answer.json).toEqual({
      audiences: [{ id: vip.id, name: 'VIP', created_at: vip.created_at, member_ids: [contactOf('u1')!.id] }],
      membership_history: [
        {
          sequence: 1,
          at: membership_history[0].at,
          audience_id: vip.id,
          mode: 'add',
          changed: true,
          contact_id: contactOf('u1')!.id,
          user_id: 'u1',
          anonymous_id: 'a1',
          message_id: null,
          via: '/v1/identify'
        }
      ]
    })
  })

  it('GET /sandbox/stats counts API requests, routes, statuses and objects', async () => {
    await postJson(sandbox.url, '/v1/identify', {})
    await getJson(sandbox.url, '/v1/me', { apiKey: null })
    const answer = await getJson(sandbox.url, '/sandbox/stats')
    expect(answer.json).toEqual({
      requests: 5,
      byRoute: { 'POST /v1/audiences/create': 1, 'POST /v1/identify': 2, 'POST /v1/track': 1, 'GET /v1/me': 1 },
      byStatus: { '200': 3, '400': 1, '401': 1 },
      objectsReceived: 3,
      objectsAccepted: 3,
      objectsRejected: 0,
      duplicateActivitiesDropped: 0,
      faultsInjected: {
        'rate-limit': 0,
        fail: 0,
        slow: 0,
        'drop-before-apply': 0,
        'drop-after-apply': 0,
        malformed: 0
      }
    })
    expect(sandbox.stats()).toEqual(answer.json)
  })

  it('POST /sandbox/reset empties contacts, activities, audiences, membership history and stats', async () => {
    const answer = await postJson(sandbox.url, '/sandbox/reset', undefined, { apiKey: null })
    expect(answer.status).toBe(200)
    expect(answer.json).toEqual({ ok: true })
    expect(sandbox.snapshot()).toEqual({ contacts: [], activities: [], audiences: [], membership_history: [] })
    expect(sandbox.stats()).toMatchObject({ requests: 0, byRoute: {}, objectsReceived: 0 })
    // Ids in the old data locate nothing now.
    await send('/v1/identify', [{ user_id: 'u1' }])
    expect(sandbox.snapshot().contacts).toHaveLength(1)
  })

  it('answers 405 for a wrong method and 404 for an unknown inspection route', async () => {
    const wrong = await getJson(sandbox.url, '/sandbox/reset')
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('POST')
    const unknown = await getJson(sandbox.url, '/sandbox/everything')
    expect(unknown.status).toBe(404)
  })

  it('serves the same routes when another server forwards requests to handle()', async () => {
    const front = http.createServer((req, res) => {
      if (req.url?.startsWith('/sandbox/')) return sandbox.handle(req, res)
      res.writeHead(418).end()
    })
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve))
    try {
      const frontUrl = `http://127.0.0.1:${(front.address() as AddressInfo).port}`
      const answer = await callSandbox(frontUrl, 'GET', '/sandbox/contacts?user_id=u1')
      expect((answer.json as { contacts: SandboxContact[] }).contacts[0].id).toBe(contactOf('u1')!.id)
    } finally {
      front.closeAllConnections()
      await new Promise((resolve) => front.close(resolve))
    }
  })
})

describe('lifecycle', () => {
  it('stop() closes the server even with a keep-alive connection open, and is idempotent', async () => {
    const own = await startSandbox()
    const agent = new http.Agent({ keepAlive: true })
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get(`${own.url}/sandbox/stats`, { agent }, (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        })
        .on('error', reject)
    })
    expect(status).toBe(200)
    await Promise.all([own.stop(), own.stop()])
    await expect(fetch(`${own.url}/sandbox/stats`)).rejects.toThrow()
    agent.destroy()
  })

  it('listens on the requested host and reports a matching url and port', () => {
    expect(sandbox.url).toBe(`http://127.0.0.1:${sandbox.port}`)
    expect(sandbox.port).toBeGreaterThan(0)
  })
})
