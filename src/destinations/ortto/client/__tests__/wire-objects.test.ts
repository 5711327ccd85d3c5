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
    expect(prepared).toEqual({
      kind: 'send',
      object: { user_id: 'u1', event: 'Paid', properties: { kept: null, total: 2 } }
    })
    expect(Object.keys(properties)).toEqual(['', 'gone', 'kept', 'total'])
  })

  it('leaves out an object with nothing left', () => {
    expect(prepareContact({ user_id: 'u1', traits: { '': 1 } }, undefined)).toEqual({
      kind: 'send',
      object: { user_id: 'u1' }
    })
  })
})

describe('blank values', () => {
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
