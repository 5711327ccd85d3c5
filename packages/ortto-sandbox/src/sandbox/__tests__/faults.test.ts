import { readBatchAnswer } from 'actions-ortto'
import { FaultInjector, FaultOptionsError, mulberry32, parseFaultOptions } from '../faults'
import { startSandbox, type FaultOptions, type Sandbox } from '../index'
import { getJson, postJson, callSandbox, type Answer } from '../../../../../test/helpers/http-client'
import { waitFor } from '../../../../../test/helpers/wait-for'

let sandbox: Sandbox

beforeEach(async () => {
  sandbox = await startSandbox()
})

afterEach(async () => {
  jest.useRealTimers()
  await sandbox.stop()
})

const identify = (userId: string) => postJson(sandbox.url, '/v1/identify', [{ user_id: userId }])
const putMembers = (members: unknown[]) => callSandbox(sandbox.url, 'PUT', '/v1/audiences/members', { body: members })
const member = (userId: string, id: string, mode = 'add') => ({ user_id: userId, audience: { mode, id } })

async function createAudience(name: string): Promise<string> {
  const answer = await postJson(sandbox.url, '/v1/audiences/create', { name })
  expect(answer.status).toBe(200)
  return (answer.json as { id: string }).id
}

/**
 * Stops Date alone (timers and sockets keep running), so which rate window a request falls in
 * depends on the clock set here, never on how fast a loaded machine gets through the requests.
 */
function freezeClock(): void {
  jest.useFakeTimers({
    now: Date.now(),
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'requestAnimationFrame',
      'cancelAnimationFrame',
      'requestIdleCallback',
      'cancelIdleCallback',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout'
    ]
  })
}

/** Settles to what happened to a request: its status, or 'no answer' when the connection was closed on it. */
const outcomeOf = (request: Promise<Answer>): Promise<number | 'no answer'> =>
  request.then(
    (answer) => answer.status,
    () => 'no answer' as const
  )

describe('rate limit', () => {
  it('answers 429 with try-in-seconds once more than N requests arrive in one window, applying nothing', async () => {
    freezeClock()
    sandbox.setFaults({ rateLimitPerSecond: 2, retryAfterSeconds: 7 })
    const statuses = []
    for (const userId of ['u1', 'u2', 'u3']) statuses.push((await identify(userId)).status)
    const limited = await postJson(sandbox.url, '/v1/audiences/create', { name: 'VIP' })

    expect(statuses).toEqual([200, 200, 429])
    expect(limited.status).toBe(429)
    expect(limited.json).toEqual({ error: { code: 'rate-limit', message: 'rate limit', 'try-in-seconds': 7 } })
    expect(sandbox.snapshot().contacts.map((c) => c.user_id)).toEqual(['u1', 'u2'])
    expect(sandbox.snapshot().audiences).toHaveLength(0)
    expect(sandbox.stats().faultsInjected['rate-limit']).toBe(2)
    expect(sandbox.stats().byStatus).toEqual({ '200': 2, '429': 2 })
  })

  it('counts audience members and lookups in the same window as identify calls, and opens a new one a second later', async () => {
    const id = await createAudience('VIP')
    freezeClock()
    sandbox.setFaults({ rateLimitPerSecond: 3 })
    const lookup = () => postJson(sandbox.url, '/v1/audiences/get', { id })
    const first = [
      (await identify('u1')).status,
      (await putMembers([member('m1', id)])).status,
      (await lookup()).status
    ]
    const limited = [await identify('u2'), await putMembers([member('m2', id)]), await lookup()]
    jest.setSystemTime(Date.now() + 1_000)
    const reopened = (await putMembers([member('m3', id)])).status

    expect(first).toEqual([200, 200, 200])
    expect(limited.map((answer) => answer.status)).toEqual([429, 429, 429])
    expect(limited[1].json).toEqual({ error: { code: 'rate-limit', message: 'rate limit', 'try-in-seconds': 1 } })
    expect(reopened).toBe(200)
    // What was limited was not applied: no m2, and no history entry for it.
    expect(sandbox.snapshot().contacts.map((c) => c.user_id)).toEqual(['u1', 'm1', 'm3'])
    expect(sandbox.snapshot().membership_history.map((change) => change.user_id)).toEqual(['m1', 'm3'])
  })

  it('defaults try-in-seconds to 1 and never limits /v1/me or /sandbox routes', async () => {
    sandbox.setFaults({ rateLimitPerSecond: 0 })
    expect((await identify('u1')).json).toEqual({
      error: { code: 'rate-limit', message: 'rate limit', 'try-in-seconds': 1 }
    })
    expect((await getJson(sandbox.url, '/v1/me')).status).toBe(200)
    expect((await getJson(sandbox.url, '/sandbox/contacts')).status).toBe(200)
    expect(sandbox.stats().faultsInjected['rate-limit']).toBe(1)
  })

  it('opens a new window one second after the last one opened', () => {
    const injector = new FaultInjector({ rateLimitPerSecond: 2 })
    const kinds = [0, 10, 999, 1_000, 1_500, 1_999, 2_000].map((ms) => injector.decide(ms).kind)
    expect(kinds).toEqual(['none', 'none', 'rate-limit', 'none', 'none', 'rate-limit', 'none'])
  })
})

describe('failures', () => {
  it('failRate 1 answers 500/502/503 and applies nothing', async () => {
    sandbox.setFaults({ failRate: 1 })
    const answers = []
    for (let i = 0; i < 12; i++) answers.push(await identify(`u${i}`))
    answers.push(await postJson(sandbox.url, '/v1/track', [{ user_id: 'x', event: 'e' }]))
    answers.push(await postJson(sandbox.url, '/v1/audiences/create', { name: 'VIP' }))

    const statuses = new Set(answers.map((a) => a.status))
    expect([...statuses].sort()).toEqual([500, 502, 503])
    expect(answers[0].json).toEqual({
      error: { code: 'unavailable', message: 'injected failure: nothing was applied' }
    })
    expect(sandbox.snapshot()).toEqual({ contacts: [], activities: [], audiences: [], membership_history: [] })
    expect(sandbox.stats().faultsInjected.fail).toBe(14)
    expect(sandbox.stats().objectsReceived).toBe(13)
  })

  it('failRate 1 fails audience members and lookups too, changing no membership', async () => {
    const id = await createAudience('VIP')
    sandbox.setFaults({ failRate: 1 })
    const members = await putMembers([member('u1', id), member('u2', id)])
    const lookup = await postJson(sandbox.url, '/v1/audiences/get', { id })

    expect([members.status, lookup.status].every((status) => [500, 502, 503].includes(status))).toBe(true)
    expect(members.json).toEqual({ error: { code: 'unavailable', message: 'injected failure: nothing was applied' } })
    const state = sandbox.snapshot()
    expect(state.contacts).toEqual([])
    expect(state.audiences[0].member_ids).toEqual([])
    expect(state.membership_history).toEqual([])
    expect(sandbox.stats()).toMatchObject({ objectsReceived: 2, objectsAccepted: 0, faultsInjected: { fail: 2 } })
  })

  it('applies the same faults for the same seed, and others for another seed', async () => {
    const run = async (seed: number): Promise<number[]> => {
      await sandbox.reset()
      sandbox.setFaults({ failRate: 0.5, seed })
      const statuses = []
      for (let i = 0; i < 24; i++) statuses.push((await identify(`u${i}`)).status)
      return statuses
    }
    const first = await run(42)
    expect(first).toContain(200)
    expect(first.some((status) => status >= 500)).toBe(true)
    expect(await run(42)).toEqual(first)
    expect(await run(43)).not.toEqual(first)
  })

  it('splits the draw by rate so each fault gets its share', () => {
    const injector = new FaultInjector({ failRate: 0.2, dropRate: 0.1, malformedRate: 0.1, slowRate: 0.3, seed: 9 })
    const counts: Record<string, number> = {}
    for (let i = 0; i < 20_000; i++) {
      const kind = injector.decide(i).kind
      counts[kind] = (counts[kind] ?? 0) + 1
    }
    const share = (kind: string) => Math.round((counts[kind] / 20_000) * 100)
    expect([share('fail'), share('drop'), share('malformed'), share('slow'), share('none')]).toEqual([
      20, 10, 10, 30, 30
    ])
  })
})

describe('dropped connections', () => {
  it('destroys the socket without an answer, half before applying and half after', async () => {
    sandbox.setFaults({ dropRate: 1, seed: 3 })
    const outcomes = []
    for (let i = 0; i < 10; i++) outcomes.push(await outcomeOf(identify(`u${i}`)))
    expect(outcomes).toEqual(Array(10).fill('no answer'))
    const { faultsInjected } = sandbox.stats()
    const after = faultsInjected['drop-after-apply']
    expect(faultsInjected['drop-before-apply'] + after).toBe(10)
    expect(after).toBeGreaterThan(0)
    expect(after).toBeLessThan(10)
    // Exactly the requests dropped after applying left a contact behind.
    expect(sandbox.snapshot().contacts).toHaveLength(after)
    expect(sandbox.stats().byStatus).toEqual({})
  })

  it('drops audience member requests the same way: only those dropped after applying changed a membership', async () => {
    const id = await createAudience('VIP')
    sandbox.setFaults({ dropRate: 1, seed: 3 })
    const outcomes = []
    for (let i = 0; i < 10; i++) outcomes.push(await outcomeOf(putMembers([member(`u${i}`, id)])))
    expect(outcomes).toEqual(Array(10).fill('no answer'))
    const after = sandbox.stats().faultsInjected['drop-after-apply']
    expect(after).toBeGreaterThan(0)
    expect(after).toBeLessThan(10)
    const state = sandbox.snapshot()
    expect(state.audiences[0].member_ids).toHaveLength(after)
    expect(state.membership_history).toHaveLength(after)
  })
})

describe('slow answers', () => {
  it('applies the request at once and holds the answer back until stop(), which does not wait for it', async () => {
    sandbox.setFaults({ slowRate: 1, slowMs: 600_000 })
    let settled = false
    const pending = outcomeOf(identify('u1')).finally(() => {
      settled = true
    })
    // Applied while the client is still waiting: a client time-out here would be a lie.
    await waitFor('the held-back identify to be applied', () => sandbox.snapshot().contacts.length === 1)
    expect(settled).toBe(false)
    expect(sandbox.stats().faultsInjected.slow).toBe(1)
    // Were stop() to wait for the held answer, it would not resolve for ten minutes and the test would time out.
    await sandbox.stop()
    expect(await pending).toBe('no answer')
    expect(sandbox.stats().byStatus).toEqual({})
  })

  it('answers with the real answer once slowMs have passed', async () => {
    const id = await createAudience('VIP')
    sandbox.setFaults({ slowRate: 1, slowMs: 150 })
    const started = performance.now()
    const answer = await putMembers([member('u1', id), { user_id: 'u2' }])
    // A lower bound only: the answer may come later on a loaded machine, never sooner.
    expect(performance.now() - started).toBeGreaterThanOrEqual(149)
    expect(answer.status).toBe(207)
    expect(answer.json).toEqual({
      errors: [
        {
          index: 1,
          status: 400,
          message: 'audience is required on an audience member: {"mode": "add" | "remove", "id": "<audience id>"}'
        }
      ]
    })
    expect(sandbox.snapshot().audiences[0].member_ids).toHaveLength(1)
  })
})

describe('malformed answers', () => {
  const MALFORMED_BODIES = [
    '{"errors": [{"index": 0, "status": 4',
    '{"errors":{"index":0,"status":400,"message":"errors is an object, not a list"}}',
    '{"errors":[null]}',
    '{"errors":[{"index":2,"status":400,"message":"index past the last object"}]}'
  ].sort()

  it.each([
    ['identify', 'POST', '/v1/identify'],
    ['audience members', 'PUT', '/v1/audiences/members']
  ])('%s: applies the objects, then answers 207 with a body the client cannot use', async (_what, method, path) => {
    const id = await createAudience('VIP')
    sandbox.setFaults({ malformedRate: 1, seed: 11 })
    const bodies = new Set<string>()
    for (let i = 0; i < 16; i++) {
      const objects = [member(`u${i}`, id), member(`v${i}`, id)]
      const answer = await callSandbox(sandbox.url, method, path, { body: objects })
      expect(answer.status).toBe(207)
      bodies.add(answer.text)
      // No object can be confirmed from such an answer.
      expect(readBatchAnswer(answer.status, answer.text, objects.length).every((v) => !v.ok)).toBe(true)
    }
    expect([...bodies].sort()).toEqual(MALFORMED_BODIES)
    expect(sandbox.snapshot().contacts).toHaveLength(32)
    expect(sandbox.snapshot().audiences[0].member_ids).toHaveLength(32)
    expect(sandbox.stats().faultsInjected.malformed).toBe(16)
  })

  it('answers audience creation with a body that is not JSON, after creating it', async () => {
    sandbox.setFaults({ malformedRate: 1 })
    const answer = await postJson(sandbox.url, '/v1/audiences/create', { name: 'VIP' })
    expect(answer.status).toBe(200)
    expect(answer.text).toBe('{"id": "')
    expect(sandbox.snapshot().audiences.map((a) => a.name)).toEqual(['VIP'])
  })

  it('answers an audience lookup with a body that is not JSON', async () => {
    const id = await createAudience('VIP')
    sandbox.setFaults({ malformedRate: 1 })
    const answer = await postJson(sandbox.url, '/v1/audiences/get', { id })
    expect(answer.status).toBe(200)
    expect(answer.text).toBe('{"id": "')
    expect(sandbox.stats().faultsInjected.malformed).toBe(1)
  })
})

describe('fault options', () => {
  it('POST /sandbox/faults replaces the active faults and {} turns them off', async () => {
    const set = await postJson(sandbox.url, '/sandbox/faults', { failRate: 1, seed: 5 }, { apiKey: null })
    expect(set.status).toBe(200)
    expect(set.json).toEqual({ faults: { failRate: 1, seed: 5 } })
    expect((await getJson(sandbox.url, '/sandbox/faults')).json).toEqual({ faults: { failRate: 1, seed: 5 } })
    expect((await identify('u1')).status).toBeGreaterThanOrEqual(500)

    const off = await postJson(sandbox.url, '/sandbox/faults', {})
    expect(off.json).toEqual({ faults: {} })
    expect((await identify('u1')).status).toBe(200)
  })

  it.each([
    [{ failRate: 1.5 }, 'fault option failRate must be a number from 0 to 1'],
    [{ rateLimitPerSecond: 2.5 }, 'fault option rateLimitPerSecond must be a whole number of 0 or more'],
    [{ slowMs: -1 }, 'fault option slowMs must be a whole number of milliseconds from 0 to 600000'],
    [{ dropRate: '0.1' }, 'fault option dropRate must be a number from 0 to 1'],
    [
      { failrate: 0.1 },
      'unknown fault option "failrate"; known options: rateLimitPerSecond, retryAfterSeconds, failRate, slowRate, slowMs, dropRate, malformedRate, seed'
    ],
    [[], 'fault options must be a JSON object such as {"failRate": 0.1}; {} turns faults off']
  ])('POST /sandbox/faults answers 400 for %j and keeps the previous faults', async (body, message) => {
    sandbox.setFaults({ seed: 1 })
    const answer = await postJson(sandbox.url, '/sandbox/faults', body)
    expect(answer.status).toBe(400)
    expect(answer.json).toEqual({ error: { code: 'bad-request', message } })
    expect((await getJson(sandbox.url, '/sandbox/faults')).json).toEqual({ faults: { seed: 1 } })
  })

  it('setFaults and startSandbox throw FaultOptionsError for bad options', async () => {
    expect(() => sandbox.setFaults({ malformedRate: -0.1 })).toThrow(FaultOptionsError)
    await expect(startSandbox({ faults: { slowRate: 2 } })).rejects.toThrow(
      new FaultOptionsError('fault option slowRate must be a number from 0 to 1')
    )
  })

  it('treats null as unset, so JSON can turn one fault off', () => {
    expect(parseFaultOptions({ failRate: null, dropRate: 0.5 })).toEqual({ dropRate: 0.5 } satisfies FaultOptions)
  })

  it('mulberry32 repeats its sequence for a seed', () => {
    const a = mulberry32(123)
    const b = mulberry32(123)
    const first = [a(), a(), a()]
    expect([b(), b(), b()]).toEqual(first)
    expect(first.every((n) => n >= 0 && n < 1)).toBe(true)
    expect(new Set(first).size).toBe(3)
  })
})
