/**
 * Finding an event's outcome: the bounded store (OutcomeLog) on its own, and GET /outcomes over
 * real sockets against a pipeline with the embedded sandbox.
 */
import { LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import { startPipeline, type Pipeline } from '../index'
import { DEFAULT_OUTCOME_CAPACITY, OutcomeLog, type DeliveryOutcome } from '../outcomes'
import { TEST_WRITE_KEY, get, identifyBody, post, tempDir, waitFor } from '../../../test/helpers/pipeline-helpers'

const outcome = (n: number, userId = `user-${n}`): DeliveryOutcome => ({
  messageId: `m-${n}`,
  userId,
  type: 'identify',
  subscription: 'Upsert Contact',
  partnerAction: 'upsertContact',
  outcome: 'delivered',
  status: 200,
  attempts: 1,
  at: new Date(Date.UTC(2024, 2, 1, 10, 0, n % 60)).toISOString()
})

describe('OutcomeLog', () => {
  it('keeps 10,000 outcomes by default: the 10,001st evicts the oldest, and only it', () => {
    const log = new OutcomeLog()
    expect(DEFAULT_OUTCOME_CAPACITY).toBe(10_000)
    for (let n = 0; n < 10_000; n++) log.add(outcome(n))
    expect(log.size).toBe(10_000)
    expect(log.find({ messageId: 'm-0' })).toEqual([outcome(0)])
    log.add(outcome(10_000))
    expect(log.size).toBe(10_000)
    expect(log.find({ messageId: 'm-0' })).toEqual([])
    expect(log.find({ userId: 'user-0' })).toEqual([])
    expect(log.find({ messageId: 'm-1' })).toEqual([outcome(1)])
    expect(log.find({ messageId: 'm-10000' })).toEqual([outcome(10_000)])
  })

  it("evicts from an id's list oldest first, leaving its newer outcomes findable", () => {
    const log = new OutcomeLog(3)
    log.add(outcome(1, 'ada'))
    log.add(outcome(2, 'bob'))
    log.add(outcome(3, 'ada'))
    log.add(outcome(4, 'ada'))
    expect(log.find({ userId: 'ada' }).map((o) => o.messageId)).toEqual(['m-3', 'm-4'])
    log.add(outcome(5, 'cy'))
    expect(log.find({ userId: 'bob' })).toEqual([])
    expect(log.find({ userId: 'ada' }).map((o) => o.messageId)).toEqual(['m-3', 'm-4'])
    expect(log.find({ anonymousId: 'ada' })).toEqual([])
  })

  it('keeps ends given field by field (delivered, matched no subscription) in the same ring, found as whole outcomes', () => {
    const log = new OutcomeLog(3)
    const subscription = { name: 'Upsert Contact', partnerAction: 'upsertContact' }
    const at = '2024-03-01T10:00:00.000Z'
    log.addEnd({ messageId: 'm-1', userId: 'ada', type: 'identify' }, subscription, 200, 2, at)
    log.add(outcome(2, 'ada'))
    log.addEnd({ messageId: 'm-3', anonymousId: 'anon-9', userId: '7', type: 'page' }, undefined, undefined, 0, at)
    expect(log.find({ userId: 'ada' })).toEqual([
      {
        messageId: 'm-1',
        userId: 'ada',
        type: 'identify',
        subscription: 'Upsert Contact',
        partnerAction: 'upsertContact',
        outcome: 'delivered',
        status: 200,
        attempts: 2,
        at
      },
      outcome(2, 'ada')
    ])
    expect(log.find({ anonymousId: 'anon-9' })).toEqual([
      { messageId: 'm-3', userId: '7', anonymousId: 'anon-9', type: 'page', outcome: 'unsubscribed', attempts: 0, at }
    ])
    // The fourth takes the oldest slot (m-1's); a whole outcome there is gone once an end takes its slot.
    log.addEnd({ messageId: 'm-4', userId: 'bob', type: 'identify' }, subscription, 207, 1, at)
    log.addEnd({ messageId: 'm-5', userId: 'bob', type: 'identify' }, subscription, 200, 1, at)
    expect(log.size).toBe(3)
    expect(log.find({ userId: 'ada' })).toEqual([])
    expect(log.find({ userId: 'bob' }).map((o) => [o.messageId, o.status])).toEqual([
      ['m-4', 207],
      ['m-5', 200]
    ])
  })

  it('refuses a capacity that is not a whole number above 0', () => {
    expect(() => new OutcomeLog(0)).toThrow('capacity must be a whole number above 0')
  })
})

describe('GET /outcomes', () => {
  let pipeline: Pipeline
  let temp: ReturnType<typeof tempDir>

  beforeEach(async () => {
    temp = tempDir()
    pipeline = await startPipeline(
      {
        port: 0,
        target: { kind: 'sandbox', port: 0 },
        flushIntervalMs: 20,
        maxAttempts: 1,
        writeKey: TEST_WRITE_KEY,
        deadLetterFile: temp.file('dead.ndjson')
      },
      () => undefined
    )
  })

  afterEach(async () => {
    await pipeline.stop()
    delete process.env[LOCAL_ENDPOINT_ENV]
    temp.remove()
  })

  it('says which subscriptions an event went to and how each ended, by messageId and by userId', async () => {
    await post(pipeline.url, '/v1/batch', {
      batch: [
        { type: 'identify', ...identifyBody('ada') },
        { type: 'identify', ...identifyBody('ada', { bio: 'b'.repeat(5_000) }, { messageId: 'msg-long' }) },
        { type: 'page', userId: 'ada', name: 'Home', messageId: 'msg-page' }
      ]
    })
    await waitFor('both deliveries', () => {
      const status = pipeline.delivery.status()
      return status.delivered + status.failed === 2
    })

    const byMessage = await get(pipeline.url, '/outcomes?messageId=msg-long')
    expect(byMessage.status).toBe(200)
    expect(byMessage.json).toEqual({
      query: { messageId: 'msg-long' },
      found: 1,
      outcomes: [
        {
          messageId: 'msg-long',
          userId: 'ada',
          type: 'identify',
          subscription: 'Upsert Contact',
          partnerAction: 'upsertContact',
          outcome: 'failed',
          status: 400,
          errortype: 'BAD_REQUEST',
          reason:
            'Ortto rejected this event (400): traits.bio is 5000 characters long; text fields take at most 4000 characters',
          attempts: 1,
          at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          deadLettered: true
        }
      ]
    })

    const byUser = await get(pipeline.url, '/outcomes?userId=ada')
    const found = byUser.json as { found: number; outcomes: DeliveryOutcome[] }
    expect(found.found).toBe(3)
    expect(found.outcomes.map((o) => [o.messageId, o.subscription ?? null, o.outcome])).toEqual([
      ['msg-page', null, 'unsubscribed'],
      ['msg-identify-ada', 'Upsert Contact', 'delivered'],
      ['msg-long', 'Upsert Contact', 'failed']
    ])
    expect(byUser.text).not.toContain(pipeline.apiKey)

    expect((await get(pipeline.url, '/outcomes?anonymousId=nobody')).json).toEqual({
      query: { anonymousId: 'nobody' },
      found: 0,
      outcomes: [],
      note: 'no event with this anonymousId among the last 10000 outcomes or the deliveries held now'
    })
  })

  it.each(['', '?messageId=', '?messageId=a&userId=b', '?email=ada@example.com'])(
    'GET /outcomes%s → 400 saying which query it takes',
    async (query) => {
      const answer = await get(pipeline.url, `/outcomes${query}`)
      expect(answer.status).toBe(400)
      expect(answer.json).toEqual({
        error: {
          code: 'bad-request',
          message: 'GET /outcomes takes one of ?messageId=…, ?userId=… or ?anonymousId=…, not empty'
        }
      })
    }
  )
})
