/**
 * Property tests of batchCallBounds (src/pipeline/batch-bounds.ts): for any /v1/batch body written
 * in any way JSON allows (whitespace anywhere, escapes for any character, numbers with exponents,
 * repeated keys, other top-level keys before and after, an earlier `batch` that a later one
 * replaces), each bound it gives is at least what the call's JSON.stringify takes in UTF-8, and it
 * gives one per call JSON.parse reads. Written as JSON.stringify writes, every bound is exact.
 */
import fc from 'fast-check'
import { batchCallBounds, UNBOUNDED } from '../../src/pipeline/batch-bounds'
import { jsonBytes } from '../../src/pipeline/ingest-limits'
import type { Json } from './support'

const SEED = 20_261_206

/** How a body is written: the choices a writer may make, drawn once per token from a list. */
interface Style {
  spaces: string[]
  /** Per character: 0 as it is, 1 escaped as \uXXXX (characters JSON requires escaped always are). */
  escapes: number[]
  /** Per number: 0 as JSON.stringify writes it, 1 with an exponent. */
  exponents: number[]
  /** Per object: write its first key once more before it, with null (JSON.parse keeps the last). */
  repeats: boolean[]
}

/** Writes `value` as JSON text, making the choices of `style` in turn; says whether it wrote an exponent. */
function writer(style: Style) {
  let turn = 0
  const pick = <T>(list: T[]): T => list[turn++ % list.length]
  const space = () => pick(style.spaces)
  let exponent = false
  const string = (text: string): string => {
    let out = '"'
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i)
      const must = code < 0x20 || code === 0x22 || code === 0x5c || (code >= 0xd800 && code <= 0xdfff)
      out += must || pick(style.escapes) === 1 ? `\\u${code.toString(16).padStart(4, '0')}` : text[i]
    }
    return `${out}"`
  }
  const write = (value: Json): string => {
    if (typeof value === 'number') {
      const text = pick(style.exponents) === 0 ? JSON.stringify(value) : value.toExponential()
      // JSON.stringify itself writes 1e21 and up, and 1e-7 and below, with an exponent.
      exponent ||= /[eE]/.test(text)
      return text
    }
    if (typeof value === 'string') return string(value)
    if (value === null || typeof value === 'boolean') return JSON.stringify(value)
    if (Array.isArray(value))
      return `[${space()}${value.map((item) => write(item)).join(`${space()},${space()}`)}${space()}]`
    const entries = Object.entries(value).map(([key, item]) => `${string(key)}${space()}:${space()}${write(item)}`)
    if (entries.length > 0 && pick(style.repeats)) entries.unshift(`${string(Object.keys(value)[0])}:null`)
    return `{${space()}${entries.join(`${space()},${space()}`)}${space()}}`
  }
  return {
    write,
    /** Writes and says whether an exponent went into it. */
    call(value: Json): { text: string; exponent: boolean } {
      exponent = false
      const text = write(value)
      return { text, exponent }
    }
  }
}

const style: fc.Arbitrary<Style> = fc.record({
  spaces: fc.array(fc.constantFrom('', '', '', ' ', '\n', '\t', '\r\n  '), { minLength: 1, maxLength: 5 }),
  escapes: fc.array(fc.constantFrom(0, 0, 0, 1), { minLength: 1, maxLength: 5 }),
  exponents: fc.array(fc.constantFrom(0, 0, 1), { minLength: 1, maxLength: 5 }),
  repeats: fc.array(fc.boolean(), { minLength: 1, maxLength: 3 })
})

const value = fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' }) as fc.Arbitrary<Json>
const calls = fc.array(fc.oneof(fc.dictionary(fc.string({ unit: 'binary' }), value), value), { maxLength: 8 })
/** Top-level keys other than "batch", written without escapes (one with an escape is tested on its own). */
const others = fc.dictionary(
  fc.string().filter((key) => key !== 'batch' && !/["\\]/.test(key)),
  value,
  { maxKeys: 3 }
)

describe('batchCallBounds: property over any way of writing a batch', () => {
  it('gives one bound per call, each at least the call’s size, or UNBOUNDED where an exponent was written', () => {
    fc.assert(
      fc.property(style, calls, others, others, fc.option(calls), (how, batch, before, after, replaced) => {
        const out = writer(how)
        const written = batch.map((call) => out.call(call))
        // Top-level keys are written plain (a key with an escape makes the bounds undefined: tested below).
        const plain = (entries: Record<string, Json>) =>
          Object.entries(entries).map(([key, item]) => `${JSON.stringify(key)}:${out.write(item)}`)
        const parts = [
          ...plain(before),
          ...(replaced ? [`"batch":${out.write(replaced)}`] : []),
          `"batch" : [ ${written.map((w) => w.text).join(' , ')} ]`,
          ...plain(after)
        ]
        const text = `{${parts.join(',')}}`
        const parsed = JSON.parse(text) as { batch: Json[] }
        const bounds = batchCallBounds(Buffer.from(text))
        expect(bounds).toHaveLength(parsed.batch.length)
        parsed.batch.forEach((call, i) => {
          const bound = (bounds as number[])[i]
          if (written[i].exponent) expect(bound).toBe(UNBOUNDED)
          else expect(bound).toBeGreaterThanOrEqual(jsonBytes(call))
        })
      }),
      { seed: SEED, numRuns: 400 }
    )
  })

  it('is exact for a body JSON.stringify wrote', () => {
    fc.assert(
      fc.property(calls, others, (batch, extra) => {
        const body = { ...extra, batch }
        const bounds = batchCallBounds(Buffer.from(JSON.stringify(body))) as number[]
        expect(bounds).toHaveLength(batch.length)
        batch.forEach((call, i) => {
          // JSON.stringify itself writes 1e21 and up, and 1e-7 and below, with an exponent.
          const exponent = /\d[eE][+-]?\d/.test(JSON.stringify(call))
          if (!(exponent && bounds[i] === UNBOUNDED)) expect(bounds[i]).toBe(jsonBytes(call))
        })
      }),
      { seed: SEED, numRuns: 300 }
    )
  })
})

describe('batchCallBounds: what it will not read', () => {
  const body = '{"batch":[{"type":"track","userId":"a"}]}'

  it('reads a plain body', () => {
    expect(batchCallBounds(Buffer.from(body))).toEqual([jsonBytes({ type: 'track', userId: 'a' })])
  })

  it('gives nothing when a top-level key is written with an escape: which one is "batch" is not plain', () => {
    const escaped = '{"b\\u0061tch":[{"type":"track","userId":"a","pad":"xxxxxxxx"}],"batch":[{"type":"track"}]}'
    expect((JSON.parse(escaped) as { batch: unknown[] }).batch).toHaveLength(1)
    expect(batchCallBounds(Buffer.from(escaped))).toBeUndefined()
  })

  it('gives nothing for bytes that are not UTF-8 (each comes back as a 3-byte U+FFFD)', () => {
    const bytes = Buffer.concat([Buffer.from('{"batch":[{"note":"'), Buffer.from([0xff]), Buffer.from('"}]}')])
    expect(JSON.parse(bytes.toString('utf8'))).toEqual({ batch: [{ note: '\ufffd' }] })
    expect(batchCallBounds(bytes)).toBeUndefined()
  })

  it('takes the last "batch", as JSON.parse does, and nothing when it is not an array', () => {
    expect(batchCallBounds(Buffer.from('{"batch":[{"a":1}],"batch":[{"bb":22},{}]}'))).toEqual([9, 2])
    expect(batchCallBounds(Buffer.from('{"batch":[{"a":1}],"batch":{}}'))).toBeUndefined()
  })
})
