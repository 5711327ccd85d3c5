/**
 * The timestamp fast path of client/wire-objects.ts against dayjs, which the slow path uses: a
 * canonical UTC string is sent exactly as dayjs would format it, for any such string.
 */
import dayjs from 'dayjs'
import fc from 'fast-check'
import { prepareContact } from '../../src/destinations/ortto/client/wire-objects'

const contact = (timestamp: string) => prepareContact({ user_id: 'u1', timestamp }, undefined)

describe('canonical UTC timestamps', () => {
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
