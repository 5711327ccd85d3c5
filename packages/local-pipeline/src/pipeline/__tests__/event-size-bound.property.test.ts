/**
 * Property test of the size bound walkEvent gives (src/pipeline/event-structure.ts), which spares
 * ingest serializing a call to measure it: for any JSON a call can hold (any characters, lone
 * surrogates and control characters included, any numbers, nesting), the bound is never less than
 * the UTF-8 bytes of the call's JSON.stringify, so no call over Segment's 32 kB passes for one
 * within it.
 */
import fc from 'fast-check'
import { walkEvent } from '../event-structure'
import { jsonBytes } from '../ingest-limits'

const SEED = 20_261_207

const json = fc.jsonValue({ maxDepth: 5, stringUnit: 'binary' })
const calls = fc.oneof(
  fc.dictionary(fc.string({ unit: 'binary' }), json),
  fc.dictionary(fc.string({ unit: 'binary' }), json, { minKeys: 20, maxKeys: 60 })
)

describe('walkEvent: property over any call', () => {
  it('gives a size bound never less than the bytes of the call’s JSON', () => {
    fc.assert(
      fc.property(calls, (call) => {
        // Through JSON, as ingest gets it (a key "__proto__" becomes an own key then; it is a problem, with no bound).
        const parsed = JSON.parse(JSON.stringify(call)) as Record<string, unknown>
        const walked = walkEvent({ value: parsed, depth: 1 })
        if ('sizeBound' in walked) expect(walked.sizeBound).toBeGreaterThanOrEqual(jsonBytes(parsed))
      }),
      { seed: SEED, numRuns: 500 }
    )
  })

  it('holds for the characters whose JSON is longest: 6 bytes for one UTF-16 unit', () => {
    const longest = {
      a: '\u0001'.repeat(10),
      b: '\ud800'.repeat(10),
      c: '\u{1f600}'.repeat(5),
      n: -1.2345678901234567e-308
    }
    const walked = walkEvent({ value: longest, depth: 1 })
    expect(walked).toEqual({ sizeBound: expect.any(Number) as number })
    expect((walked as { sizeBound: number }).sizeBound).toBeGreaterThanOrEqual(jsonBytes(longest))
  })
})
