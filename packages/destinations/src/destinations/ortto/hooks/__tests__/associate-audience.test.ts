import nock from 'nock'
import { Destination, createRequestClient } from '@segment/actions-core'
import { associateAudience } from '../associate-audience'
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
      const ortto = nock(ORIGIN).post('/v1/audiences/create').reply(200, { id: 'aud-1', name: 'VIP' })
      const response = await runHook(slug, name)
      expect(response).toStrictEqual({
        successMessage: 'No audience name given: events of this mapping will not change audience membership.',
        savedData: {}
      })
      expect(ortto.isDone()).toBe(false)
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

  // An empty id would be saved with the mapping, and every event would then go out with no
  // audience: the hook must fail, so the user sees it when saving.
  it.each<[string, unknown]>([
    ['no id', { name: 'VIP' }],
    ['an empty id', { id: '', name: 'VIP' }],
    ['an id of spaces', { id: '  ', name: 'VIP' }],
    ['a numeric id', { id: 42, name: 'VIP' }],
    ['a body that is not an object', ['aud-1']],
    ['a body that is not JSON', 'created']
  ])('returns the hook’s error, saving nothing, when Ortto’s answer has %s', async (_case, body) => {
    nock(ORIGIN)
      .post('/v1/audiences/create')
      .reply(200, body as nock.Body)
    const response = await runHook(slug, 'VIP')
    expect(response).toStrictEqual({
      error: {
        message: 'Could not link the audience "VIP": Ortto\'s answer carried no audience id.',
        code: 'CREATE_AUDIENCE_FAILED'
      }
    })
  })

  it.each<[string, Record<string, unknown>]>([
    ['has no name', { id: 'aud-7' }],
    ['has an empty name', { id: 'aud-7', name: '' }],
    ['has a name of spaces', { id: 'aud-7', name: '   ' }],
    ['has a name that is not a string', { id: 'aud-7', name: 7 }]
  ])('saves the name as typed (trimmed) when Ortto’s answer %s', async (_case, body) => {
    nock(ORIGIN).post('/v1/audiences/create').reply(200, body)
    const response = await runHook(slug, ' Newsletter ')
    expect(response).toStrictEqual({
      successMessage: 'Contacts of this mapping will be linked to the Ortto audience "Newsletter" (id aud-7).',
      savedData: { audience_id: 'aud-7', audience_name: 'Newsletter' }
    })
  })

  it('saves the name Ortto answers with when it differs from the one typed', async () => {
    nock(ORIGIN).post('/v1/audiences/create').reply(200, { id: 'aud-8', name: 'VIP customers' })
    const response = await runHook(slug, 'vip customers')
    expect(response.savedData).toStrictEqual({ audience_id: 'aud-8', audience_name: 'VIP customers' })
  })

  it.each([200, 201, 299])('takes a %i answer as success', async (status) => {
    nock(ORIGIN).post('/v1/audiences/create').reply(status, { id: 'aud-9', name: 'VIP' })
    const response = await runHook(slug, 'VIP')
    expect(response.savedData).toStrictEqual({ audience_id: 'aud-9', audience_name: 'VIP' })
  })

  it.each([300, 302])('takes a %i answer, even with an id, as the hook’s error', async (status) => {
    nock(ORIGIN).post('/v1/audiences/create').reply(status, { id: 'aud-9', name: 'VIP' })
    const response = await runHook(slug, 'VIP')
    expect(response.savedData).toBeUndefined()
    expect(response.error?.code).toBe('CREATE_AUDIENCE_FAILED')
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

// What Segment's UI shows and saves: renaming an output would orphan every saved mapping.
it('declares the catalog’s hook: its label, one optional input, two optional outputs', () => {
  const hook = definition.actions.upsertContact.hooks?.onMappingSave
  expect(hook).toStrictEqual({
    label: 'Associate Audience',
    description:
      'Link the Contact to an Audience in Ortto. If the Audience does not already exist, it will be created in Ortto.',
    inputFields: {
      audience_name: {
        label: 'Audience Name',
        description: 'The name of the Ortto Audience to link the Contact to.',
        type: 'string',
        required: false
      }
    },
    outputTypes: {
      audience_id: {
        label: 'ID',
        description: 'The ID of the Ortto Audience Contacts will be linked to.',
        type: 'string',
        required: false
      },
      audience_name: {
        label: 'Name',
        description: 'The name of the Ortto Audience Contacts will be linked to.',
        type: 'string',
        required: false
      }
    },
    performHook: expect.any(Function) as unknown
  })
})

it('treats a save without hook inputs as an empty name: no request', async () => {
  const ortto = nock(ORIGIN).post('/v1/audiences/create').reply(200, { id: 'aud-1', name: 'VIP' })
  const request = createRequestClient({ headers: { Authorization: `Bearer ${API_KEY}` } })
  await expect(associateAudience(request, settings, undefined)).resolves.toStrictEqual({
    successMessage: 'No audience name given: events of this mapping will not change audience membership.',
    savedData: {}
  })
  expect(ortto.isDone()).toBe(false)
})

it('is the same hook on every action (written once)', () => {
  const hooks = ACTIONS.map(({ slug }) => definition.actions[slug].hooks?.onMappingSave)
  expect(new Set(hooks).size).toBe(1)
  expect(hooks[0]).toBeDefined()
})
