import type { Payload as ContactPayload } from '../../upsertContact/generated-types'
import { prepareActivity, prepareContact } from '../wire-objects'

const contact = (timestamp: string) => prepareContact({ user_id: 'u1', timestamp }, undefined)

describe('timestamps', () => {
  it.each([
    ['2024-03-01T10:00:00.000Z', '2024-03-01T10:00:00.000Z'],
    ['2024-03-01T10:00:00+10:00', '2024-03-01T00:00:00.000Z'],
    ['2024-03-01T09:30:00.123-05:00', '2024-03-01T14:30:00.123Z'],
    ['2024-03-01T10:00:00.123456Z', '2024-03-01T10:00:00.123Z'],
    ['2024-02-30T00:00:00.000Z', '2024-03-01T00:00:00.000Z']
  ])('sends %s as %s', (input, sent) => {
    expect(contact(input)).toEqual({ kind: 'send', object: { user_id: 'u1', timestamp: sent } })
  })

  it.each([
    ['2024-05-06T07:08:09', '2024-05-06T07:08:09.000Z'],
    ['2024-05-06T07:08:09.5', '2024-05-06T07:08:09.500Z'],
    ['2024-05-06T07:08:09.123', '2024-05-06T07:08:09.123Z'],
    ['2024-05-06 07:08', '2024-05-06T07:08:00.000Z'],
    ['2024-05-06', '2024-05-06T00:00:00.000Z']
  ])('reads %s, which has no offset, as UTC whatever the host’s time zone', (input, sent) => {
    expect(contact(input)).toEqual({ kind: 'send', object: { user_id: 'u1', timestamp: sent } })
  })

  // Canonical strings skip the date parser; these are the edges of that shortcut, where a real
  // instant must be kept as it is and anything else read (or refused) as the parser reads it.
  it.each([
    ['2024-02-29T12:00:00.000Z', '2024-02-29T12:00:00.000Z'],
    ['2000-02-29T12:00:00.000Z', '2000-02-29T12:00:00.000Z'],
    ['2023-02-29T12:00:00.000Z', '2023-03-01T12:00:00.000Z'],
    ['2100-02-29T12:00:00.000Z', '2100-03-01T12:00:00.000Z'],
    ['2023-02-28T12:00:00.000Z', '2023-02-28T12:00:00.000Z'],
    ['2024-04-31T00:00:00.000Z', '2024-05-01T00:00:00.000Z'],
    ['2024-12-31T23:59:59.999Z', '2024-12-31T23:59:59.999Z'],
    ['2024-01-01T00:00:00.000Z', '2024-01-01T00:00:00.000Z'],
    ['2024-03-01T24:00:00.000Z', '2024-03-02T00:00:00.000Z'],
    ['2024-03-01T10:00:00.5Z', '2024-03-01T10:00:00.500Z']
  ])('sends the canonical-looking %s as %s', (input, sent) => {
    expect(contact(input)).toEqual({ kind: 'send', object: { user_id: 'u1', timestamp: sent } })
  })

  it.each([
    'x2024-01-10T00:00:00.000Z',
    '2024-01-10T00:00:00.000Zx',
    '2024-1-10T00:00:00.000Z',
    '2024-01-1T00:00:00.000Z',
    '2024-01-10T1:00:00.000Z',
    '2024-01-10T10:0:00.000Z',
    '2024-01-10T10:00:0.000Z',
    'x2024-01-10',
    '2024-01-10T10:00 UTC',
    '2024-00-10T00:00:00.000Z',
    '2024-13-10T00:00:00.000Z',
    '2024-01-00T00:00:00.000Z',
    '2024-01-32T00:00:00.000Z',
    '2024-01-10T25:00:00.000Z',
    '2024-01-10T10:60:00.000Z',
    '2024-01-10T10:00:60.000Z'
  ])('refuses %s, which names no instant', (input) => {
    expect(contact(input)).toMatchObject({ kind: 'invalid', failure: { status: 400 } })
  })

  it('fails an event whose timestamp is not a date, saying what to map instead', () => {
    const prepared = contact('yesterday')
    expect(prepared).toMatchObject({
      kind: 'invalid',
      failure: { status: 400, errortype: 'PAYLOAD_VALIDATION_FAILED' }
    })
    expect(prepared.kind === 'invalid' ? prepared.failure.message : '').toMatch(/ISO 8601/)
  })
})

describe('traits and properties', () => {
  it('sends the mapped object itself when nothing needs leaving out, and never modifies it', () => {
    const traits = { plan: 'pro', seats: 3 }
    const prepared = prepareContact({ user_id: 'u1', traits }, undefined)
    expect(prepared).toEqual({ kind: 'send', object: { user_id: 'u1', traits: { plan: 'pro', seats: 3 } } })
    expect(traits).toEqual({ plan: 'pro', seats: 3 })
  })

  it('leaves out empty names and undefined values without touching the original', () => {
    const properties: Record<string, unknown> = { '': 'nameless', gone: undefined, kept: null, total: 2 }
    const prepared = prepareActivity({ user_id: 'u1', event: 'Paid', properties }, undefined)
    // toStrictEqual: `gone: undefined` must not be there at all.
    expect(prepared).toStrictEqual({
      kind: 'send',
      object: { user_id: 'u1', event: 'Paid', properties: { kept: null, total: 2 } }
    })
    expect(Object.keys(properties)).toEqual(['', 'gone', 'kept', 'total'])
  })

  it('leaves out empty-string keys at every depth of nested objects, but not inside arrays', () => {
    const traits = {
      plan: 'pro',
      address: { '': 'nameless', city: 'Sydney', geo: { '': 1, lat: -33.9 } },
      list: [{ '': 'kept in an array' }],
      untouched: { a: 1 }
    }
    const before = JSON.stringify(traits)
    const prepared = prepareContact({ user_id: 'u1', traits }, undefined)
    expect(prepared).toEqual({
      kind: 'send',
      object: {
        user_id: 'u1',
        traits: {
          plan: 'pro',
          address: { city: 'Sydney', geo: { lat: -33.9 } },
          list: [{ '': 'kept in an array' }],
          untouched: { a: 1 }
        }
      }
    })
    expect(JSON.stringify(traits)).toBe(before)
    // What needed no change is the caller's own object, not a copy.
    const sent = prepared.kind === 'send' ? prepared.object.traits : undefined
    expect(sent?.untouched).toBe(traits.untouched)
    expect(sent?.list).toBe(traits.list)
  })

  it('sends nested objects as they are when no key in them is empty', () => {
    const properties = { order: { id: 'o-1', lines: [{ sku: 'A1' }] }, total: 3 }
    const prepared = prepareActivity({ user_id: 'u1', event: 'Paid', properties }, undefined)
    expect(prepared.kind === 'send' ? prepared.object.properties : undefined).toBe(properties)
  })

  it('keeps a trait named "__proto__" as an ordinary name', () => {
    const traits = JSON.parse(
      '{"__proto__": {"polluted": true}, "plan": "pro", "nested": {"": 1, "__proto__": 2}}'
    ) as Record<string, unknown>
    const prepared = prepareContact({ user_id: 'u1', traits }, undefined)
    const sent = prepared.kind === 'send' ? JSON.stringify(prepared.object.traits) : ''
    expect(sent).toBe('{"__proto__":{"polluted":true},"plan":"pro","nested":{"__proto__":2}}')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('leaves out the one trait the caller names, at the top only, without touching the original', () => {
    const traits = { in_audience: true, plan: 'pro', nested: { in_audience: false } }
    const before = JSON.stringify(traits)
    const prepared = prepareContact({ user_id: 'u1', traits }, undefined, 'in_audience')
    expect(prepared).toEqual({
      kind: 'send',
      object: { user_id: 'u1', traits: { plan: 'pro', nested: { in_audience: false } } }
    })
    expect(JSON.stringify(traits)).toBe(before)
    expect(prepareContact({ user_id: 'u1', traits: { in_audience: true } }, undefined, 'in_audience')).toEqual({
      kind: 'send',
      object: { user_id: 'u1' }
    })
  })

  it('leaves out traits whose every value is undefined', () => {
    expect(prepareContact({ user_id: 'u1', traits: { gone: undefined } }, undefined)).toStrictEqual({
      kind: 'send',
      object: { user_id: 'u1' }
    })
  })

  it('takes only own keys, never ones an object inherits', () => {
    const inherited = Object.create({ inherited: 'from the prototype' }) as Record<string, unknown>
    expect(prepareContact({ user_id: 'u1', traits: inherited }, undefined)).toStrictEqual({
      kind: 'send',
      object: { user_id: 'u1' }
    })
    const mixed = Object.assign(Object.create({ inherited: 1 }) as Record<string, unknown>, { '': 0, plan: 'pro' })
    const prepared = prepareContact({ user_id: 'u1', traits: mixed }, undefined)
    expect(prepared.kind === 'send' ? JSON.stringify(prepared.object.traits) : '').toBe('{"plan":"pro"}')
    expect(prepared.kind === 'send' ? Object.keys(prepared.object.traits ?? {}) : []).toEqual(['plan'])
  })

  it.each<[string, unknown]>([
    ['a string', 'pro'],
    ['a list', ['pro']],
    ['a number', 3]
  ])('sends no traits when they are %s, not an object', (_case, traits) => {
    const payload = { user_id: 'u1', traits } as unknown as Parameters<typeof prepareContact>[0]
    expect(prepareContact(payload, undefined)).toStrictEqual({ kind: 'send', object: { user_id: 'u1' } })
  })

  it('leaves out an object with nothing left', () => {
    expect(prepareContact({ user_id: 'u1', traits: { '': 1 } }, undefined)).toEqual({
      kind: 'send',
      object: { user_id: 'u1' }
    })
  })
})

describe('blank values', () => {
  it('fails an event with neither id, saying what to map', () => {
    expect(prepareContact({ user_id: ' ', anonymous_id: '' }, undefined)).toStrictEqual({
      kind: 'invalid',
      failure: {
        status: 400,
        errortype: 'PAYLOAD_VALIDATION_FAILED',
        message:
          'The event has neither a User ID nor an Anonymous ID; Ortto needs at least one to find the contact. ' +
          'Map user_id or anonymous_id to a non-empty value.'
      }
    })
  })

  it.each(['', ' ', '\t\n'])('treats the id %j as missing', (blank) => {
    expect(prepareContact({ user_id: blank, anonymous_id: 'a1' }, undefined)).toEqual({
      kind: 'send',
      object: { anonymous_id: 'a1' }
    })
  })

  it('keeps an id with spaces inside it as sent', () => {
    expect(prepareContact({ user_id: ' u 1 ' }, undefined)).toEqual({ kind: 'send', object: { user_id: ' u 1 ' } })
  })
})

describe('location', () => {
  // toStrictEqual, not toEqual: a key present with an undefined value must fail.
  it.each([
    ['country', { country: 'NZ' }],
    ['state', { state: 'VIC' }],
    ['city', { city: 'Sydney' }],
    ['post_code', { post_code: '2000' }]
  ])('sends a location with only %s as exactly that one key', (_field, where) => {
    expect(prepareContact({ user_id: 'u1', location: where }, undefined)).toStrictEqual({
      kind: 'send',
      object: { user_id: 'u1', location: where }
    })
  })

  it('leaves out the blank parts of a partial location and keeps the rest as sent', () => {
    const where = { country: 'Australia', state: ' ', city: '', post_code: ' 2000 ' }
    expect(prepareContact({ user_id: 'u1', location: where }, undefined)).toStrictEqual({
      kind: 'send',
      object: { user_id: 'u1', location: { country: 'Australia', post_code: ' 2000 ' } }
    })
  })

  it.each([
    ['every part blank', { country: ' ', state: '', city: '\t', post_code: '\n' }],
    ['no parts', {}],
    // The field is nullable: a mapping can resolve it to null.
    ['null', null as unknown as ContactPayload['location']]
  ])('sends no location at all when it has %s', (_case, where) => {
    expect(prepareContact({ user_id: 'u1', location: where }, undefined)).toStrictEqual({
      kind: 'send',
      object: { user_id: 'u1' }
    })
  })

  it('sends the location of an activity the same way', () => {
    expect(prepareActivity({ user_id: 'u1', event: 'Paid', location: { city: 'Perth' } }, undefined)).toStrictEqual({
      kind: 'send',
      object: { user_id: 'u1', location: { city: 'Perth' }, event: 'Paid' }
    })
  })
})
