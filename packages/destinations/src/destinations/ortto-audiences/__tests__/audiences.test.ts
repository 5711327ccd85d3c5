/**
 * createAudience and getAudience through actions-core's Destination, as Segment calls them when
 * the destination is added to an Engage audience and when it checks the audience still exists.
 */
import nock from 'nock'
import { API_KEY, ORIGIN, rejectionOf, testDestination } from './__helpers__/audiences'

const RATE_LIMIT_BODY = { error: { code: 'rate-limit', message: 'rate limit', 'try-in-seconds': 10 } }

const createAudience = (
  input: { audienceName?: string; audienceSettings?: { audienceName?: string } },
  key = API_KEY
) => testDestination().createAudience({ settings: { api_key: key }, audienceName: '', ...input } as never)

const getAudience = (externalId: string, key = API_KEY) =>
  testDestination().getAudience({ settings: { api_key: key }, externalId })

/** Intercepts one POST to `path`, recording its body, and answers it with `status` and `body`. */
function stubAudience(path: string, status: number, body?: unknown) {
  const sent: unknown[] = []
  const scope = nock(ORIGIN)
    .post(path, (received: unknown) => {
      sent.push(received)
      return true
    })
    .matchHeader('authorization', `Bearer ${API_KEY}`)
    .reply(status, body as nock.Body)
  return { sent, scope }
}

describe('createAudience', () => {
  it('creates (or finds) the audience named in the Audience Name field, trimmed, and returns its id', async () => {
    const ortto = stubAudience('/v1/audiences/create', 200, { id: 'aud-1', name: 'VIP Customers' })
    const result = await createAudience({
      audienceName: 'vip_customers',
      audienceSettings: { audienceName: '  VIP Customers ' }
    })
    expect(result).toEqual({ externalId: 'aud-1' })
    expect(ortto.sent).toEqual([{ name: 'VIP Customers' }])
  })

  it.each([undefined, '', '   '])(
    'uses the Engage audience’s own name when the Audience Name field is %p',
    async (fieldValue) => {
      const ortto = stubAudience('/v1/audiences/create', 200, { id: 'aud-2', name: 'vip_customers' })
      const audienceSettings = fieldValue === undefined ? undefined : { audienceName: fieldValue }
      await expect(createAudience({ audienceName: ' vip_customers ', audienceSettings })).resolves.toEqual({
        externalId: 'aud-2'
      })
      expect(ortto.sent).toEqual([{ name: 'vip_customers' }])
    }
  )

  it.each([
    ['no name at all', { audienceName: undefined }],
    ['no name at all, with audience settings that have none', { audienceName: undefined, audienceSettings: {} }],
    ['blank names', { audienceName: '  ', audienceSettings: { audienceName: ' \t' } }]
  ])('fails %s with a PayloadValidationError before any request', async (_case, input) => {
    const ortto = stubAudience('/v1/audiences/create', 200, { id: 'aud-1' })
    const error = await rejectionOf(createAudience(input))
    expect(error.constructor.name).toBe('PayloadValidationError')
    expect(error.message).toMatch(/no name: fill in the Audience Name audience field/)
    expect(ortto.scope.isDone()).toBe(false)
  })

  it.each([
    ['no id', { name: 'VIP' }],
    ['an empty id', { id: '', name: 'VIP' }],
    ['an id that is not a string', { id: 42, name: 'VIP' }],
    ['a list instead of an audience', [{ id: 'aud-1' }]],
    ['a body that is not JSON', 'aud-1']
  ])('fails when Ortto’s answer carries %s, as retryable', async (_case, body) => {
    stubAudience('/v1/audiences/create', 200, body)
    const error = await rejectionOf(createAudience({ audienceName: 'VIP' }))
    expect(error.status).toBe(502)
    expect(error.message).toBe('Could not create the Ortto audience "VIP": Ortto\'s answer carried no audience id.')
    expect(error.constructor.name).toBe('RetryableError')
  })

  it('takes any 2xx answer that names an audience as success', async () => {
    stubAudience('/v1/audiences/create', 299, { id: 'aud-299' })
    await expect(createAudience({ audienceName: 'VIP' })).resolves.toEqual({ externalId: 'aud-299' })
  })
})

describe('getAudience', () => {
  it('reads the audience by the id Segment stored and returns it', async () => {
    const ortto = stubAudience('/v1/audiences/get', 200, { id: 'aud-1', name: 'VIP Customers' })
    await expect(getAudience('aud-1')).resolves.toEqual({ externalId: 'aud-1' })
    expect(ortto.sent).toEqual([{ id: 'aud-1' }])
  })

  it.each([undefined, '', '   '])(
    'fails a missing or blank id (%p) with a PayloadValidationError before any request',
    async (id) => {
      const ortto = stubAudience('/v1/audiences/get', 200, { id: 'aud-1' })
      const error = await rejectionOf(getAudience(id as string))
      expect(error.constructor.name).toBe('PayloadValidationError')
      expect(error.message).toMatch(/audience id is empty/)
      expect(ortto.scope.isDone()).toBe(false)
    }
  )

  it('says the audience no longer exists in Ortto when Ortto answers 404', async () => {
    stubAudience('/v1/audiences/get', 404, { error: { message: 'not found' } })
    const error = await rejectionOf(getAudience('aud-gone'))
    expect(error).toMatchObject({ status: 404, code: 'NOT_FOUND' })
    expect(error.constructor.name).toBe('IntegrationError')
    expect(error.message).toBe(
      'The audience aud-gone no longer exists in Ortto (it may have been deleted there). ' +
        'Remove Ortto (Audiences) from the Engage audience and add it again, so Segment creates it anew.'
    )
  })
})

const CALLS = [
  {
    name: 'createAudience',
    path: '/v1/audiences/create',
    doing: 'Could not create the Ortto audience "VIP": ',
    call: (key?: string) => createAudience({ audienceName: 'VIP' }, key)
  },
  {
    name: 'getAudience',
    path: '/v1/audiences/get',
    doing: 'Could not read the Ortto audience aud-1: ',
    call: (key?: string) => getAudience('aud-1', key)
  }
]

describe.each(CALLS)('$name classifies Ortto’s failures as the core does', ({ path, doing, call }) => {
  it.each([
    {
      reply: 401,
      body: { message: 'bad key' },
      errorClass: 'InvalidAuthenticationError',
      message: /refused the API key \(401\): bad key/
    },
    {
      reply: 403,
      body: { error: 'forbidden' },
      errorClass: 'InvalidAuthenticationError',
      message: /refused the API key \(403\): forbidden/
    },
    {
      reply: 429,
      body: RATE_LIMIT_BODY,
      errorClass: 'RetryableError',
      message: /rate limit reached \(429\).*try again in 10 seconds/
    },
    { reply: 500, body: 'boom', errorClass: 'RetryableError', message: /could not process the request \(500\): boom/ },
    {
      reply: 503,
      body: '',
      errorClass: 'RetryableError',
      message: /could not process the request \(503\): no reason given/
    },
    {
      reply: 400,
      body: { error: { message: 'name too long' } },
      errorClass: 'IntegrationError',
      message: /rejected the request \(400\): name too long/
    }
  ])('a $reply is a $errorClass with Ortto’s reason', async ({ reply, body, errorClass, message }) => {
    stubAudience(path, reply, body)
    const error = await rejectionOf(call())
    expect(error.constructor.name).toBe(errorClass)
    expect(error.status).toBe(reply)
    expect(error.message.startsWith(doing)).toBe(true)
    expect(error.message).toMatch(message)
  })

  it('treats a dropped connection as retryable (503), after one attempt (Segment retries)', async () => {
    let attempts = 0
    nock(ORIGIN)
      .post(path, () => ++attempts > 0)
      .times(3)
      .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
    const error = await rejectionOf(call())
    expect(error.constructor.name).toBe('RetryableError')
    expect(error.status).toBe(503)
    expect(error.message).toMatch(/Could not reach Ortto: ECONNRESET/)
    expect(attempts).toBe(1)
  })

  it('rejects a malformed key before any request, without repeating it', async () => {
    const ortto = stubAudience(path, 200, { id: 'aud-1' })
    const error = await rejectionOf(call('pa/-x'))
    expect(error.constructor.name).toBe('InvalidAuthenticationError')
    expect(error.message).toMatch(/two-letter lower-case region/)
    expect(error.message).not.toContain('pa/-x')
    expect(ortto.scope.isDone()).toBe(false)
  })

  it('never lets the API key out, even when Ortto echoes it', async () => {
    stubAudience(path, 400, { message: `key ${API_KEY} is not allowed here` })
    const error = await rejectionOf(call())
    expect(error.message).toContain('key «redacted» is not allowed here')
    expect(JSON.stringify({ ...error, message: error.message, stack: error.stack })).not.toContain(API_KEY)
  })
})
