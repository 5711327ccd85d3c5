/**
 * requestAudience, the one reader of Ortto's audience endpoints (createAudience and getAudience of
 * Ortto (Audiences), and the Associate Audience hook): which answers name an audience, and what
 * of that audience it hands back.
 */
import nock from 'nock'
import { createRequestClient } from '@segment/actions-core'
import { requestAudience } from '../client/audiences'
import { API_PATHS } from '../constants'
import { API_KEY, ORIGIN } from './__helpers__/ortto'

const request = createRequestClient({ headers: { Authorization: `Bearer ${API_KEY}` } })

const create = (status: number, body: unknown) => {
  nock(ORIGIN)
    .post(API_PATHS.createAudience, { name: 'VIP' })
    .reply(status, body as nock.Body)
  return requestAudience(request, API_KEY, API_PATHS.createAudience, { name: 'VIP' })
}

describe('requestAudience', () => {
  it('hands back the id and the name Ortto answers with, which may differ from the name asked for', async () => {
    await expect(create(200, { id: 'aud-1', name: 'vip' })).resolves.toEqual({
      ok: true,
      audience: { id: 'aud-1', name: 'vip' }
    })
  })

  it.each([
    ['no name', { id: 'aud-1' }],
    ['an empty name', { id: 'aud-1', name: '' }],
    ['a name that is not a string', { id: 'aud-1', name: 7 }]
  ])('hands back no name at all when the answer carries %s', async (_case, body) => {
    const answer = await create(200, body)
    expect(answer).toEqual({ ok: true, audience: { id: 'aud-1' } })
    expect(answer.ok && Object.keys(answer.audience)).toEqual(['id'])
  })
})
