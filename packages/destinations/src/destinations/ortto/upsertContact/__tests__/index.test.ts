import { CONTACT_ACTIONS, eventFor, mappingFor, runBatch, stubOrtto } from '../../__tests__/__helpers__/ortto'

const path = '/v1/identify'

describe.each(CONTACT_ACTIONS)('Upsert Contact (%s)', (slug) => {
  it('sends exactly the contact keys of the contract, built from the default mapping', async () => {
    const ortto = stubOrtto(path, [200, {}])
    const event = eventFor(slug, {
      userId: 'user-1',
      anonymousId: 'anon-1',
      messageId: 'msg-7',
      timestamp: '2024-03-01T09:30:00.123-05:00',
      traits: {
        email: 'ada@example.com',
        first_name: 'Ada',
        address: { country: 'Australia', state: 'VIC', city: 'Melbourne', postal_code: '3000' }
      },
      context: { ip: '198.51.100.4' }
    })
    const [result] = await runBatch(slug, [event])
    expect(result).toMatchObject({ status: 200 })
    expect(ortto.bodies).toEqual([
      [
        {
          user_id: 'user-1',
          anonymous_id: 'anon-1',
          ip: '198.51.100.4',
          location: { country: 'Australia', state: 'VIC', city: 'Melbourne', post_code: '3000' },
          traits: {
            email: 'ada@example.com',
            first_name: 'Ada',
            address: { country: 'Australia', state: 'VIC', city: 'Melbourne', postal_code: '3000' }
          },
          timestamp: '2024-03-01T14:30:00.123Z',
          message_id: 'msg-7'
        }
      ]
    ])
  })

  it('sends a contact known only by its anonymous id, with no location when there is no address', async () => {
    const ortto = stubOrtto(path, [200])
    await runBatch(slug, [eventFor(slug, { userId: undefined, anonymousId: 'anon-only', traits: { plan: 'free' } })])
    expect(ortto.bodies[0]).toEqual([
      {
        anonymous_id: 'anon-only',
        ip: '8.8.8.8',
        traits: { plan: 'free' },
        timestamp: '2024-03-01T10:00:00.000Z',
        message_id: 'msg-1'
      }
    ])
  })

  it('removes the contact from the saved audience when the mode is remove', async () => {
    const ortto = stubOrtto(path, [200])
    await runBatch(slug, [eventFor(slug)], {
      mapping: mappingFor(slug, { audienceId: 'aud-3', overrides: { audience_update_mode: 'remove' } })
    })
    expect(ortto.bodies[0][0]).toMatchObject({ user_id: 'user1234', audience: { mode: 'remove', id: 'aud-3' } })
  })

  it('fails only the events whose ids are missing and sends the others', async () => {
    const ortto = stubOrtto(path, [200])
    const results = await runBatch(slug, [
      eventFor(slug, { userId: 'u1' }),
      eventFor(slug, { userId: '', anonymousId: ' ' }),
      eventFor(slug, { userId: 'u3' })
    ])
    expect(results.map((r) => r.status)).toEqual([200, 400, 200])
    expect(ortto.bodies[0]).toHaveLength(2)
  })
})
