/**
 * What each action reports to Segment's monitoring through the statsContext actions-core hands
 * it, single (testAction) and batch (testBatchAction): every outcome class, the requests sent
 * (split batches included), events left unsent after a 401/403/429, ip values left off; that no
 * tag ever carries a key, an id, an email or a message; and that nothing changes without a client.
 */
import nock from 'nock'
import { createRequestClient, createTestIntegration } from '@segment/actions-core'
import type { MultiStatusResponse, SegmentEvent, StatsContext } from '@segment/actions-core'
import definition from '../index'
import { ORTTO_SLUG } from '../constants'
import type { Settings } from '../generated-types'
import { ACTIONS, API_KEY, MODES, ORIGIN, eventFor, mappingFor, settings, stubOrtto } from './__helpers__/ortto'
import type { ActionSlug } from './__helpers__/ortto'
import { RUNTIME_TAGS, figuresOf, recordingStats, runWithStats } from './__helpers__/stats'
import type { Incr } from './__helpers__/stats'

const RATE_LIMIT_BODY = { error: { code: 'rate-limit', message: 'rate limit', 'try-in-seconds': 10 } }

type Mode = 'single' | 'batch'

const run = (
  mode: Mode,
  slug: ActionSlug,
  events: SegmentEvent[],
  options: { mapping?: ReturnType<typeof mappingFor>; settings?: Settings; statsContext?: StatsContext } = {}
) =>
  runWithStats(definition, mode, slug, events, {
    mapping: options.mapping ?? mappingFor(slug),
    settings: options.settings ?? settings,
    statsContext: options.statsContext
  })

/** This destination's figures for `slug`, as `name value own-tags` lines (see figuresOf). */
const figures = (calls: Incr[], slug: string) => figuresOf(calls, ORTTO_SLUG, slug)

/** Exactly these figures, in any order. */
const expectFigures = (calls: Incr[], slug: string, expected: string[]) =>
  expect(figures(calls, slug)).toEqual([...expected].sort())

/** An Ortto that drops the connection, with the error `code` the transport gives. */
const dropWith = (path: string, code: string) =>
  nock(ORIGIN)
    .post(path)
    .replyWithError(Object.assign(new Error(`transport ${code}`), { code }))

describe.each(ACTIONS)('$slug', ({ slug, path }) => {
  describe.each(MODES)('%s mode', (mode) => {
    it('counts a delivered event and the request that carried it', async () => {
      stubOrtto(path, [200, {}])
      const { statuses, calls } = await run(mode, slug, [eventFor(slug)])
      expect(statuses).toEqual([200])
      expectFigures(calls, slug, [`${slug}.delivered 1`, `${slug}.requests 1 status:200`])
    })

    it.each([
      [422, 'refused'],
      [400, 'refused'],
      [429, 'retryable'],
      [503, 'retryable']
    ])('counts an event Ortto lists in a 207 with status %i as %s, tagged with that status', async (status, what) => {
      stubOrtto(path, [207, { errors: [{ index: 0, status, message: 'email ada@example.com is not valid' }] }])
      const { statuses, calls } = await run(mode, slug, [eventFor(slug)])
      expect(statuses).toEqual([status])
      expectFigures(calls, slug, [`${slug}.${what} 1 status:${status}`, `${slug}.requests 1 status:207`])
    })

    it.each([
      [400, 'refused', { error: { message: 'not an array' } }],
      [401, 'refused', { message: 'bad key' }],
      [403, 'refused', { error: 'forbidden' }],
      [413, 'refused', 'too big'],
      [429, 'retryable', RATE_LIMIT_BODY],
      [500, 'retryable', 'boom'],
      [503, 'retryable', '']
    ])('counts a whole-request %i as %s, tagged with the status', async (status, what, body) => {
      stubOrtto(path, [status, body])
      const { statuses, calls } = await run(mode, slug, [eventFor(slug)])
      expect(statuses).toEqual([status])
      expectFigures(calls, slug, [`${slug}.${what} 1 status:${status}`, `${slug}.requests 1 status:${status}`])
    })

    it.each([
      ['ECONNRESET', 503, 'connection'],
      ['ECONNREFUSED', 503, 'connection'],
      ['ETIMEDOUT', 408, 'timeout']
    ])(
      'counts a request that got no answer (%s) as retryable, tagged with the kind of error',
      async (code, status, kind) => {
        dropWith(path, code)
        const { statuses, calls } = await run(mode, slug, [eventFor(slug)])
        expect(statuses).toEqual([status])
        expectFigures(calls, slug, [
          `${slug}.requests 1 error:${kind}`,
          `${slug}.retryable 1 status:${status},error:${kind}`
        ])
      }
    )

    it('counts an event with neither id as not sent (invalid_event), with no request', async () => {
      const { statuses, calls } = await run(mode, slug, [eventFor(slug, { userId: ' ', anonymousId: '' })])
      expect(statuses).toEqual([400])
      expectFigures(calls, slug, [`${slug}.not_sent 1 reason:invalid_event,status:400`])
    })

    it('counts the events of a malformed key as not sent (bad_key)', async () => {
      const { statuses, calls } = await run(mode, slug, [eventFor(slug)], { settings: { api_key: 'PAU-secret' } })
      expect(statuses).toEqual([401])
      expectFigures(calls, slug, [`${slug}.not_sent 1 reason:bad_key,status:401`])
    })

    it('counts an event too large for any request as not sent (too_large)', async () => {
      const event = eventFor(slug, {
        traits: { notes: 'x'.repeat(2_000_000) },
        properties: { notes: 'x'.repeat(2_000_000) }
      })
      const { statuses, calls } = await run(mode, slug, [event])
      expect(statuses).toEqual([413])
      expectFigures(calls, slug, [`${slug}.not_sent 1 reason:too_large,status:413`])
    })

    it.each([
      ['2001:db8::1', 'ipv6'],
      ['unknown', 'not_an_address'],
      ['010.0.0.1', 'not_an_address']
    ])('counts the ip %j left off (%s) beside the delivered event', async (ip, reason) => {
      stubOrtto(path, [200, {}])
      const { statuses, calls } = await run(mode, slug, [eventFor(slug, { context: { ip } })])
      expect(statuses).toEqual([200])
      expectFigures(calls, slug, [
        `${slug}.delivered 1`,
        `${slug}.ip_left_off 1 reason:${reason}`,
        `${slug}.requests 1 status:200`
      ])
    })

    it('counts no ip left off for an IPv4 address, a mapped one, or none at all', async () => {
      stubOrtto(path, [200, {}], [200, {}], [200, {}])
      const ips = ['203.0.113.7', '::ffff:203.0.113.7', undefined]
      const calls: Incr[] = []
      for (const ip of ips) calls.push(...(await run(mode, slug, [eventFor(slug, { context: { ip } })])).calls)
      expect(figures(calls, slug).filter((line) => line.includes('ip_left_off'))).toEqual([])
    })
  })

  describe('batch mode', () => {
    it('counts each outcome class of one batch once per event; together they add up to the events', async () => {
      stubOrtto(path, [
        207,
        {
          errors: [
            { index: 1, status: 400, message: 'bad trait' },
            { index: 2, status: 429, message: 'slow down' }
          ]
        }
      ])
      const events = [
        eventFor(slug, { userId: 'u0' }),
        eventFor(slug, { userId: 'u1' }),
        eventFor(slug, { userId: 'u2', context: { ip: '::1' } }),
        eventFor(slug, { userId: '', anonymousId: '' }),
        eventFor(slug, {
          userId: 'u4',
          traits: { notes: 'x'.repeat(2_000_000) },
          properties: { n: 'x'.repeat(2_000_000) }
        }),
        eventFor(slug, { userId: 'u5' })
      ]
      const { statuses, calls } = await run('batch', slug, events)
      expect(statuses).toEqual([200, 400, 429, 400, 413, 200])
      expectFigures(calls, slug, [
        `${slug}.delivered 2`,
        `${slug}.ip_left_off 1 reason:ipv6`,
        `${slug}.not_sent 1 reason:invalid_event,status:400`,
        `${slug}.not_sent 1 reason:too_large,status:413`,
        `${slug}.refused 1 status:400`,
        `${slug}.requests 1 status:207`,
        `${slug}.retryable 1 status:429`
      ])
      const outcomes = calls.filter((call) =>
        ['delivered', 'skipped', 'refused', 'retryable', 'not_sent'].some((what) => call.name === `${slug}.${what}`)
      )
      expect(outcomes.reduce((sum, call) => sum + call.value, 0)).toBe(events.length)
    })

    it('counts the extra request of a batch split by count (501 events: 2 requests)', async () => {
      const ortto = stubOrtto(path, [200, {}], [200, {}])
      const events = Array.from({ length: 501 }, (_, i) => eventFor(slug, { userId: `u${i}`, messageId: `m${i}` }))
      const { statuses, calls } = await run('batch', slug, events)
      expect(ortto.bodies.map((body) => body.length)).toEqual([500, 1])
      expect(statuses.filter((status) => status === 200)).toHaveLength(501)
      expectFigures(calls, slug, [`${slug}.delivered 501`, `${slug}.requests 2 status:200`])
    })

    it('counts every request of a batch split by size, each with its own status', async () => {
      const ortto = stubOrtto(path, [200, {}], [207, { errors: [{ index: 0, status: 400, message: 'too long' }] }])
      const big = { notes: 'x'.repeat(1_200_000) }
      const events = [0, 1].map((i) => eventFor(slug, { userId: `u${i}`, traits: big }))
      const { statuses, calls } = await run('batch', slug, events)
      expect(ortto.bodies.map((body) => body.length)).toEqual([1, 1])
      expect(statuses).toEqual([200, 400])
      expectFigures(calls, slug, [
        `${slug}.delivered 1`,
        `${slug}.refused 1 status:400`,
        `${slug}.requests 1 status:200`,
        `${slug}.requests 1 status:207`
      ])
    })

    it.each([
      [401, 'refused', { message: 'bad key' }],
      [403, 'refused', { error: 'forbidden' }],
      [429, 'retryable', RATE_LIMIT_BODY]
    ])(
      'after a %i counts the events of that request as %s and the rest of the batch as not sent (halted)',
      async (status, what, body) => {
        const ortto = stubOrtto(path, [status, body])
        const later = nock(ORIGIN).post(path).reply(200, {})
        const events = Array.from({ length: 1001 }, (_, i) => eventFor(slug, { userId: `u${i}`, messageId: `m${i}` }))
        const { statuses, calls } = await run('batch', slug, events)
        expect(ortto.bodies).toHaveLength(1)
        expect(later.isDone()).toBe(false)
        expect(statuses.filter((s) => s === status)).toHaveLength(1001)
        expectFigures(calls, slug, [
          `${slug}.not_sent 501 reason:halted,status:${status}`,
          `${slug}.${what} 500 status:${status}`,
          `${slug}.requests 1 status:${status}`
        ])
      }
    )

    it('counts every ip left off by why, and none that was sent', async () => {
      const ortto = stubOrtto(path, [200, {}])
      const ips = ['2001:db8::1', '::1', 'unknown', '', '203.0.113.7', '::ffff:203.0.113.7', undefined]
      const events = ips.map((ip, i) => eventFor(slug, { userId: `u${i}`, context: { ip } }))
      const { statuses, calls } = await run('batch', slug, events)
      expect(statuses).toEqual(ips.map(() => 200))
      expect(ortto.bodies[0].map((o) => (o as { ip?: string }).ip)).toEqual([
        undefined,
        undefined,
        undefined,
        undefined,
        '203.0.113.7',
        '203.0.113.7',
        undefined
      ])
      expectFigures(calls, slug, [
        `${slug}.delivered 7`,
        `${slug}.ip_left_off 1 reason:empty`,
        `${slug}.ip_left_off 1 reason:not_an_address`,
        `${slug}.ip_left_off 2 reason:ipv6`,
        `${slug}.requests 1 status:200`
      ])
    })
  })
})

describe.each(MODES)('trackActivity, %s mode', (mode) => {
  it('counts an activity Ortto itself sent as skipped, with no request', async () => {
    const event = eventFor('trackActivity', { context: { app: { namespace: 'ortto.com' } } })
    const { statuses, calls } = await run(mode, 'trackActivity', [event])
    expect(statuses).toEqual([200])
    expectFigures(calls, 'trackActivity', ['trackActivity.skipped 1 reason:ortto_namespace'])
  })
})

describe('the key a subscription was saved under names the figures', () => {
  it('reports upsertContactProfile’s events under upsertContactProfile, not upsertContact', async () => {
    stubOrtto('/v1/identify', [200, {}])
    const { calls } = await run('batch', 'upsertContactProfile', [eventFor('upsertContactProfile')])
    expectFigures(calls, 'upsertContactProfile', [
      'upsertContactProfile.delivered 1',
      'upsertContactProfile.requests 1 status:200'
    ])
    expect(calls.filter((call) => call.name.startsWith('upsertContact.'))).toEqual([])
  })
})

describe('no tag carries a key, an id, an email, a trait or a message', () => {
  /** Distinctive values, each placed where an event or an answer carries it. */
  const SECRET = {
    key: API_KEY,
    userId: 'user-QX7J9-unique',
    anonymousId: 'anon-QX7J9-unique',
    email: 'qx7j9@example.com',
    trait: 'trait-QX7J9-value',
    messageId: 'msg-QX7J9-unique',
    eventName: 'Event QX7J9',
    audienceId: 'aud-QX7J9',
    ortto: 'ortto-says-QX7J9'
  }
  /** Every tag this destination may add: statuses, and words from small fixed sets. */
  const OWN_TAG =
    /^(status:\d{3}|reason:(invalid_event|too_large|bad_key|halted|ortto_namespace|ipv6|empty|not_an_address)|error:(timeout|connection))$/

  const distinctive = (slug: ActionSlug, i: number) =>
    eventFor(slug, {
      userId: `${SECRET.userId}-${i}`,
      anonymousId: SECRET.anonymousId,
      messageId: `${SECRET.messageId}-${i}`,
      event: SECRET.eventName,
      context: { ip: i % 2 === 0 ? '2001:db8::1' : 'qx7j9' },
      traits: { email: SECRET.email, plan: SECRET.trait },
      properties: { email: SECRET.email, plan: SECRET.trait }
    })

  it.each(ACTIONS)('holds for every outcome of $slug, single and batch', async ({ slug, path }) => {
    const mapping = mappingFor(slug, { audienceId: SECRET.audienceId })
    const calls: Incr[] = []
    const answers: Array<[number, unknown]> = [
      [200, { echo: SECRET }],
      [207, { errors: [{ index: 0, status: 400, message: `${SECRET.ortto} ${SECRET.email} ${SECRET.key}` }] }],
      [400, { message: `${SECRET.ortto} ${SECRET.userId} ${SECRET.key}` }],
      [429, { error: { message: SECRET.ortto, 'try-in-seconds': 10 } }],
      [401, SECRET.ortto]
    ]
    for (const mode of MODES) {
      for (const [status, body] of answers) {
        stubOrtto(path, [status, body])
        const events = mode === 'single' ? [distinctive(slug, 0)] : [0, 1, 2].map((i) => distinctive(slug, i))
        calls.push(...(await run(mode, slug, events, { mapping })).calls)
      }
      dropWith(path, 'ECONNRESET')
      calls.push(...(await run(mode, slug, [distinctive(slug, 0)], { mapping })).calls)
      calls.push(...(await run(mode, slug, [eventFor(slug, { userId: '', anonymousId: '' })], { mapping })).calls)
    }
    const ours = calls.filter((call) => call.tags.includes(`slug:${ORTTO_SLUG}`))
    expect(ours.length).toBeGreaterThan(20)
    const leaks = calls.flatMap((call) =>
      [call.name, ...call.tags].filter((text) =>
        Object.values(SECRET).some((secret) => text.toLowerCase().includes(secret.toLowerCase()))
      )
    )
    expect(leaks).toEqual([])
    const base = [...RUNTIME_TAGS, `slug:${ORTTO_SLUG}`, `action:${slug}`]
    for (const call of ours) {
      expect(call.tags.slice(0, base.length)).toEqual(base)
      expect(call.tags.slice(base.length).filter((tag) => !OWN_TAG.test(tag))).toEqual([])
      expect(call.name).toMatch(
        new RegExp(`^${slug}\\.(delivered|skipped|refused|retryable|not_sent|requests|ip_left_off)$`)
      )
    }
  })
})

describe('without a stats client', () => {
  it.each(ACTIONS)(
    '$slug delivers as ever, single and batch, when statsContext is left out or empty',
    async ({ slug, path }) => {
      const integration = createTestIntegration(definition)
      stubOrtto(path, [200, {}], [200, {}], [200, {}], [207, { errors: [{ index: 0, status: 400, message: 'no' }] }])
      // testAction and testBatchAction pass `{}` when no statsContext is given, as Segment's runtime can.
      await expect(
        integration.testAction(slug, { event: eventFor(slug), mapping: mappingFor(slug), settings })
      ).resolves.toBeDefined()
      await integration.testBatchAction(slug, { events: [eventFor(slug)], mapping: mappingFor(slug), settings })
      expect(integration.results).toEqual([{ multistatus: [expect.objectContaining({ status: 200 })] }])
      // Tags but no client.
      await integration.testBatchAction(slug, {
        events: [eventFor(slug)],
        mapping: mappingFor(slug),
        settings,
        statsContext: { tags: ['a:b'] } as unknown as StatsContext
      })
      expect(integration.results).toEqual([{ multistatus: [expect.objectContaining({ status: 200 })] }])
      // performBatch called directly, with no statsContext key at all.
      const response = (await definition.actions[slug].performBatch?.(
        createRequestClient({ headers: { Authorization: `Bearer ${API_KEY}` } }),
        { payload: [{ user_id: 'u0', event: 'x' }], settings } as never
      )) as MultiStatusResponse
      expect(response.getAllResponses().map((entry) => entry.value().status)).toEqual([400])
    }
  )

  it.each(MODES)('a stats client that throws changes no outcome (%s mode)', async (mode) => {
    const { statsContext } = recordingStats()
    const failing: StatsContext = {
      tags: statsContext.tags,
      statsClient: {
        ...statsContext.statsClient,
        incr: (name: string) => {
          // Only ours: actions-core's own metrics are its business.
          if (name.startsWith('upsertContact.')) throw new Error('statsd is down')
        }
      }
    }
    stubOrtto('/v1/identify', [200, {}])
    const { statuses } = await run(mode, 'upsertContact', [eventFor('upsertContact')], { statsContext: failing })
    expect(statuses).toEqual([200])
  })

  it('tags the slug and the action when the runtime gives a client but no tags', async () => {
    stubOrtto('/v1/track', [200, {}])
    const { statsContext, calls } = recordingStats()
    const untagged = { statsClient: statsContext.statsClient } as StatsContext
    await run('batch', 'trackActivity', [eventFor('trackActivity')], { statsContext: untagged })
    expect(calls.filter((call) => call.name.startsWith('trackActivity.'))).toEqual([
      { name: 'trackActivity.requests', value: 1, tags: [`slug:${ORTTO_SLUG}`, 'action:trackActivity', 'status:200'] },
      { name: 'trackActivity.delivered', value: 1, tags: [`slug:${ORTTO_SLUG}`, 'action:trackActivity'] }
    ])
  })

  it('leaves the runtime’s statsContext.tags as they were', async () => {
    stubOrtto('/v1/track', [200, {}])
    const { statsContext, calls } = recordingStats()
    await run('batch', 'trackActivity', [eventFor('trackActivity')], { statsContext })
    expect(calls.length).toBeGreaterThan(0)
    expect(statsContext.tags).toEqual(RUNTIME_TAGS)
  })
})
