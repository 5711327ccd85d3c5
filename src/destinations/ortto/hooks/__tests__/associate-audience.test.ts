import nock from 'nock'
import { Destination } from '@segment/actions-core'
import definition from '../../index'
import { ACTIONS, API_KEY, ORIGIN, settings } from '../../__tests__/__helpers__/ortto'

const destination = new Destination(definition)

const runHook = (slug: string, audienceName: string | undefined, hookSettings = settings) =>
  destination.actions[slug].executeHook('onMappingSave', {
    settings: hookSettings,
    payload: undefined,
    hookInputs: audienceName === undefined ? {} : { audience_name: audienceName }
  })

describe.each(ACTIONS)('Associate Audience hook of $slug', ({ slug }) => {
  it('creates or finds the audience and saves its id and name with the mapping', async () => {
    let sent: unknown
    nock(ORIGIN)
      .post('/v1/audiences/create', (body) => {
        sent = body
        return true
      })
      .matchHeader('authorization', `Bearer ${API_KEY}`)
      .reply(200, { id: 'aud-123', name: 'VIP Customers' })
    const response = await runHook(slug, '  VIP Customers ')
    expect(sent).toEqual({ name: 'VIP Customers' })
    expect(Object.keys(response).sort()).toEqual(['savedData', 'successMessage'])
    expect(response.successMessage).toContain('"VIP Customers" (id aud-123)')
    expect(response.savedData).toEqual({ audience_id: 'aud-123', audience_name: 'VIP Customers' })
  })

  it.each([undefined, '', '   '])(
    'does nothing for an empty name (%p): no request, no audience saved',
    async (name) => {
      const response = await runHook(slug, name)
      expect(response.savedData).toEqual({})
      expect(response.error).toBeUndefined()
      expect(nock.pendingMocks()).toEqual([])
    }
  )

  it.each([
    {
      status: 400,
      body: { error: { message: 'name too long' } },
      reason: /rejected the request \(400\): name too long/
    },
    { status: 401, body: { message: 'unknown key' }, reason: /refused the API key \(401\): unknown key/ },
    { status: 503, body: 'maintenance', reason: /could not process the request \(503\): maintenance/ }
  ])('returns Ortto’s $status reason as the hook error, without throwing', async ({ status, body, reason }) => {
    nock(ORIGIN).post('/v1/audiences/create').reply(status, body)
    const response = await runHook(slug, 'VIP')
    expect(response.savedData).toBeUndefined()
    expect(response.error?.code).toBe('CREATE_AUDIENCE_FAILED')
    expect(response.error?.message).toMatch(/^Could not link the audience "VIP": /)
    expect(response.error?.message).toMatch(reason)
  })

  it('returns an error when Ortto’s answer has no audience id', async () => {
    nock(ORIGIN).post('/v1/audiences/create').reply(200, { name: 'VIP' })
    const response = await runHook(slug, 'VIP')
    expect(response.error?.message).toMatch(/answer carried no audience id/)
  })

  it('returns an error when Ortto cannot be reached', async () => {
    nock(ORIGIN)
      .post('/v1/audiences/create')
      .replyWithError(Object.assign(new Error('connect refused'), { code: 'ECONNREFUSED' }))
    const response = await runHook(slug, 'VIP')
    expect(response.error?.message).toMatch(/Could not reach Ortto: ECONNREFUSED/)
  })

  it('returns an error for a malformed key, before any request and without repeating the key', async () => {
    const response = await runHook(slug, 'VIP', { api_key: 'pau_secret-value' })
    expect(response.error?.code).toBe('CREATE_AUDIENCE_FAILED')
    expect(response.error?.message).toMatch(/two-letter lower-case region/)
    expect(response.error?.message).not.toContain('pau_secret-value')
  })

  it('never lets the key out when Ortto echoes it', async () => {
    nock(ORIGIN).post('/v1/audiences/create').reply(403, `forbidden for ${API_KEY}`)
    const response = await runHook(slug, 'VIP')
    expect(JSON.stringify(response)).not.toContain(API_KEY)
  })
})

it('is the same hook on every action (written once)', () => {
  const hooks = ACTIONS.map(({ slug }) => definition.actions[slug].hooks?.onMappingSave)
  expect(new Set(hooks).size).toBe(1)
  expect(hooks[0]).toBeDefined()
})
