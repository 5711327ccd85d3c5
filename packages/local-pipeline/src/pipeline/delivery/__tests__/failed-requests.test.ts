/** The console's ring of failed attempts: bounded, newest first, and never with the API key. */
import type { DecoratedResponse } from '@segment/actions-core'
import { BODY_LIMIT, FAILED_ATTEMPTS_KEPT, FailedRequests } from '../failed-requests'

const KEY = 'pau-secret"with\\quotes'
const ESCAPED = JSON.stringify(KEY).slice(1, -1)

/** What actions-core keeps of a request and its answer (the parts exchangeOf reads). */
function response(requestBody: string, answer: string, status = 500): DecoratedResponse {
  return {
    status,
    statusText: 'Internal Server Error',
    headers: new Headers({ 'content-type': 'application/json' }),
    content: answer,
    request: new Request('http://127.0.0.1:9/v1/track', {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }
    }),
    options: { body: requestBody }
  } as unknown as DecoratedResponse
}

const attempt = (responses: DecoratedResponse[], reason = 'Ortto answered 500', messageIds = ['m1']) => ({
  at: '2026-03-01T10:00:00.000Z',
  subscription: 'Track Activity',
  partnerAction: 'trackActivity',
  status: 500,
  reason,
  failed: 1,
  retrying: 0,
  delivered: 0,
  messageIds,
  responses
})

describe('FailedRequests', () => {
  it('keeps the exact request and answer, with the key removed as it is and as JSON escapes it', () => {
    const ring = new FailedRequests(KEY)
    const body = JSON.stringify([{ user_id: 'u1', note: KEY }])
    ring.record(attempt([response(body, JSON.stringify({ error: { message: `bad key ${KEY}` } }))], `echo ${KEY}`))
    const [kept] = ring.latest()
    const text = JSON.stringify(kept)
    expect(text).not.toContain(KEY)
    expect(text).not.toContain(ESCAPED)
    expect(kept.reason).toBe('echo «redacted»')
    expect(kept.exchanges[0].request).toEqual({
      url: 'http://127.0.0.1:9/v1/track',
      method: 'POST',
      headers: { authorization: '<redacted>', 'content-type': 'application/json' },
      body: body.split(ESCAPED).join('«redacted»')
    })
    expect(kept.exchanges[0].response).toMatchObject({
      statusCode: 500,
      body: { error: { message: 'bad key «redacted»' } }
    })
  })

  it('cuts long bodies after removing the key, so no part of it survives the cut', () => {
    const ring = new FailedRequests(KEY)
    // The key straddles the cut.
    const body = `${'x'.repeat(BODY_LIMIT - 5)}${KEY}${'y'.repeat(100)}`
    ring.record(attempt([response(body, 'z'.repeat(BODY_LIMIT + 10))]))
    const [kept] = ring.latest()
    expect(kept.exchanges[0].request.body).not.toContain(KEY.slice(0, 5))
    expect(kept.exchanges[0].request.body).toMatch(
      /^x+«reda… \(\d+ more characters not kept; the console keeps 32768\)$/
    )
    expect(kept.exchanges[0].response.body).toMatch(/^z{32768}… \(10 more characters not kept/)
  })

  it('keeps the latest attempts first, at most FAILED_ATTEMPTS_KEPT, and counts all of them', () => {
    const ring = new FailedRequests(KEY)
    const ids = Array.from({ length: 12 }, (_, i) => `m${i}`)
    for (let i = 0; i < FAILED_ATTEMPTS_KEPT + 3; i++) ring.record(attempt([], `reason ${i}`, ids))
    const latest = ring.latest()
    expect(ring.recorded).toBe(FAILED_ATTEMPTS_KEPT + 3)
    expect(latest).toHaveLength(FAILED_ATTEMPTS_KEPT)
    expect(latest[0]).toMatchObject({
      sequence: FAILED_ATTEMPTS_KEPT + 3,
      reason: `reason ${FAILED_ATTEMPTS_KEPT + 2}`
    })
    expect(latest[0].messageIds).toEqual(ids.slice(0, 10))
    expect(latest[0].moreMessageIds).toBe(2)
    expect(latest[0].exchanges).toEqual([])
  })
})
