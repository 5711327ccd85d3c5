/**
 * An IPv6 address never costs an event: with the default mappings, as Segment runs them, an
 * event whose `context.ip` Ortto cannot take is delivered without `ip`; an IPv4-mapped IPv6
 * address goes as its IPv4 address. Each action, single and batch.
 */
import definition from '../index'
import { ACTIONS, MODES, eventFor, outcomeOf, runBatch, stubOrtto } from './__helpers__/ortto'

/** `context.ip` as the event carries it → `ip` as Ortto gets it (undefined: no `ip` key at all). */
const CASES: Array<[string, string | undefined]> = [
  ['203.0.113.7', '203.0.113.7'],
  ['::ffff:203.0.113.7', '203.0.113.7'],
  ['::FFFF:203.0.113.7', '203.0.113.7'],
  ['0:0:0:0:0:ffff:203.0.113.7', '203.0.113.7'],
  ['::ffff:cb00:7107', '203.0.113.7'],
  ['2001:db8::1', undefined],
  ['2001:0db8:85a3:0000:0000:8a2e:0370:7334', undefined],
  ['::1', undefined],
  ['010.0.0.1', undefined],
  ['unknown', undefined],
  ['', undefined]
]

describe.each(ACTIONS)('$slug', ({ slug, path }) => {
  describe.each(MODES)('%s mode', (mode) => {
    it.each(CASES)('delivers an event whose context.ip is %j, with ip %j', async (contextIp, sent) => {
      const ortto = stubOrtto(path, [200, {}])
      const event = eventFor(slug, { userId: 'ada', context: { ip: contextIp }, traits: { plan: 'pro' } })
      await expect(outcomeOf(mode, slug, event)).resolves.toEqual({ status: 200 })
      expect(ortto.bodies).toHaveLength(1)
      const [object] = ortto.bodies[0] as Array<Record<string, unknown>>
      // The rest of the event goes as it would with any address.
      expect(object).toMatchObject({ user_id: 'ada', traits: { plan: 'pro' }, message_id: 'msg-1' })
      if (sent === undefined) expect(object).not.toHaveProperty('ip')
      else expect(object.ip).toBe(sent)
    })
  })

  it('delivers every event of a batch whatever its address, each with the ip Ortto takes', async () => {
    const ortto = stubOrtto(path, [200, {}])
    const events = CASES.map(([ip], i) => eventFor(slug, { userId: `u${i}`, context: { ip } }))
    const results = await runBatch(slug, events)
    expect(results.map((r) => r.status)).toEqual(CASES.map(() => 200))
    const objects = ortto.bodies[0] as Array<Record<string, unknown>>
    expect(objects.map((o) => o.user_id)).toEqual(CASES.map((_, i) => `u${i}`))
    expect(objects.map((o) => o.ip)).toEqual(CASES.map(([, sent]) => sent))
    expect(objects.map((o) => Object.prototype.hasOwnProperty.call(o, 'ip'))).toEqual(
      CASES.map(([, sent]) => sent !== undefined)
    )
  })

  it('has an IP Address field with no format, whose description says what is sent', () => {
    const field = definition.actions[slug].fields.ip
    expect(field.format).toBeUndefined()
    expect(field.required).toBeUndefined()
    expect(field.description).toContain(
      'Ortto takes IPv4 addresses: an IPv4-mapped IPv6 address (such as ::ffff:203.0.113.7) is sent as its IPv4 ' +
        'address, and any other value (an IPv6 address, text that is not an address) is left out while the rest of ' +
        'the event is still sent.'
    )
  })
})

describe('relaxing the IP Address format breaks no saved mapping', () => {
  const CONTACT_KEYS = [
    'timestamp',
    'message_id',
    'user_id',
    'anonymous_id',
    'enable_batching',
    'ip',
    'location',
    'traits',
    'audience_update_mode',
    'batch_size'
  ]

  it.each([
    ['upsertContact', CONTACT_KEYS],
    ['upsertContactProfile', CONTACT_KEYS],
    ['trackActivity', [...CONTACT_KEYS, 'event', 'namespace', 'properties']]
  ])('keeps the field keys of %s', (slug, keys) => {
    expect(Object.keys(definition.actions[slug].fields)).toEqual(keys)
  })

  it('keeps the action keys', () => {
    expect(Object.keys(definition.actions)).toEqual(['upsertContact', 'trackActivity', 'upsertContactProfile'])
  })
})
