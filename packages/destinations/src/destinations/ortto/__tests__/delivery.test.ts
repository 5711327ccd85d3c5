/**
 * Delivery rules both actions share, each checked through perform (single) and performBatch
 * (batch) alike: single mode must never report success for an event batch mode fails.
 */
import nock from 'nock'
import {
  ACTIONS,
  API_KEY,
  MODES,
  ORIGIN,
  eventFor,
  mappingFor,
  outcomeOf,
  runBatch,
  settings,
  stubOrtto
} from './__helpers__/ortto'

const RATE_LIMIT_BODY = { error: { code: 'rate-limit', message: 'rate limit', 'try-in-seconds': 10 } }

describe.each(ACTIONS)('$slug', ({ slug, path }) => {
  describe.each(MODES)('%s mode', (mode) => {
    it('delivers an accepted event with status 200', async () => {
      const ortto = stubOrtto(path, [200, {}])
      await expect(outcomeOf(mode, slug, eventFor(slug))).resolves.toEqual({ status: 200 })
      expect(ortto.bodies).toHaveLength(1)
    })

    it('fails an event Ortto rejects in a 207 with Ortto’s status and reason', async () => {
      stubOrtto(path, [207, { errors: [{ index: 0, status: 422, message: 'email is not valid' }] }])
      const outcome = await outcomeOf(mode, slug, eventFor(slug))
      expect(outcome).toMatchObject({ status: 422, errortype: 'UNPROCESSABLE_ENTITY' })
      expect(outcome.message).toContain('email is not valid')
    })

    it('fails an event with neither id before any request (400 PAYLOAD_VALIDATION_FAILED)', async () => {
      const ortto = nock(ORIGIN).post(path).reply(200, {})
      const outcome = await outcomeOf(mode, slug, eventFor(slug, { userId: '  ', anonymousId: '' }))
      expect(outcome).toMatchObject({ status: 400, errortype: 'PAYLOAD_VALIDATION_FAILED' })
      expect(outcome.message).toMatch(/neither a User ID nor an Anonymous ID/)
      expect(ortto.isDone()).toBe(false)
    })

    it.each([
      {
        reply: 429,
        body: RATE_LIMIT_BODY,
        errortype: 'TOO_MANY_REQUESTS',
        message: /try again in 10 seconds/,
        errorClass: 'RetryableError'
      },
      {
        reply: 500,
        body: 'boom',
        errortype: 'INTERNAL_SERVER_ERROR',
        message: /could not process the request \(500\): boom/,
        errorClass: 'RetryableError'
      },
      {
        reply: 503,
        body: '',
        errortype: 'SERVICE_UNAVAILABLE',
        message: /\(503\): no reason given/,
        errorClass: 'RetryableError'
      },
      {
        reply: 401,
        body: { message: 'bad key' },
        errortype: 'INVALID_AUTHENTICATION',
        message: /refused the API key \(401\): bad key/,
        errorClass: 'InvalidAuthenticationError'
      },
      {
        reply: 403,
        body: { error: 'forbidden' },
        errortype: 'INVALID_AUTHENTICATION',
        message: /refused the API key \(403\): forbidden/,
        errorClass: 'InvalidAuthenticationError'
      },
      {
        reply: 400,
        body: { error: { message: 'not an array' } },
        errortype: 'BAD_REQUEST',
        message: /rejected the request \(400\): not an array/,
        errorClass: 'IntegrationError'
      },
      {
        reply: 413,
        body: 'too big',
        errortype: 'PAYLOAD_TOO_LARGE',
        message: /too large \(413\): too big/,
        errorClass: 'IntegrationError'
      }
    ])(
      'a whole-request $reply fails the event with that status ($errortype)',
      async ({ reply, body, errortype, message, errorClass }) => {
        stubOrtto(path, [reply, body])
        const outcome = await outcomeOf(mode, slug, eventFor(slug))
        expect(outcome.status).toBe(reply)
        expect(outcome.message).toMatch(message)
        if (mode === 'batch') expect(outcome.errortype).toBe(errortype)
        else expect(outcome.errorClass).toBe(errorClass)
      }
    )

    it('treats a dropped connection as retryable (503)', async () => {
      nock(ORIGIN)
        .post(path)
        .replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))
      const outcome = await outcomeOf(mode, slug, eventFor(slug))
      expect(outcome.status).toBe(503)
      expect(outcome.message).toMatch(/^Could not reach Ortto: ECONNRESET .*socket hang up/)
      if (mode === 'single') expect(outcome.errorClass).toBe('RetryableError')
    })

    it('rejects a malformed API key before any request, without repeating it', async () => {
      const outcome = await outcomeOf(mode, slug, eventFor(slug), { settings: { api_key: 'PAU-secret' } })
      expect(outcome).toMatchObject({ status: 401, errortype: 'INVALID_AUTHENTICATION' })
      expect(outcome.message).toMatch(/must start with "p" \(production\) or "s" \(staging\)/)
      expect(outcome.message).not.toContain('PAU-secret')
    })

    it('never lets the API key out, even when Ortto echoes it', async () => {
      stubOrtto(path, [400, { message: `key ${API_KEY} is not allowed here` }])
      const outcome = await outcomeOf(mode, slug, eventFor(slug))
      expect(outcome.status).toBe(400)
      expect(JSON.stringify(outcome)).not.toContain(API_KEY)
      expect(outcome.message).toContain('key «redacted» is not allowed here')
    })
  })

  describe('batch mode', () => {
    it('gives each event of a 207 its own outcome and keeps Segment’s order', async () => {
      const ortto = stubOrtto(path, [207, { errors: [{ index: 1, status: 400, message: 'bad trait' }] }])
      const events = ['u1', 'u2', 'u3'].map((userId) => eventFor(slug, { userId }))
      const results = await runBatch(slug, events)
      expect(results.map((r) => r.status)).toEqual([200, 400, 200])
      expect(results[1]).toMatchObject({
        errortype: 'BAD_REQUEST',
        errormessage: 'Ortto rejected this event (400): bad trait'
      })
      expect(results[1]).toMatchObject({
        sent: { user_id: 'u2' },
        body: { index: 1, status: 400, message: 'bad trait' }
      })
      expect(ortto.bodies[0].map((o) => (o as { user_id: string }).user_id)).toEqual(['u1', 'u2', 'u3'])
    })

    it('maps Ortto’s indexes back to Segment’s batch when earlier events were never sent', async () => {
      // Event 0 fails the framework's schema (a number where a string must be), event 1 fails our
      // own rules: Ortto sees only events 2 and 3, and its index 1 means Segment's event 3.
      const ortto = stubOrtto(path, [207, { errors: [{ index: 1, status: 400, message: 'rejected' }] }])
      const events = [
        eventFor(slug, { userId: 'schema-invalid', timestamp: 'yesterday' }),
        eventFor(slug, { userId: '', anonymousId: '' }),
        eventFor(slug, { userId: 'u2' }),
        eventFor(slug, { userId: 'u3' })
      ]
      const results = await runBatch(slug, events)
      expect(results.map((r) => r.status)).toEqual([400, 400, 200, 400])
      expect(results[3]).toMatchObject({
        sent: { user_id: 'u3' },
        errormessage: 'Ortto rejected this event (400): rejected'
      })
      expect(ortto.bodies[0]).toHaveLength(2)
    })

    // Object.keys, not toEqual: toEqual cannot tell `sent: undefined` from no `sent` at all.
    // (errorreporter is actions-core's own mark on every error entry.)
    it('gives an event that was never sent no `sent` key and no body; a sent one carries both', async () => {
      stubOrtto(path, [207, { errors: [{ index: 0, status: 400, message: 'bad trait' }] }])
      const results = await runBatch(slug, [
        eventFor(slug, { userId: 'u0' }),
        eventFor(slug, { userId: '', anonymousId: '' }),
        eventFor(slug, { userId: 'u2' })
      ])
      expect(results.map((r) => Object.keys(r).sort())).toEqual([
        ['body', 'errormessage', 'errorreporter', 'errortype', 'sent', 'status'],
        ['errormessage', 'errorreporter', 'errortype', 'status'],
        ['body', 'sent', 'status']
      ])
    })

    it('gives the events of a malformed key no `sent` key: nothing was sent', async () => {
      const results = await runBatch(slug, [eventFor(slug)], { settings: { api_key: 'pau' } })
      expect(results.map((r) => Object.keys(r).sort())).toEqual([
        ['errormessage', 'errorreporter', 'errortype', 'status']
      ])
    })

    it('reports every event of a failed request with the same whole-request failure', async () => {
      stubOrtto(path, [429, RATE_LIMIT_BODY])
      const results = await runBatch(slug, [eventFor(slug, { userId: 'a' }), eventFor(slug, { userId: 'b' })])
      expect(results).toHaveLength(2)
      // Ortto's answer rides along, so a retrier can honour its try-in-seconds.
      for (const result of results) {
        expect(result).toMatchObject({ status: 429, errortype: 'TOO_MANY_REQUESTS', body: RATE_LIMIT_BODY })
      }
    })

    it('never sends mapping-only fields (enable_batching, batch_size, audience_update_mode)', async () => {
      const ortto = stubOrtto(path, [200])
      await runBatch(slug, [eventFor(slug)], {
        mapping: mappingFor(slug, {
          overrides: { enable_batching: true, batch_size: 500, audience_update_mode: 'remove' }
        })
      })
      const sent = ortto.bodies[0][0] as Record<string, unknown>
      expect(sent).not.toHaveProperty('enable_batching')
      expect(sent).not.toHaveProperty('batch_size')
      expect(sent).not.toHaveProperty('audience_update_mode')
      expect(sent).not.toHaveProperty('audience')
    })
  })

  describe('audience membership', () => {
    it.each([
      ['add', { mode: 'add', id: 'aud-1' }],
      ['remove', { mode: 'remove', id: 'aud-1' }]
    ])('adds audience {mode: %s, id} when the mapping has a saved audience id', async (mode, audience) => {
      const ortto = stubOrtto(path, [200])
      await runBatch(slug, [eventFor(slug)], {
        mapping: mappingFor(slug, { audienceId: 'aud-1', overrides: { audience_update_mode: mode } })
      })
      expect(ortto.bodies[0][0]).toMatchObject({ audience })
    })

    it('adds no audience when the hook saved none', async () => {
      const ortto = stubOrtto(path, [200])
      await runBatch(slug, [eventFor(slug)], { mapping: mappingFor(slug, { audienceId: '' }) })
      expect(ortto.bodies[0][0]).not.toHaveProperty('audience')
    })

    /** The mapping of a linked audience whose Audience update mode the user cleared (`cleared` as saved). */
    type Cleared = 'absent' | null | ''
    const clearedMode = (cleared: Cleared) => {
      const mapping = mappingFor(slug, { audienceId: 'aud-1' })
      if (cleared === 'absent') delete mapping.audience_update_mode
      else mapping.audience_update_mode = cleared
      return mapping
    }

    describe.each(MODES)('%s mode', (mode) => {
      // actions-core drops a null (and, in single mode, an empty string) before the action runs;
      // either way the action sees no mode and changes no membership.
      it.each<Cleared>(['absent', null, ...(mode === 'single' ? [''] : [])] as Cleared[])(
        'delivers the event with no audience when the linked mapping’s mode is cleared (%j)',
        async (cleared) => {
          const ortto = stubOrtto(path, [200, {}])
          await expect(outcomeOf(mode, slug, eventFor(slug), { mapping: clearedMode(cleared) })).resolves.toEqual({
            status: 200
          })
          expect(ortto.bodies).toHaveLength(1)
          expect(ortto.bodies[0][0]).toMatchObject({ user_id: 'user1234', message_id: 'msg-1' })
          expect(ortto.bodies[0][0]).not.toHaveProperty('audience')
        }
      )
    })

    it('batch mode: an empty-string mode is refused by actions-core’s own check of the choices, with nothing sent', async () => {
      const ortto = nock(ORIGIN).post(path).reply(200, {})
      const [result] = await runBatch(slug, [eventFor(slug)], { mapping: clearedMode('') })
      expect(result).toMatchObject({
        status: 400,
        errortype: 'PAYLOAD_VALIDATION_FAILED',
        errormessage: 'Audience update mode must be one of: "add" or "remove".'
      })
      expect(ortto.isDone()).toBe(false)
    })
  })

  describe('where requests go', () => {
    const saved = { ...process.env }
    afterEach(() => {
      process.env = { ...saved }
    })

    it('uses the key from the settings; no environment variable can replace it', async () => {
      process.env.ORTTO_API_KEY = 'pus-from-the-environment'
      process.env.API_KEY = 'pus-from-the-environment'
      const ortto = nock(ORIGIN).post(path).matchHeader('authorization', `Bearer ${settings.api_key}`).reply(200, {})
      await expect(runBatch(slug, [eventFor(slug)])).resolves.toMatchObject([{ status: 200 }])
      expect(ortto.isDone()).toBe(true)
    })

    it('goes to the staging host for an s-key and to ORTTO_LOCAL_ENDPOINT when set', async () => {
      nock('https://segment-action-api-eu.ortto-stg.app').post(path).reply(200, {})
      await expect(runBatch(slug, [eventFor(slug)], { settings: { api_key: 'seu-abc' } })).resolves.toMatchObject([
        { status: 200 }
      ])
      process.env.ORTTO_LOCAL_ENDPOINT = 'http://127.0.0.1:4318/'
      const local = nock('http://127.0.0.1:4318').post(path).reply(200, {})
      await expect(runBatch(slug, [eventFor(slug)])).resolves.toMatchObject([{ status: 200 }])
      expect(local.isDone()).toBe(true)
    })
  })
})
