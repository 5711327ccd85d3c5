/**
 * Property tests of the 207 parser (client/batch-answer.ts) on its own: for any JSON body and any
 * number of objects sent, it never throws, answers once per object, and an object is "ok" only
 * when the body gives no reason to doubt it.
 */
import fc from 'fast-check'
import { readBatchAnswer } from '../../src/destinations/ortto/client/batch-answer'
import { expectWellFormed } from '../../src/destinations/ortto/__tests__/__helpers__/verdicts'
import { isRecord } from './support'

const SEED = 20_240_304

const times = <T>(count: number, value: T): T[] => Array.from({ length: count }, () => value)

describe('readBatchAnswer: property over any body', () => {
  const usableStatus = (status: unknown): status is number =>
    typeof status === 'number' && Number.isInteger(status) && status >= 400 && status <= 599

  /** Independent statement of the contract: ok only when the body gives no reason to doubt. */
  function expectedOutcome(status: number, body: unknown, sentCount: number): Array<true | number> {
    const list = isRecord(body) ? body.errors : undefined
    if (!Array.isArray(list)) return times(sentCount, status === 207 ? 502 : true)
    const firstEntry = new Map<number, Record<string, unknown>>()
    let everyEntryNamesAnObject = true
    for (const item of list as unknown[]) {
      const index = isRecord(item) ? item.index : undefined
      if (isRecord(item) && typeof index === 'number' && Number.isInteger(index) && index >= 0 && index < sentCount) {
        if (!firstEntry.has(index)) firstEntry.set(index, item)
      } else {
        everyEntryNamesAnObject = false
      }
    }
    return Array.from({ length: sentCount }, (_, i) => {
      const listed = firstEntry.get(i)
      if (listed) return usableStatus(listed.status) ? listed.status : 502
      return everyEntryNamesAnObject ? true : 502
    })
  }

  const check = (status: number, body: unknown, sentCount: number) => {
    const verdicts = readBatchAnswer(status, body, sentCount)
    expectWellFormed(verdicts, sentCount)
    expect(verdicts.map((v) => (v.ok ? true : v.failure.status))).toEqual(expectedOutcome(status, body, sentCount))
  }

  const statusArb = fc.oneof(fc.constant(207), fc.integer({ min: 200, max: 299 }))

  it('never throws and answers once per object for any JSON body', () => {
    fc.assert(
      fc.property(statusArb, fc.jsonValue(), fc.integer({ min: 0, max: 600 }), (status, body, sentCount) => {
        check(status, body, sentCount)
      }),
      { seed: SEED, numRuns: 300 }
    )
  })

  it('never throws and answers once per object for bodies shaped like batch answers', () => {
    const answerArb = fc.integer({ min: 0, max: 600 }).chain((sentCount) => {
      const indexArb = fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 0, max: Math.max(0, sentCount - 1) }) },
        { weight: 1, arbitrary: fc.integer({ min: -3, max: sentCount + 3 }) },
        { weight: 1, arbitrary: fc.double() },
        { weight: 1, arbitrary: fc.jsonValue() }
      )
      const entryArb = fc.oneof(
        {
          weight: 8,
          arbitrary: fc.record(
            {
              index: indexArb,
              status: fc.oneof(fc.integer({ min: 0, max: 700 }), fc.jsonValue()),
              message: fc.jsonValue()
            },
            { requiredKeys: ['index'] }
          )
        },
        { weight: 1, arbitrary: fc.jsonValue() }
      )
      const bodyArb = fc.oneof(
        { weight: 6, arbitrary: fc.record({ errors: fc.array(entryArb, { maxLength: 12 }) }) },
        { weight: 1, arbitrary: fc.record({ errors: fc.jsonValue() }) },
        { weight: 1, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.jsonValue() }
      )
      return fc.tuple(statusArb, bodyArb, fc.constant(sentCount))
    })
    fc.assert(
      fc.property(answerArb, ([status, body, sentCount]) => {
        check(status, body, sentCount)
      }),
      { seed: SEED, numRuns: 300 }
    )
  })
})
