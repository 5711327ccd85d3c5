/**
 * An IPv6 address never costs a membership change: Sync Audience reads the IP Address from the
 * Engage event's traits (or properties) and sends only what Ortto takes, single and batch.
 */
import definition from '../index'
import {
  AUDIENCE_ID,
  MODES,
  engageIdentify,
  engageTrack,
  runSyncBatch,
  stubMembers,
  syncOutcome
} from './__helpers__/audiences'

const CASES: Array<[string, string | undefined]> = [
  ['203.0.113.7', '203.0.113.7'],
  ['::ffff:203.0.113.7', '203.0.113.7'],
  ['0:0:0:0:0:FFFF:cb00:7107', '203.0.113.7'],
  ['2001:db8::1', undefined],
  ['::1', undefined],
  ['unknown', undefined],
  ['', undefined]
]

describe.each(MODES)('%s mode', (mode) => {
  it.each(CASES)('adds the member of an identify call whose ip trait is %j, with ip %j', async (ip, sent) => {
    const ortto = stubMembers([200, {}])
    await expect(syncOutcome(mode, engageIdentify(true, { traits: { ip } }))).resolves.toEqual({ status: 200 })
    const [member] = ortto.bodies[0]
    expect(member).toMatchObject({ user_id: 'user-1', audience: { mode: 'add', id: AUDIENCE_ID } })
    if (sent === undefined) expect(member).not.toHaveProperty('ip')
    else expect(member.ip).toBe(sent)
  })

  it('removes the member of a track call whose ip property is IPv6, without ip', async () => {
    const ortto = stubMembers([200, {}])
    const event = engageTrack(false)
    event.properties = { ...event.properties, ip: '2001:db8::1' }
    await expect(syncOutcome(mode, event)).resolves.toEqual({ status: 200 })
    expect(ortto.bodies[0][0]).toMatchObject({ user_id: 'user-1', audience: { mode: 'remove', id: AUDIENCE_ID } })
    expect(ortto.bodies[0][0]).not.toHaveProperty('ip')
  })
})

it('delivers every membership change of a batch whatever its address', async () => {
  const ortto = stubMembers([200, {}])
  const events = CASES.map(([ip], i) => engageIdentify(true, { userId: `u${i}`, traits: { ip } }))
  const results = await runSyncBatch(events)
  expect(results.map((r) => r.status)).toEqual(CASES.map(() => 200))
  expect(ortto.bodies[0].map((member) => member.ip)).toEqual(CASES.map(([, sent]) => sent))
})

// The literal field table of definition.test.ts pins the rest: the same keys, nothing newly required.
it('has an IP Address field with no format', () => {
  expect(definition.actions.syncAudience.fields.ip.format).toBeUndefined()
})
