/**
 * Segment's size limits at the pipeline's door, and what a batch's shared `context` costs: an
 * event's size counts the context it inherits (computed, not copied), events are refused one by
 * one with their index and reason, a body over the limit is refused whole, and the merge shares
 * one frozen context wherever it can, so no event's delivery can change another's.
 */
import { LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import type { Sandbox } from 'ortto-sandbox'
import { MAX_CONTEXT_KEYS_COPIED } from '../batch-context'
import { startPipeline, type Pipeline } from '../index'
import { MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_EVENT_BYTES, jsonBytes } from '../ingest-limits'
import * as limits from '../ingest-limits'
import { parseBatch, parseEvent } from '../segment-events'
import { TEST_WRITE_KEY, get, post, waitFor } from '../../../test/helpers/pipeline-helpers'
import { engageTrack } from '../../../test/helpers/engage-events'

/** An object of `count` keys k0, k1… with small values: a wide context. */
const wideContext = (count: number): Record<string, number> => {
  const context: Record<string, number> = {}
  for (let i = 0; i < count; i++) context[`k${i}`] = i
  return context
}

/** The size of a batch call by brute force: the batch's context merged into a copy of the call. */
const mergedBytes = (call: Record<string, unknown>, shared?: Record<string, unknown>) =>
  jsonBytes(shared ? { ...call, context: { ...shared, ...(call.context as object) } } : call)

/** `call` with a `properties.pad` string long enough for its merged size to be exactly `bytes`. */
function paddedTo(bytes: number, call: Record<string, unknown>, shared?: Record<string, unknown>) {
  const base = { ...call, properties: { pad: '' } }
  const padded = { ...call, properties: { pad: 'x'.repeat(bytes - mergedBytes(base, shared)) } }
  expect(mergedBytes(padded, shared)).toBe(bytes)
  return padded
}

const track = (userId: string, extra: Record<string, unknown> = {}) => ({
  type: 'track',
  userId,
  event: 'Viewed',
  ...extra
})

describe('an event’s size, counting the context it inherits', () => {
  const shared = { ip: '203.0.113.9', app: { name: 'shop', version: '1.2' }, locale: 'fr-FR', note: 'ünïcødé ✓' }
  const cases: Array<[string, Record<string, unknown>, Record<string, unknown> | undefined]> = [
    ['no batch context', track('a'), undefined],
    ['the batch context, none of its own', track('a'), shared],
    ['an empty context of its own', track('a', { context: {} }), shared],
    ['its own keys beside the batch’s', track('a', { context: { library: { name: 'analytics-go' } } }), shared],
    ['its own key replacing a larger one of the batch', track('a', { context: { app: 'x', locale: 'ja' } }), shared],
    ['multi-byte text of its own', track('a', { context: { note: '日本語のメモ', extra: '€' } }), shared]
  ]

  it.each(cases)('takes an event of exactly 32 kB and refuses one byte more: %s', (_, call, context) => {
    const atLimit = paddedTo(MAX_EVENT_BYTES, call, context)
    const over = paddedTo(MAX_EVENT_BYTES + 1, call, context)
    const { events, rejected } = parseBatch({ batch: [atLimit, over], ...(context && { context }) })
    expect(events).toHaveLength(1)
    expect(events[0].properties).toEqual(atLimit.properties)
    const inherited = context ? ` with the batch's context it inherits (${jsonBytes(context)} bytes)` : ''
    expect(rejected).toEqual([
      {
        index: 1,
        reason:
          `the event is 32,769 bytes${inherited}; ` +
          'Segment takes at most 32,768 bytes (32 kB) per event: send less in its traits, properties or context'
      }
    ])
  })

  it('serializes only the calls whose size bound does not show them within 32 kB (the others cost no copy)', () => {
    const small = track('a', { context: { ip: '203.0.113.9' } })
    // Its bound (6 bytes per character of text) is over 32 kB, its size under it: measured, and taken.
    const large = paddedTo(8_000, track('b'))
    const measure = jest.spyOn(limits, 'jsonBytes')
    try {
      const { events, rejected } = parseBatch({ batch: [small, large, small] })
      expect(rejected).toEqual([])
      expect(events).toHaveLength(3)
      expect(measure.mock.calls).toEqual([[large]])
    } finally {
      measure.mockRestore()
    }
  })

  it('applies the same 32 kB to one call on its own, before anything is filled in', () => {
    const call = { userId: 'a', event: 'Viewed' }
    const atLimit = paddedTo(MAX_EVENT_BYTES, call)
    expect(parseEvent(atLimit, 'track').ok).toBe(true)
    expect(parseEvent(paddedTo(MAX_EVENT_BYTES + 1, call), 'track')).toEqual({
      ok: false,
      reason: expect.stringMatching(/^the event is 32,769 bytes; Segment takes at most 32,768 bytes/) as unknown
    })
  })

  it('takes 2,500 calls in a batch and refuses each one past them with its index', () => {
    const batch = Array.from({ length: MAX_BATCH_EVENTS + 2 }, (_, i) => track(`u${i}`))
    const { events, rejected } = parseBatch({ batch })
    expect(events).toHaveLength(MAX_BATCH_EVENTS)
    expect(events[MAX_BATCH_EVENTS - 1].userId).toBe(`u${MAX_BATCH_EVENTS - 1}`)
    const reason = "a batch takes at most 2,500 calls, as Segment's does; send this one in another batch"
    expect(rejected).toEqual([
      { index: 2_500, reason },
      { index: 2_501, reason }
    ])
  })
})

describe('the issue’s body: 3,000 calls sharing 8,000 context keys', () => {
  const body = () => ({
    context: wideContext(8_000),
    batch: Array.from({ length: 3_000 }, (_, i) => track(`user-${i}`))
  })

  it('refuses every call with its index and reason, copying nothing', () => {
    const parsed = body()
    const sharedBytes = jsonBytes(parsed.context)
    const heapBefore = process.memoryUsage().heapUsed
    const { events, rejected, contextKeysCopied } = parseBatch(parsed)
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore

    expect(events).toEqual([])
    expect(contextKeysCopied).toBe(0)
    expect(rejected.map((r) => r.index)).toEqual(Array.from({ length: 3_000 }, (_, i) => i))
    // Its size is the call's, the batch context's and `,"context":`; checked by brute force on two calls.
    const sizeOf = (index: number) => jsonBytes(parsed.batch[index]) + sharedBytes + ',"context":'.length
    for (const index of [0, MAX_BATCH_EVENTS - 1])
      expect(sizeOf(index)).toBe(mergedBytes(parsed.batch[index], parsed.context))
    for (const { index, reason } of rejected.slice(0, MAX_BATCH_EVENTS)) {
      expect(sizeOf(index)).toBeGreaterThan(MAX_EVENT_BYTES)
      expect(reason).toBe(
        `the event is ${sizeOf(index).toLocaleString('en-US')} bytes with the batch's context it inherits ` +
          `(${sharedBytes.toLocaleString('en-US')} bytes); Segment takes at most 32,768 bytes (32 kB) per event: ` +
          'send less in its traits, properties or context'
      )
    }
    for (const { reason } of rejected.slice(MAX_BATCH_EVENTS)) expect(reason).toMatch(/^a batch takes at most 2,500/)
    // Merging first made 3,000 copies of 8,000 keys: over a gigabyte. Measuring makes none.
    expect(heapGrowth).toBeLessThan(64 * 1024 * 1024)
  })
})

describe('merging the batch’s context', () => {
  const shared = () => ({ ip: '203.0.113.9', app: { name: 'shop' } })

  it('gives every call without a context of its own the same frozen context object', () => {
    const { events, contextKeysCopied } = parseBatch({
      context: shared(),
      batch: [track('a'), track('b'), track('c', { context: {} })]
    })
    expect(events.map((e) => e.context)).toEqual([shared(), shared(), shared()])
    expect(events[1].context).toBe(events[0].context)
    expect(events[2].context).toBe(events[0].context)
    expect(contextKeysCopied).toBe(0)
    expect(Object.isFrozen(events[0].context)).toBe(true)
    expect(() => {
      ;(events[0].context as { app: { name: string } }).app.name = 'changed'
    }).toThrow(TypeError)
    expect(events[1].context).toEqual(shared())
  })

  it('makes one merged copy per distinct own context, the call’s keys winning', () => {
    const library = { library: { name: 'analytics-go', version: '3' } }
    const { events, contextKeysCopied } = parseBatch({
      context: shared(),
      batch: [
        track('a', { context: library }),
        track('b', { context: { ...library } }),
        track('c', { context: { ip: '198.51.100.1' } })
      ]
    })
    expect(events.map((e) => e.context)).toEqual([
      { ...shared(), ...library },
      { ...shared(), ...library },
      { ip: '198.51.100.1', app: { name: 'shop' } }
    ])
    expect(events[1].context).toBe(events[0].context)
    expect(contextKeysCopied).toBe(3 + 2)
    expect(Object.isFrozen(events[0].context?.library)).toBe(true)
  })

  it(`copies at most ${MAX_CONTEXT_KEYS_COPIED.toLocaleString('en-US')} keys per call and refuses the calls past that with the reason`, () => {
    const context = wideContext(2_000)
    const batch = Array.from({ length: 100 }, (_, i) => track(`u${i}`, { context: { i } }))
    const { events, rejected, contextKeysCopied } = parseBatch({ context, batch })
    const fits = Math.floor(MAX_CONTEXT_KEYS_COPIED / 2_001)
    expect(events).toHaveLength(fits)
    expect(contextKeysCopied).toBe(fits * 2_001)
    expect(events[fits - 1].context).toEqual({ ...context, i: fits - 1 })
    expect(rejected.map((r) => r.index)).toEqual(Array.from({ length: 100 - fits }, (_, i) => fits + i))
    expect(rejected[0].reason).toBe(
      "this call has a context of its own, so the batch's context (2000 keys) would be copied into it, and this batch " +
        `has already copied ${(fits * 2_001).toLocaleString('en-US')} context keys, the most one batch may (100,000): ` +
        'put the shared context in each call, or send fewer calls per batch'
    )
  })

  it('refuses what the batch’s context cannot carry only in the calls that inherit it', () => {
    let deep: unknown = 1
    for (let i = 0; i < 150; i++) deep = [deep]
    const { events, rejected } = parseBatch({
      context: { deep, ip: '203.0.113.9' },
      batch: [track('inherits'), track('replaces', { context: { deep: 'flat' } })]
    })
    expect(rejected).toEqual([
      {
        index: 0,
        reason: expect.stringMatching(/^the event is nested more than 100 levels deep \(at context\.deep\[0\]/)
      }
    ])
    expect(events.map((e) => e.context)).toEqual([{ deep: 'flat', ip: '203.0.113.9' }])
  })

  it('refuses a call whose own context is not an object instead of spreading it, and a batch context that is not one', () => {
    const { events, rejected } = parseBatch({ context: { ip: '1.2.3.4' }, batch: [track('a', { context: 'ab' })] })
    expect(events).toEqual([])
    expect(rejected).toEqual([{ index: 0, reason: '"context" must be an object' }])
    expect(() => parseBatch({ context: 'ab', batch: [track('a')] })).toThrow(
      'the batch\'s "context" must be an object, which is merged into the context of each call'
    )
  })
})

describe('at the pipeline’s door', () => {
  let pipeline: Pipeline | undefined

  const start = async () => {
    pipeline = await startPipeline(
      {
        port: 0,
        target: { kind: 'sandbox', port: 0 },
        flushIntervalMs: 20,
        maxAttempts: 2,
        writeKey: TEST_WRITE_KEY
      },
      () => undefined
    )
    return pipeline
  }

  afterEach(async () => {
    await pipeline?.stop()
    pipeline = undefined
    delete process.env[LOCAL_ENDPOINT_ENV]
  })

  it('answers 413 for a call over 32 kB and for a batch over 500 kB, saying the limit and what to do', async () => {
    const p = await start()
    const call = JSON.stringify({ userId: 'a', traits: { note: 'x'.repeat(MAX_EVENT_BYTES) } })
    const tooLargeCall = await post(p.url, '/v1/identify', call)
    expect(tooLargeCall.status).toBe(413)
    expect(tooLargeCall.json).toEqual({
      error: {
        code: 'too-large',
        message:
          `the body is ${Buffer.byteLength(call)} bytes; one call takes at most 32,768 bytes (32 kB), ` +
          "Segment's limit: send less in its traits, properties or context"
      }
    })
    const batch = JSON.stringify({ batch: [track('a', { properties: { pad: 'x'.repeat(MAX_BATCH_BYTES) } })] })
    const tooLargeBatch = await post(p.url, '/v1/batch', batch)
    expect(tooLargeBatch.status).toBe(413)
    expect(tooLargeBatch.json).toEqual({
      error: {
        code: 'too-large',
        message:
          `the body is ${Buffer.byteLength(batch)} bytes; a batch takes at most 512,000 bytes (500 kB), ` +
          "Segment's limit: split it into smaller batches"
      }
    })
    expect(p.delivery.status().received).toBe(0)
  })

  it('answers the issue’s body with every call’s reason and takes nothing', async () => {
    const p = await start()
    const answer = await post(p.url, '/v1/batch', {
      context: wideContext(8_000),
      batch: Array.from({ length: 3_000 }, (_, i) => track(`user-${i}`))
    })
    expect(answer.status).toBe(400)
    expect((answer.json as { error: { message: string } }).error.message).toMatch(
      /^no call in the batch could be used: #0: the event is [\d,]+ bytes with the batch's context it inherits .*; and 2995 more$/
    )
    expect(p.delivery.status().received).toBe(0)
  })

  it('delivers calls sharing the batch’s frozen context, each with its own keys, Engage’s included', async () => {
    const p = await start()
    const calls = await post(p.url, '/v1/batch', {
      context: { ip: '203.0.113.9' },
      batch: [
        { type: 'identify', userId: 'ada', traits: { email: 'ada@example.com' } },
        { type: 'identify', userId: 'bob', traits: { email: 'bob@example.com' }, context: { ip: '198.51.100.7' } },
        { type: 'identify', userId: 'cy', traits: { email: 'cy@example.com' }, context: { library: { name: 'go' } } }
      ]
    })
    expect(calls.json).toEqual({ success: true, accepted: 3, unsubscribed: 0, rejected: [] })
    // Engage's audience events read (and the pipeline extends, in a copy) context.personas.
    const { context, ...engage } = engageTrack('eve', { computationId: 'aud_shared', key: 'shared_ctx' }, true)
    const audienceCall = await post(p.url, '/v1/batch', { context, batch: [{ ...engage, type: 'track' }] })
    expect(audienceCall.json).toEqual({ success: true, accepted: 1, unsubscribed: 0, rejected: [] })

    await waitFor('delivery', () => {
      const status = p.delivery.status()
      return status.delivered + status.failed >= 4 && status.pending === 0
    })
    expect(p.delivery.status()).toMatchObject({ delivered: 4, failed: 0 })
    const contacts = (p.sandbox as Sandbox).snapshot().contacts
    const ipOf = (userId: string) => contacts.find((c) => c.user_id === userId)?.ip
    expect([ipOf('ada'), ipOf('bob'), ipOf('cy')]).toEqual(['203.0.113.9', '198.51.100.7', '203.0.113.9'])
    const audiences = (await get(p.url, '/sandbox/audiences')).json as { audiences: Array<{ name: string }> }
    expect(audiences.audiences.map((a) => a.name)).toEqual(['shared_ctx'])
  })
})
