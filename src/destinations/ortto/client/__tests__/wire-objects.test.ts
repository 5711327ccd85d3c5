import dayjs from 'dayjs'
import fc from 'fast-check'
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
    expect(contact('yesterday')).toMatchObject({
      kind: 'invalid',
      failure: { status: 400, errortype: 'PAYLOAD_VALIDATION_FAILED', message: expect.stringMatching(/ISO 8601/) }
    })
  })

  it('gives exactly what dayjs gives for any canonical UTC string (the fast path changes nothing)', () => {
    const canonical = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 19 }),
        fc.integer({ min: 0, max: 39 }),
        fc.integer({ min: 0, max: 29 }),
        fc.integer({ min: 0, max: 69 }),
        fc.integer({ min: 0, max: 69 }),
        fc.integer({ min: 0, max: 999 })
      )
      .map(([y, mo, d, h, mi, s, ms]) => {
        const pad = (n: number, width = 2) => String(n).padStart(width, '0')
        return `${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(s)}.${pad(ms, 3)}Z`
      })
    fc.assert(
      fc.property(canonical, (value) => {
        const parsed = dayjs(value)
        const expected = parsed.isValid() ? parsed.toISOString() : undefined
        const prepared = contact(value)
        const sent = prepared.kind === 'send' ? prepared.object.timestamp : undefined
        expect(sent).toBe(expected)
      }),
      { seed: 4242, numRuns: 500 }
    )
  })
  it('agrees with dayjs at the ends of months and on leap days of every century rule', () => {
    for (const year of [1900, 2000, 2023, 2024, 2100, 2400]) {
      for (const [month, days] of [
        ['02', [28, 29, 30, 31]],
        ['04', [30, 31]],
        ['12', [31, 32]]
      ] as const) {
        for (const day of days) {
          const value = `${year}-${month}-${day}T23:59:59.999Z`
          const prepared = contact(value)
          const parsed = dayjs(value)
          expect({ value, sent: prepared.kind === 'send' ? prepared.object.timestamp : undefined }).toEqual({
            value,
            sent: parsed.isValid() ? parsed.toISOString() : undefined
          })
        }
      }
    }
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
