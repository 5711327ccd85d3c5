import nock from 'nock'
import { MODES, ORIGIN, eventFor, mappingFor, outcomeOf, runBatch, stubOrtto } from '../../__tests__/__helpers__/ortto'

const slug = 'trackActivity'
const path = '/v1/track'

describe('Track Activity', () => {
  it('sends exactly the activity keys of the contract, built from the default mapping', async () => {
    const ortto = stubOrtto(path, [200, {}])
    const event = eventFor(slug, {
      userId: 'user-1',
      anonymousId: 'anon-1',
      messageId: 'msg-42',
      // Arrives with an offset; goes out as UTC with milliseconds.
      timestamp: '2024-03-01T10:00:00+10:00',
      properties: { total: 42.5, currency: 'AUD', items: [{ sku: 'A1' }] },
      traits: undefined,
      context: {
        ip: '203.0.113.7',
        app: { namespace: 'com.example.shop' },
        traits: {
          plan: 'pro',
          address: { country: 'Australia', state: 'NSW', city: 'Sydney', postal_code: '2000' }
        }
      }
    })
    const [result] = await runBatch(slug, [event])
    expect(result).toMatchObject({ status: 200 })
    expect(ortto.bodies).toEqual([
      [
        {
          user_id: 'user-1',
          anonymous_id: 'anon-1',
          ip: '203.0.113.7',
          location: { country: 'Australia', state: 'NSW', city: 'Sydney', post_code: '2000' },
          traits: { plan: 'pro', address: { country: 'Australia', state: 'NSW', city: 'Sydney', postal_code: '2000' } },
          timestamp: '2024-03-01T00:00:00.000Z',
          message_id: 'msg-42',
          event: 'Order Completed',
          properties: { total: 42.5, currency: 'AUD', items: [{ sku: 'A1' }] },
          namespace: 'com.example.shop'
        }
      ]
    ])
  })

  it('prefers top-level traits and their address over context.traits', async () => {
    const ortto = stubOrtto(path, [200])
    await runBatch(slug, [
      eventFor(slug, {
        traits: { tier: 'gold', address: { city: 'Perth' } },
        context: { traits: { tier: 'silver', address: { city: 'Hobart', country: 'Australia' } } }
      })
    ])
    expect(ortto.bodies[0][0]).toMatchObject({
      traits: { tier: 'gold', address: { city: 'Perth' } },
      location: { city: 'Perth', country: 'Australia' }
    })
  })

  it('leaves out empty objects, empty strings and trait/property names that are empty', async () => {
    const ortto = stubOrtto(path, [200])
    await runBatch(slug, [
      eventFor(slug, {
        userId: '',
        anonymousId: 'anon-7',
        messageId: '',
        properties: { '': 'nameless', kept: null },
        traits: {},
        context: { ip: undefined, traits: { address: { city: '', country: '' } } }
      })
    ])
    expect(ortto.bodies[0]).toEqual([
      {
        anonymous_id: 'anon-7',
        timestamp: '2024-03-01T10:00:00.000Z',
        event: 'Order Completed',
        properties: { kept: null }
      }
    ])
  })

  describe.each(MODES)('%s mode', (mode) => {
    it('fails a blank event name with 400 PAYLOAD_VALIDATION_FAILED and sends nothing', async () => {
      const outcome = await outcomeOf(mode, slug, eventFor(slug, { event: '   ' }))
      expect(outcome).toMatchObject({ status: 400, errortype: 'PAYLOAD_VALIDATION_FAILED' })
      expect(outcome.message).toMatch(/Event name is blank/)
    })

    it('acknowledges an event from Ortto itself (namespace ortto.com) without sending it', async () => {
      const ortto = nock(ORIGIN).post(path).reply(200, {})
      const event = eventFor(slug, { context: { app: { namespace: 'ortto.com' } } })
      await expect(outcomeOf(mode, slug, event)).resolves.toEqual({ status: 200 })
      expect(ortto.isDone()).toBe(false)
    })
  })

  it('explains in the result why an ortto.com event was not sent', async () => {
    const [result] = await runBatch(slug, [eventFor(slug, { context: { app: { namespace: 'Ortto.com' } } })])
    expect(result).toEqual({ status: 200, sent: {}, body: result.body })
    expect(result.body).toMatch(/came from Ortto itself/)
  })

  it('sends the rest of a batch when some events are looped, invalid or rejected', async () => {
    const ortto = stubOrtto(path, [207, { errors: [{ index: 1, status: 400, message: 'property too long' }] }])
    const results = await runBatch(slug, [
      eventFor(slug, { userId: 'a' }),
      eventFor(slug, { userId: 'b', context: { app: { namespace: 'ortto.com' } } }),
      eventFor(slug, { userId: 'c', event: ' ' }),
      eventFor(slug, { userId: 'd' }),
      eventFor(slug, { userId: 'e' })
    ])
    expect(results.map((r) => r.status)).toEqual([200, 200, 400, 400, 200])
    expect(ortto.bodies[0].map((o) => (o as { user_id: string }).user_id)).toEqual(['a', 'd', 'e'])
    expect(results[3]).toMatchObject({ errormessage: 'Ortto rejected this event (400): property too long' })
  })

  it('carries the saved audience on each activity', async () => {
    const ortto = stubOrtto(path, [200])
    await runBatch(slug, [eventFor(slug)], { mapping: mappingFor(slug, { audienceId: 'aud-9' }) })
    expect(ortto.bodies[0][0]).toMatchObject({ event: 'Order Completed', audience: { mode: 'add', id: 'aud-9' } })
  })
})
