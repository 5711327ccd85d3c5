/**
 * Sync Audience's rules, each through perform (single) and performBatch (batch) alike where both
 * apply: membership from the computation key, what goes on the wire, per-event validation, and
 * the core's delivery path (splitting, 207 attribution, halting) on PUT /v1/audiences/members.
 */
import nock from 'nock'
import { createRequestClient } from '@segment/actions-core'
import type { MultiStatusResponse, SegmentEvent } from '@segment/actions-core'
import definition from '../index'
import type { Payload } from '../syncAudience/generated-types'
import {
  API_KEY,
  AUDIENCE_ID,
  COMPUTATION_KEY,
  MEMBERS_PATH,
  MODES,
  ORIGIN,
  engageIdentify,
  engageTrack,
  rejectionOf,
  runSyncBatch,
  settings,
  stubMembers,
  syncOutcome
} from './__helpers__/audiences'

const RATE_LIMIT_BODY = { error: { code: 'rate-limit', message: 'rate limit', 'try-in-seconds': 10 } }

const added = { mode: 'add', id: AUDIENCE_ID }
const removed = { mode: 'remove', id: AUDIENCE_ID }

/** A mapped Sync Audience payload, as actions-core hands it to perform/performBatch. */
const payload = (overrides: Partial<Payload> = {}): Payload => ({
  segment_computation_action: 'audience',
  computation_key: COMPUTATION_KEY,
  external_audience_id: AUDIENCE_ID,
  user_id: 'user-1',
  traits: { [COMPUTATION_KEY]: true },
  ...overrides
})

/** Calls the action's performBatch directly: what reaches it when nothing validated the payloads first. */
async function performBatchDirectly(payloads: Payload[]) {
  const request = createRequestClient({ headers: { Authorization: `Bearer ${API_KEY}` } })
  const response = (await definition.actions.syncAudience.performBatch?.(request, {
    payload: payloads,
    settings
  })) as MultiStatusResponse
  return response.getAllResponses().map((entry) => entry.value())
}

/** The error message of one result (undefined for a success). */
const errorMessageOf = (result: object): unknown => (result as { errormessage?: unknown }).errormessage

/** A trait value that makes an event's member object about `bytes` bytes of JSON. */
const padding = (bytes: number) => 'x'.repeat(bytes)

describe.each(MODES)('%s mode', (mode) => {
  describe('membership', () => {
    it('adds the person to the Ortto audience when the computation key’s trait is true (identify)', async () => {
      const ortto = stubMembers([200, {}])
      await expect(syncOutcome(mode, engageIdentify(true))).resolves.toEqual({ status: 200 })
      expect(ortto.bodies).toEqual([
        [
          {
            user_id: 'user-1',
            anonymous_id: 'anon-1',
            message_id: 'msg-1',
            traits: { email: 'ada@example.com' },
            audience: added
          }
        ]
      ])
    })

    it('reads the membership of a track call (Audience Entered / Exited) from its properties', async () => {
      const ortto = stubMembers([200, {}], [200, {}])
      await expect(syncOutcome(mode, engageTrack(true))).resolves.toEqual({ status: 200 })
      await expect(syncOutcome(mode, engageTrack(false))).resolves.toEqual({ status: 200 })
      expect(ortto.bodies.map(([member]) => member.audience)).toEqual([added, removed])
      expect(ortto.bodies.map(([member]) => member.traits)).toEqual([
        { audience_key: COMPUTATION_KEY },
        { audience_key: COMPUTATION_KEY }
      ])
    })

    it.each([
      ['false', false],
      ['the string "true"', 'true'],
      ['1', 1],
      ['null', null]
    ])('removes the person when the trait is %s (only true adds)', async (_name, value) => {
      const ortto = stubMembers([200, {}])
      await expect(syncOutcome(mode, engageIdentify(value))).resolves.toEqual({ status: 200 })
      expect(ortto.bodies[0][0].audience).toEqual(removed)
      expect(ortto.bodies[0][0].traits).toEqual({ email: 'ada@example.com' })
    })

    it('removes the person when the event has no trait of that name', async () => {
      const ortto = stubMembers([200, {}])
      const event = engageIdentify(true, { personas: { computation_key: 'other_audience' } })
      await expect(syncOutcome(mode, event)).resolves.toEqual({ status: 200 })
      expect(ortto.bodies[0][0].audience).toEqual(removed)
      // A trait that is not the computation key is a contact trait like any other.
      expect(ortto.bodies[0][0].traits).toEqual({ email: 'ada@example.com', [COMPUTATION_KEY]: true })
    })

    it('sends a journey step’s membership the same way', async () => {
      const ortto = stubMembers([200, {}])
      const event = engageIdentify(true, { personas: { computation_class: 'journey_step' } })
      await expect(syncOutcome(mode, event)).resolves.toEqual({ status: 200 })
      expect(ortto.bodies[0][0].audience).toEqual(added)
    })
  })

  describe('what goes on the wire', () => {
    it('sends only Ortto’s keys: the contact keys of identify plus audience', async () => {
      const ortto = stubMembers([200, {}])
      const event = engageIdentify(true, {
        traits: { ip: '10.1.2.3', country: 'Australia', city: 'Sydney', postal_code: '2000', plan: 'pro' }
      })
      await syncOutcome(mode, event)
      expect(ortto.bodies[0][0]).toEqual({
        user_id: 'user-1',
        anonymous_id: 'anon-1',
        ip: '10.1.2.3',
        location: { country: 'Australia', city: 'Sydney', post_code: '2000' },
        traits: {
          email: 'ada@example.com',
          ip: '10.1.2.3',
          country: 'Australia',
          city: 'Sydney',
          postal_code: '2000',
          plan: 'pro'
        },
        message_id: 'msg-1',
        audience: added
      })
    })

    it('leaves out trait names that are the empty string, at every depth, as the core does', async () => {
      const ortto = stubMembers([200, {}])
      const event = engageIdentify(true, { traits: { '': 'nameless', profile: { '': 1, tier: 'gold' } } })
      await syncOutcome(mode, event)
      expect(ortto.bodies[0][0].traits).toEqual({ email: 'ada@example.com', profile: { tier: 'gold' } })
    })

    it('keeps a nested value named like the computation key: only the top-level trait is Engage’s', async () => {
      const ortto = stubMembers([200, {}])
      const event = engageIdentify(true, { traits: { history: { [COMPUTATION_KEY]: true } } })
      await syncOutcome(mode, event)
      expect(ortto.bodies[0][0].traits).toEqual({ email: 'ada@example.com', history: { [COMPUTATION_KEY]: true } })
    })

    it('sends no traits when the computation key was the only one', async () => {
      const ortto = stubMembers([200, {}])
      await syncOutcome(mode, engageTrack(true, { properties: { [COMPUTATION_KEY]: true } }))
      expect(ortto.bodies[0][0]).not.toHaveProperty('traits')
      expect(ortto.bodies[0][0].audience).toEqual(added)
    })

    it('PUTs to /v1/audiences/members with the key in the Authorization header', async () => {
      const members = nock(ORIGIN)
        .put(MEMBERS_PATH)
        .matchHeader('authorization', `Bearer ${API_KEY}`)
        .matchHeader('content-type', 'application/json')
        .reply(200, {})
      const posted = nock(ORIGIN).post(MEMBERS_PATH).reply(200, {})
      await expect(syncOutcome(mode, engageIdentify(true))).resolves.toEqual({ status: 200 })
      expect(members.isDone()).toBe(true)
      expect(posted.isDone()).toBe(false)
    })
  })

  describe('events that are not sent (400 PAYLOAD_VALIDATION_FAILED)', () => {
    // actions-core's field schema refuses some events before the action runs (in single mode it
    // throws its own AggregateAjvError); the action refuses the rest itself.
    it.each([
      {
        case: 'a computation class other than audience or journey_step',
        overrides: { personas: { computation_class: 'trait' } },
        message: /Segment Computation Action must be one of/,
        singleError: 'AggregateAjvError'
      },
      {
        case: 'a blank Ortto audience id',
        overrides: { personas: { external_audience_id: '  ' } },
        message: /Ortto Audience ID is empty/,
        singleError: 'PayloadValidationError'
      },
      {
        case: 'a blank computation key',
        overrides: { personas: { computation_key: ' ' } },
        message: /Audience Computation Key is empty/,
        singleError: 'PayloadValidationError'
      },
      {
        case: 'neither a User ID nor an Anonymous ID',
        overrides: { userId: '  ', anonymousId: '' },
        message: /neither a User ID nor an Anonymous ID/,
        singleError: 'PayloadValidationError'
      }
    ])('fails an event with $case before any request', async ({ overrides, message, singleError }) => {
      const ortto = stubMembers([200, {}])
      const outcome = await syncOutcome(mode, engageIdentify(true, overrides as Partial<SegmentEvent>))
      expect(outcome.message).toMatch(message)
      if (mode === 'batch') expect(outcome).toMatchObject({ status: 400, errortype: 'PAYLOAD_VALIDATION_FAILED' })
      else expect(outcome.errorClass).toBe(singleError)
      if (singleError === 'PayloadValidationError' && mode === 'single') expect(outcome.status).toBe(400)
      expect(ortto.bodies).toEqual([])
    })
  })

  describe('Ortto’s answers', () => {
    it('fails an event Ortto rejects in a 207 with Ortto’s status and reason (perform throws)', async () => {
      stubMembers([207, { errors: [{ index: 0, status: 422, message: 'contact is archived' }] }])
      const outcome = await syncOutcome(mode, engageIdentify(true))
      expect(outcome).toMatchObject({ status: 422, message: 'Ortto rejected this event (422): contact is archived' })
      if (mode === 'single') expect(outcome.errorClass).toBe('IntegrationError')
      else expect(outcome.errortype).toBe('UNPROCESSABLE_ENTITY')
    })

    it.each([
      {
        reply: 401,
        body: { message: 'bad key' },
        errorClass: 'InvalidAuthenticationError',
        errortype: 'INVALID_AUTHENTICATION'
      },
      {
        reply: 403,
        body: { error: 'forbidden' },
        errorClass: 'InvalidAuthenticationError',
        errortype: 'INVALID_AUTHENTICATION'
      },
      { reply: 429, body: RATE_LIMIT_BODY, errorClass: 'RetryableError', errortype: 'TOO_MANY_REQUESTS' },
      { reply: 500, body: 'boom', errorClass: 'RetryableError', errortype: 'INTERNAL_SERVER_ERROR' },
      {
        reply: 400,
        body: { error: { message: 'not an array' } },
        errorClass: 'IntegrationError',
        errortype: 'BAD_REQUEST'
      }
    ])(
      'a whole-request $reply fails the event ($errorClass / $errortype)',
      async ({ reply, body, errorClass, errortype }) => {
        stubMembers([reply, body])
        const outcome = await syncOutcome(mode, engageIdentify(true))
        expect(outcome.status).toBe(reply)
        if (mode === 'single') expect(outcome.errorClass).toBe(errorClass)
        else expect(outcome.errortype).toBe(errortype)
        if (reply === 429) expect(outcome.message).toMatch(/try again in 10 seconds/)
      }
    )

    it('rejects a malformed API key before any request, without repeating it', async () => {
      const ortto = stubMembers([200, {}])
      const outcome = await syncOutcome(mode, engageIdentify(true), { settings: { api_key: 'pa/-x' } })
      expect(outcome).toMatchObject({ status: 401, errortype: 'INVALID_AUTHENTICATION' })
      expect(outcome.message).not.toContain('pa/-x')
      expect(ortto.bodies).toEqual([])
    })

    it('never lets the API key out, even when Ortto echoes it', async () => {
      stubMembers([400, { message: `key ${API_KEY} is not allowed here` }])
      const outcome = await syncOutcome(mode, engageIdentify(true))
      expect(outcome.message).toContain('key «redacted» is not allowed here')
      expect(JSON.stringify(outcome)).not.toContain(API_KEY)
    })
  })
})

describe('batch mode', () => {
  it('gives each event its own outcome in Segment’s order, re-attributing Ortto’s indexes past unsent events', async () => {
    // Events 0 and 2 are never sent, so Ortto's index 1 is Segment's event 3.
    const ortto = stubMembers([207, { errors: [{ index: 1, status: 400, message: 'rejected' }] }])
    const results = await runSyncBatch([
      engageIdentify(true, { userId: 'u0', personas: { computation_class: 'trait' } }),
      engageIdentify(true, { userId: 'u1' }),
      engageIdentify(true, { userId: 'u2', personas: { external_audience_id: '' } }),
      engageIdentify(false, { userId: 'u3' }),
      engageIdentify(true, { userId: 'u4' })
    ])
    expect(results.map((r) => r.status)).toEqual([400, 200, 400, 400, 200])
    expect(results[2]).toMatchObject({
      errortype: 'PAYLOAD_VALIDATION_FAILED',
      errormessage: /Ortto Audience ID is empty/
    })
    expect(results[3]).toMatchObject({
      errormessage: 'Ortto rejected this event (400): rejected',
      sent: { user_id: 'u3', audience: removed }
    })
    expect(results[2]).not.toHaveProperty('sent')
    expect(ortto.bodies.map((body) => body.map((member) => member.user_id))).toEqual([['u1', 'u3', 'u4']])
  })

  it('fails an event with an empty computation key before any request', async () => {
    const ortto = stubMembers([200, {}])
    const results = await runSyncBatch([
      engageIdentify(true, { userId: 'u0', personas: { computation_key: '' } }),
      engageIdentify(true, { userId: 'u1' })
    ])
    expect(results.map((r) => r.status)).toEqual([400, 200])
    expect(results[0]).toMatchObject({ errortype: 'PAYLOAD_VALIDATION_FAILED' })
    expect(errorMessageOf(results[0])).toMatch(/Audience Computation Key is empty/)
    expect(ortto.bodies.map((body) => body.length)).toEqual([1])
  })

  it('sends at most 500 members per request and attributes a 207 of the second request to Segment’s events', async () => {
    const ortto = stubMembers([200, {}], [207, { errors: [{ index: 0, status: 400, message: 'rejected' }] }])
    const events = Array.from({ length: 501 }, (_, i) => engageIdentify(i % 2 === 0, { userId: `u${i}` }))
    const results = await runSyncBatch(events)
    expect(ortto.bodies.map((body) => body.length)).toEqual([500, 1])
    expect(ortto.bodies[1][0]).toMatchObject({ user_id: 'u500', audience: added })
    expect(results.filter((r) => r.status === 200)).toHaveLength(500)
    expect(results[500]).toMatchObject({ status: 400, errormessage: 'Ortto rejected this event (400): rejected' })
  })

  it('keeps each request within 2,000,000 bytes and fails a member too large to send alone (413)', async () => {
    const ortto = stubMembers([200, {}], [207, { errors: [{ index: 0, status: 400, message: 'rejected' }] }])
    const big = (userId: string, bytes: number) => engageIdentify(true, { userId, traits: { notes: padding(bytes) } })
    const results = await runSyncBatch([
      big('u0', 900_000),
      big('u1', 2_000_000),
      big('u2', 900_000),
      big('u3', 900_000)
    ])
    expect(ortto.bodies.map((body) => body.map((member) => member.user_id))).toEqual([['u0', 'u2'], ['u3']])
    expect(results.map((r) => r.status)).toEqual([200, 413, 200, 400])
    expect(results[1]).not.toHaveProperty('sent')
    expect(results[3]).toMatchObject({
      sent: { user_id: 'u3' },
      errormessage: 'Ortto rejected this event (400): rejected'
    })
  })

  it.each([
    [401, { message: 'bad key' }, 'INVALID_AUTHENTICATION'],
    [429, RATE_LIMIT_BODY, 'TOO_MANY_REQUESTS']
  ])('sends nothing more after a %s: the rest of the batch fails “Not sent”', async (status, body, errortype) => {
    const ortto = stubMembers([status, body], [200, {}])
    const events = Array.from({ length: 1001 }, (_, i) => engageIdentify(true, { userId: `u${i}` }))
    const results = await runSyncBatch(events)
    expect(ortto.bodies.map((b) => b.length)).toEqual([500])
    expect(results.every((r) => r.status === status && 'errortype' in r && r.errortype === errortype)).toBe(true)
    expect(errorMessageOf(results[500])).toMatch(/^Not sent: an earlier request of this batch failed/)
    expect(results[500]).not.toHaveProperty('sent')
  })
})

describe('performBatch called directly (nothing validated the payloads first)', () => {
  it('fails an event whose computation class is not an Engage one, and sends the others', async () => {
    const ortto = stubMembers([200, {}])
    const results = await performBatchDirectly([
      payload({ user_id: 'u0', segment_computation_action: 'trait' }),
      payload({ user_id: 'u1', segment_computation_action: '' }),
      payload({ user_id: 'u2' })
    ])
    expect(results.map((r) => r.status)).toEqual([400, 400, 200])
    expect(results[0]).toMatchObject({ errortype: 'PAYLOAD_VALIDATION_FAILED' })
    expect(errorMessageOf(results[0])).toBe(
      'This is not an Engage audience event: its Segment Computation Action is "trait", and Sync Audience takes ' +
        'only "audience" or "journey_step". Map segment_computation_action to $.context.personas.computation_class ' +
        'and send it Engage audience events.'
    )
    expect(errorMessageOf(results[1])).toMatch(/Segment Computation Action is missing/)
    expect(ortto.bodies.map((body) => body.map((member) => member.user_id))).toEqual([['u2']])
  })

  it('fails an event whose computation class, audience id or computation key is absent, and sends the others', async () => {
    const ortto = stubMembers([200, {}])
    const results = await performBatchDirectly([
      payload({ user_id: 'u0', segment_computation_action: undefined }),
      payload({ user_id: 'u1', external_audience_id: undefined }),
      payload({ user_id: 'u2', computation_key: undefined }),
      payload({ user_id: 'u3' })
    ])
    expect(results.map((r) => r.status)).toEqual([400, 400, 400, 200])
    expect(errorMessageOf(results[0])).toMatch(/Segment Computation Action is missing/)
    expect(errorMessageOf(results[1])).toBe(
      'The Ortto Audience ID is empty: Engage sets it (context.personas.external_audience_id) once createAudience ' +
        'has created the audience in Ortto. Map external_audience_id to $.context.personas.external_audience_id.'
    )
    expect(errorMessageOf(results[2])).toBe(
      'The Audience Computation Key is empty, so whether the person entered or left the audience cannot be read. ' +
        'Map computation_key to $.context.personas.computation_key.'
    )
    expect(ortto.bodies.map((body) => body.map((member) => member.user_id))).toEqual([['u3']])
  })

  it('removes the person when the traits are absent, null, or carry the computation key only by inheritance', async () => {
    const ortto = stubMembers([200, {}])
    const inherited = Object.create({ [COMPUTATION_KEY]: true }) as Payload['traits']
    const results = await performBatchDirectly([
      payload({ user_id: 'u0', traits: undefined }),
      payload({ user_id: 'u1', traits: null as unknown as Payload['traits'] }),
      payload({ user_id: 'u2', traits: inherited })
    ])
    expect(results.map((r) => r.status)).toEqual([200, 200, 200])
    expect(ortto.bodies[0].map((member) => [member.user_id, member.audience])).toEqual([
      ['u0', removed],
      ['u1', removed],
      ['u2', removed]
    ])
  })

  it('perform throws a PayloadValidationError for such an event, without a request', async () => {
    const ortto = stubMembers([200, {}])
    const request = createRequestClient({ headers: { Authorization: `Bearer ${API_KEY}` } })
    const error = await rejectionOf(
      Promise.resolve(
        definition.actions.syncAudience.perform(request, {
          payload: payload({ segment_computation_action: 'identify' }),
          settings
        })
      )
    )
    expect(error.constructor.name).toBe('PayloadValidationError')
    expect(error.message).toMatch(/Segment Computation Action is "identify"/)
    expect(ortto.bodies).toEqual([])
  })

  it('does not modify the payloads it is given', async () => {
    stubMembers([200, {}])
    const traits = { [COMPUTATION_KEY]: true, '': 'nameless', plan: 'pro' }
    const given = payload({ traits })
    const before = JSON.stringify(given)
    await performBatchDirectly([given])
    expect(JSON.stringify(given)).toBe(before)
    expect(given.traits).toBe(traits)
  })
})
