/**
 * Property tests of how Ortto's answers are read (client/answer.ts, client/batch-answer.ts),
 * through `deliver()` with a real actions-core request client and nock: any status (1xx–5xx),
 * any body (random JSON, multi-status lists, text, empty, megabytes), any content type, the API
 * key echoed in any form. Every payload must get exactly one outcome; an outcome is "delivered"
 * exactly when the answer says so (docs/ortto-api.md, "Batch answers"); nothing throws; the key
 * never shows in an outcome.
 *
 * 1xx answers cannot come through nock 14 (its fetch Response rejects a status below 200 and
 * the request then hangs until the client's 10 s time-out), nor through Node's HTTP client at
 * all (a 1xx is informational there); they are fed to deliver() by a stub request client.
 *
 * Every run must settle within a bounded number of turns of the event loop (support.ts,
 * HANG_TURNS), never a time: a hang is reported as a failure with its counter-example (and nock
 * is cleaned, so a stalled run cannot answer the next run's requests), and a slow machine passes.
 */
import fc from 'fast-check'
import nock from 'nock'
import { createRequestClient, type RequestClient } from '@segment/actions-core'
import { deliver, type EventOutcome, type ActionDelivery } from '../../src/destinations/ortto/client/deliver'
import { prepareActivity, prepareContact } from '../../src/destinations/ortto/client/wire-objects'
import type { WireObject } from '../../src/destinations/ortto/types'
import { API_KEY, ORIGIN, eventFor, runBatch } from '../../src/destinations/ortto/__tests__/__helpers__/ortto'
import {
  answerSpec,
  brief,
  concreteAnswer,
  entrySpec,
  installOrtto,
  justifiedOutcome,
  keyEcho,
  keyLeaks,
  objectOf,
  originOf,
  readableText,
  trickyText,
  wellFormedKey,
  type AnswerSpec,
  type ConcreteAnswer,
  type EntrySpec,
  type Json,
  type KeyEcho,
  type SeenAnswer,
  settleWithinTurns
} from './support'

const SEED = 20_240_302

// ---------------------------------------------------------------------------------------------
// Answers

/** A body, as data: built per request, since some depend on how many objects it carried. */
type BodySpec =
  | { kind: 'json'; value: Json }
  | { kind: 'batch'; answer: AnswerSpec }
  | { kind: 'text'; text: string }
  | { kind: 'empty' }
  | { kind: 'large'; bytes: number; shape: 'text' | 'errors-list'; keyAtEnd: boolean }

interface AnswerPlan {
  status: number
  body: BodySpec
  contentType?: string
  echo: KeyEcho
}

const status: fc.Arbitrary<number> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(200, 207) },
  { weight: 3, arbitrary: fc.integer({ min: 200, max: 299 }) },
  { weight: 3, arbitrary: fc.integer({ min: 400, max: 599 }) },
  { weight: 1, arbitrary: fc.constantFrom(300, 301, 302, 303, 304, 305, 307, 308, 399) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 199 }) }
)

/** A body of about `bytes` bytes: text, or a JSON list of errors (every other object) padded to size. */
const largeBody = (bytes: fc.Arbitrary<number>): fc.Arbitrary<BodySpec> =>
  fc
    .record({ bytes, shape: fc.constantFrom<'text' | 'errors-list'>('text', 'errors-list'), keyAtEnd: fc.boolean() })
    .map((b): BodySpec => ({ kind: 'large', ...b }))

/** Bodies of the main property: all under 16 KiB (larger ones have their own property below). */
const bodySpec: fc.Arbitrary<BodySpec> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .jsonValue({ maxDepth: 4, stringUnit: 'grapheme' })
      .map((value): BodySpec => ({ kind: 'json', value: value as Json }))
  },
  { weight: 6, arbitrary: answerSpec().map((answer): BodySpec => ({ kind: 'batch', answer })) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(fc.string({ unit: 'binary', maxLength: 40 }), trickyText(40))
      .map((text): BodySpec => ({ kind: 'text', text }))
  },
  { weight: 1, arbitrary: fc.constant<BodySpec>({ kind: 'empty' }) },
  { weight: 1, arbitrary: largeBody(fc.integer({ min: 1_000, max: 15_000 })) }
)

const contentType = fc.option(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'application/problem+json',
    'text/plain',
    'text/html; charset=iso-8859-1',
    'application/octet-stream',
    'garbage/;;',
    ''
  ),
  { nil: undefined }
)

const answerPlan: fc.Arbitrary<AnswerPlan> = fc.record(
  { status, body: bodySpec, contentType, echo: keyEcho },
  { requiredKeys: ['status', 'body', 'echo'] }
)

/** The text of a planned answer for a request of `n` objects. */
function textOf(plan: AnswerPlan, n: number, key: string): string {
  const { body } = plan
  switch (body.kind) {
    case 'json': {
      const text = JSON.stringify(body.value)
      if (plan.echo === 'none') return text
      // The key inside a JSON string, escaped the way the plan says.
      return JSON.stringify({ value: body.value, note: `key ${key}` }).replace(
        JSON.stringify(key).slice(1, -1),
        plan.echo === 'unicode-escaped'
          ? [...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')
          : JSON.stringify(key).slice(1, -1)
      )
    }
    case 'batch': {
      const answer = concreteAnswer(body.answer, n, key)
      return answer.kind === 'http' ? answer.text : 'connection would have dropped'
    }
    case 'text':
      return plan.echo === 'none' ? body.text : `${body.text}${key}`
    case 'empty':
      return ''
    case 'large': {
      const tail = body.keyAtEnd ? key : ''
      if (body.shape === 'text') return 'x'.repeat(body.bytes) + tail
      const errors = Array.from({ length: n }, (_, index) => ({ index, status: 422, message: 'bad' })).filter(
        (_, index) => index % 2 === 0
      )
      const unpadded = JSON.stringify({ errors, pad: '', note: tail }).length
      return JSON.stringify({ errors, pad: 'x'.repeat(Math.max(0, body.bytes - unpadded)), note: tail })
    }
  }
}

function concrete(plan: AnswerPlan, n: number, key: string): ConcreteAnswer {
  const headers: Record<string, string> = plan.contentType === undefined ? {} : { 'content-type': plan.contentType }
  return { kind: 'http', status: plan.status, text: textOf(plan, n, key), headers }
}

// ---------------------------------------------------------------------------------------------
// Runs

type Endpoint = 'identify' | 'track'

const deliveries: Record<Endpoint, ActionDelivery<never, WireObject>> = {
  identify: { method: 'POST', path: '/v1/identify', prepare: prepareContact } as unknown as ActionDelivery<
    never,
    WireObject
  >,
  track: { method: 'POST', path: '/v1/track', prepare: prepareActivity } as unknown as ActionDelivery<never, WireObject>
}

const tagOf = (i: number) => `m${i}`

function payloadsFor(endpoint: Endpoint, n: number): unknown[] {
  return Array.from({ length: n }, (_, i) => ({
    user_id: `u${i}`,
    message_id: tagOf(i),
    ...(endpoint === 'track' ? { event: 'Order Completed' } : {})
  }))
}

type StubRequest = (url: string, options?: { body?: unknown }) => Promise<unknown>

/** Answers one request at once, with a status Node's HTTP client cannot deliver (1xx). */
function stubAnswer(
  plan: AnswerPlan,
  key: string,
  seen: Array<{ objects: unknown[]; answer: SeenAnswer }>
): StubRequest {
  return (_url, options) => {
    const objects = JSON.parse(String(options?.body)) as unknown[]
    const text = textOf(plan, objects.length, key)
    seen.push({ objects, answer: { kind: 'http', status: plan.status, text: readableText(plan.status, text) } })
    return Promise.resolve({ status: plan.status, content: text, text: () => Promise.resolve(text) })
  }
}

interface Delivery {
  outcomes: EventOutcome[]
  requests: Array<{ objects: unknown[]; answer: SeenAnswer }>
}

async function deliverWith(endpoint: Endpoint, n: number, key: string, plans: AnswerPlan[]): Promise<Delivery> {
  const payloads = payloadsFor(endpoint, n) as never[]
  const input = { settings: { api_key: key } }
  const planFor = (k: number) => plans[k % plans.length]
  // 1xx: a stub client (see the file comment); everything else goes through nock.
  if (plans.some((p) => p.status < 200)) {
    const requests: Delivery['requests'] = []
    let k = 0
    const stub: StubRequest = (url, options) => stubAnswer(planFor(k++), key, requests)(url, options)
    const client = stub as unknown as RequestClient
    try {
      return {
        outcomes: await settleWithinTurns(deliver(client, payloads, input, deliveries[endpoint]), 'deliver'),
        requests
      }
    } catch (error) {
      throw new Error(`deliver failed: ${String(error)}`)
    }
  }
  const ortto = installOrtto(originOf(key), deliveries[endpoint].path, 8, (k, size) => concrete(planFor(k), size, key))
  const request = createRequestClient({ headers: { Authorization: `Bearer ${key}` } })
  try {
    const outcomes = await settleWithinTurns(deliver(request, payloads, input, deliveries[endpoint]), 'deliver')
    return { outcomes, requests: ortto.requests }
  } catch (error) {
    throw new Error(`deliver failed: ${String(error)}`)
  } finally {
    nock.abortPendingRequests()
    nock.cleanAll()
  }
}

/** Every broken promise of one delivery, as readable lines. */
function violations(n: number, key: string, { outcomes, requests }: Delivery): string[] {
  const out: string[] = []
  if (outcomes.length !== n) out.push(`${n} payloads but ${outcomes.length} outcomes`)
  const where = new Map<string, { request: number; position: number }>()
  requests.forEach((r, k) =>
    r.objects.forEach((o, position) => {
      const tag = (o as { message_id?: string }).message_id ?? ''
      if (where.has(tag)) out.push(`${tag} sent twice`)
      where.set(tag, { request: k, position })
    })
  )
  for (let i = 0; i < n; i++) {
    const o = outcomes[i] as EventOutcome | undefined
    if (o === undefined) {
      out.push(`payload ${i} has no outcome`)
      continue
    }
    const statusOf = o.ok ? o.status : o.failure.status
    if (!o.ok) {
      if (!Number.isInteger(statusOf) || statusOf < 400 || statusOf > 599) out.push(`payload ${i}: status ${statusOf}`)
      if (typeof o.failure.message !== 'string' || o.failure.message.trim() === '') out.push(`payload ${i}: no message`)
    }
    const carried = where.get(tagOf(i))
    if (carried === undefined) {
      if (o.ok) out.push(`payload ${i} delivered without being sent`)
      continue
    }
    const request = requests[carried.request]
    const expected = justifiedOutcome(request.answer, request.objects.length, carried.position)
    if (o.ok !== expected.ok || (expected.status !== undefined && statusOf !== expected.status)) {
      out.push(
        `payload ${i} (object ${carried.position} of ${request.objects.length}, answer ${brief(request.answer)}): ` +
          `got ${o.ok ? 'delivered' : 'failed'} ${statusOf}, expected ${expected.ok ? 'delivered' : 'failed'} ` +
          `${expected.status ?? ''} (${expected.why})`
      )
    }
  }
  for (const path of keyLeaks(outcomes, key)) out.push(`the API key shows in the outcomes at ${path}`)
  return out
}

/** How often each kind of answer came up in the main property, so it cannot pass without meeting them. */
const coverage = {
  informational: 0,
  redirection: 0,
  success: 0,
  multiStatusPartlyDelivered: 0,
  notJson: 0,
  echoingTheKey: 0,
  severalRequests: 0,
  delivered: 0,
  failed: 0
}

function count(key: string, { outcomes, requests }: Delivery): void {
  if (requests.length > 1) coverage.severalRequests++
  for (const { answer } of requests) {
    if (answer.kind !== 'http') continue
    if (answer.status < 200) coverage.informational++
    else if (answer.status < 300) coverage.success++
    else if (answer.status < 400) coverage.redirection++
    let parsed: unknown
    try {
      parsed = JSON.parse(answer.text)
    } catch {
      coverage.notJson++
    }
    if (answer.text.includes(key) || keyLeaks(parsed, key).length > 0) coverage.echoingTheKey++
  }
  const delivered = outcomes.filter((o) => o.ok).length
  coverage.delivered += delivered
  coverage.failed += outcomes.length - delivered
  if (delivered > 0 && requests.some((r) => r.answer.kind === 'http' && r.answer.status === 207)) {
    coverage.multiStatusPartlyDelivered++
  }
}

async function holds(endpoint: Endpoint, n: number, key: string, plans: AnswerPlan[]): Promise<void> {
  const delivery = await deliverWith(endpoint, n, key, plans)
  count(key, delivery)
  const found = violations(n, key, delivery)
  if (found.length > 0) {
    throw new Error(`${found.slice(0, 8).join('\n')}${found.length > 8 ? `\n…(${found.length} in all)` : ''}`)
  }
}

const apiKey = fc.oneof({ weight: 3, arbitrary: fc.constant(API_KEY) }, { weight: 1, arbitrary: wellFormedKey })
const endpointName = fc.constantFrom<Endpoint>('identify', 'track')
const payloadCount = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 1, max: 30 }) },
  { weight: 1, arbitrary: fc.integer({ min: 501, max: 530 }) }
)

describe('deliver: Ortto’s answers, whatever their status, body and content type', () => {
  it('one outcome per payload; delivered exactly when the answer says so; no throw; no key (numRuns 200)', async () => {
    for (const situation of Object.keys(coverage) as Array<keyof typeof coverage>) coverage[situation] = 0
    await fc.assert(
      fc.asyncProperty(
        endpointName,
        payloadCount,
        apiKey,
        fc.array(answerPlan, { minLength: 1, maxLength: 3 }),
        (endpoint, n, key, plans) => holds(endpoint, n, key, plans)
      ),
      { seed: SEED, numRuns: 200 }
    )
    for (const [situation, times] of Object.entries(coverage)) {
      expect({ situation, met: times > 0 }).toEqual({ situation, met: true })
    }
  }, 120_000)
})

// ---------------------------------------------------------------------------------------------
// Answers of any size.

describe('deliver: answers of any size (a 207 for 500 objects easily passes 16 KiB)', () => {
  // Whole KiB from 1 KiB to 2.5 MiB, so a failure shrinks to the smallest failing size in few steps.
  const size = fc.integer({ min: 1, max: 2_500 }).map((kib) => kib * 1024)
  const plan: fc.Arbitrary<AnswerPlan> = fc.record({
    status: fc.constantFrom(200, 207, 400, 500, 503),
    body: largeBody(size),
    contentType: fc.constantFrom('application/json', 'text/html'),
    echo: fc.constant<KeyEcho>('none')
  })

  it('settle, one outcome per payload, read like small ones (numRuns 100)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 500 }), plan, (n, p) => holds('identify', n, API_KEY, [p])),
      { seed: SEED, numRuns: 100 }
    )
    // Bounded by its count of runs; jest's time-out is only a backstop, far above a loaded
    // machine's time (about 40 s on two busy cores).
  }, 300_000)
})

// ---------------------------------------------------------------------------------------------
// Answers whose JSON uses prototype-named keys.

/**
 * An answer that hides its list of errors (or an entry's index) under a key such as
 * `__proto__`: plain JSON, where that key is an ordinary own property. Per docs/ortto-api.md the
 * hidden list is not a list of errors at all (a 207 without one confirms nothing) and a hidden
 * index points at no object.
 */
interface TrapPlan {
  status: 200 | 207
  trapKey: '__proto__' | 'constructor' | 'toString' | 'valueOf' | 'hasOwnProperty'
  where: 'top' | 'entry'
  entries: EntrySpec[]
}

const trapPlan: fc.Arbitrary<TrapPlan> = fc.record({
  status: fc.constantFrom<200 | 207>(200, 207),
  trapKey: fc.constantFrom<TrapPlan['trapKey']>('__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'),
  where: fc.constantFrom<'top' | 'entry'>('top', 'entry'),
  entries: fc.array(entrySpec, { maxLength: 4 })
})

function trapText(plan: TrapPlan, n: number): string {
  // The entries the batch answer model writes for a request of n objects.
  const model = concreteAnswer(
    { kind: 'multi', status: 207, wrapping: 'errors-list', entries: plan.entries, noise: [] },
    n,
    API_KEY
  )
  const entries = model.kind === 'http' ? (JSON.parse(model.text) as { errors: unknown[] }).errors : []
  const body =
    plan.where === 'top'
      ? objectOf([[plan.trapKey, objectOf([['errors', entries]])]])
      : objectOf([
          [
            'errors',
            entries.map((entry) =>
              objectOf([
                [plan.trapKey, entry],
                ['message', 'trapped']
              ])
            )
          ]
        ])
  return JSON.stringify(body)
}

describe('deliver: answers whose JSON uses prototype-named keys (__proto__, constructor…)', () => {
  it('are read as plain JSON: a hidden list or index confirms nothing (numRuns 100)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }), trapPlan, async (n, plan) => {
        const ortto = installOrtto(originOf(API_KEY), '/v1/identify', 2, (_k, size) => ({
          kind: 'http',
          status: plan.status,
          text: trapText(plan, size),
          headers: { 'content-type': 'application/json' }
        }))
        const request = createRequestClient({ headers: { Authorization: `Bearer ${API_KEY}` } })
        try {
          const outcomes = await deliver(
            request,
            payloadsFor('identify', n) as never[],
            { settings: { api_key: API_KEY } },
            deliveries.identify
          )
          const found = violations(n, API_KEY, { outcomes, requests: ortto.requests })
          if (found.length > 0) throw new Error(found.join('\n'))
        } finally {
          nock.cleanAll()
        }
      }),
      { seed: SEED, numRuns: 100 }
    )
    // Bounded by its count of runs; jest's time-out is only a backstop, far above a loaded
    // machine's time (about 40 s on two busy cores).
  }, 300_000)
})

// ---------------------------------------------------------------------------------------------
// Regressions: the shrunk counter-examples of the properties above, fixed.

describe('regressions found by the properties above', () => {
  const request = createRequestClient({ headers: { Authorization: `Bearer ${API_KEY}` } })

  function answerAndDeliver(n: number, status: number, body: string) {
    nock(ORIGIN).post('/v1/identify').reply(status, body, { 'content-type': 'application/json' })
    const payloads = Array.from({ length: n }, (_, i) => ({ user_id: `u${i}` }))
    return settleWithinTurns(
      deliver(request, payloads as never[], { settings: { api_key: API_KEY } }, deliveries.identify),
      'deliver'
    )
  }

  // 'answers of any size' (seed 20240302) shrank to
  //   [1, {"status":200,"body":{"kind":"large","bytes":16384,"shape":"text"},"contentType":"application/json"}]
  // deliver never settles once Ortto's answer is 16,384 bytes or more (16,383 is fine); the
  // client's 10 s time-out does not end it either. Also reproduced against a real HTTP server on
  // 127.0.0.1. Cause: actions-core's prepare-response hook reads `response.clone().text()` and
  // never reads the original; node-fetch's clone tees the body through 16 KiB stream buffers,
  // so the unread branch stalls both. deliver's request (client/deliver.ts, sendRequest) does not
  // pass `skipResponseCloning: true`, with which the hook reads the body once (verified) and
  // still sets `response.content`, which readAnswer already prefers.
  it('settles on an answer of exactly 16 KiB', async () => {
    const outcomes = await answerAndDeliver(1, 200, 'x'.repeat(16_384))
    expect(outcomes).toEqual([expect.objectContaining({ ok: true, status: 200 })])
  })

  it('settles on a realistic 207 for a full batch (300 of 500 objects listed, > 16 KiB)', async () => {
    const errors = Array.from({ length: 300 }, (_, index) => ({ index, status: 422, message: 'email is not valid' }))
    const body = JSON.stringify({ errors })
    expect(body.length).toBeGreaterThan(16_384)
    nock(ORIGIN).post('/v1/identify').reply(207, body, { 'content-type': 'application/json' })
    const events = Array.from({ length: 500 }, (_, i) => eventFor('upsertContact', { userId: `u${i}` }))
    const results = await settleWithinTurns(runBatch('upsertContact', events), 'executeBatch')
    expect(results.map((r) => r.status)).toEqual([...Array(300).fill(422), ...Array(200).fill(200)])
  }, 10_000)

  // 'prototype-named keys' (seed 20240302) shrank to
  //   [1, {"status":200,"trapKey":"__proto__","where":"top","entries":[{"index":{"kind":"at","fraction":0},"status":400}]}]
  // i.e. 200 {"__proto__":{"errors":[{"index":0,"status":400,…}]}}: got failed 400, expected
  // delivered 200. Cause: client/answer.ts, redactDeep, copies each key with
  // `result[key] = …`; for the key "__proto__" that sets the copy's prototype instead of an own
  // property, so readBatchAnswer sees an inherited `errors` list (or an inherited `index`) that
  // the JSON Ortto sent does not have at that place. The same cause reports events delivered
  // that Ortto's answer does not confirm (the first and third cases). Copying with
  // Object.defineProperty (or building entries with Object.fromEntries) keeps such keys as plain
  // own properties.
  it.each([
    {
      why: 'a 207 whose only errors list sits under "__proto__" confirms nothing',
      status: 207,
      body: '{"__proto__":{"errors":[]}}',
      delivered: [false]
    },
    {
      why: 'a 200 whose errors sit under "__proto__" fails nothing',
      status: 200,
      body: '{"__proto__":{"errors":[{"index":0,"status":400,"message":"bad"}]}}',
      delivered: [true]
    },
    {
      why: 'a 207 entry whose index sits under "__proto__" names no object, so no object is confirmed',
      status: 207,
      body: '{"errors":[{"__proto__":{"index":0},"status":422}]}',
      delivered: [false, false]
    }
  ])('$why', async ({ status, body, delivered }) => {
    const outcomes = await answerAndDeliver(delivered.length, status, body)
    expect(outcomes.map((o) => o.ok)).toEqual(delivered)
  })

  it('through executeBatch: a 207 whose only errors list sits under "__proto__" is not reported delivered', async () => {
    nock(ORIGIN).post('/v1/identify').reply(207, '{"__proto__":{"errors":[]}}', { 'content-type': 'application/json' })
    const [result] = await runBatch('upsertContact', [eventFor('upsertContact', { userId: 'u0' })])
    expect(result.status).toBeGreaterThanOrEqual(400)
  })
})
