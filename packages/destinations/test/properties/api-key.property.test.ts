/**
 * Property tests of the API key handling (client/api-key.ts), docs/ortto-api.md, "Keys and hosts":
 * a key either yields one of Ortto's regional hosts, built only from a–z, or is refused with
 * an InvalidAuthenticationError that does not repeat it; and a redacted text never contains a
 * well-formed key it was given.
 */
import fc from 'fast-check'
import { InvalidAuthenticationError } from '@segment/actions-core'
import { parseApiKey, redactApiKey } from '../../src/destinations/ortto/client/api-key'
import { trickyText, wellFormedKey } from './support'

const SEED = 20_240_303

const HOST = /^segment-action-api-[a-z]{2}\.ortto(-stg)?\.app$/

/** The contract's key shape, written independently of the code: env, region, hyphen, visible-ASCII secret. */
const CONTRACT_SHAPE = /^[ps][a-z]{2}-[\x21-\x7e]+$/

/** Characters that must never reach a host name, and look-alikes of the ones that may. */
const HOSTILE = ['/', ':', '@', '.', '%', ' ', '\t', '\n', '?', '#', '\\', 'а', 'ı', 'ſ', 'Ａ', '\u0000', 'é', 'A', 'Z']

const keyLike: fc.Arbitrary<string> = fc
  .record({
    env: fc.constantFrom('p', 's', 'P', 'S', 'x', '', 'ρ', ' p'),
    region: fc.string({
      unit: fc.oneof(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'), fc.constantFrom(...HOSTILE)),
      minLength: 0,
      maxLength: 3
    }),
    separator: fc.constantFrom('-', '-', '-', '_', '', '—', '--'),
    secret: fc.oneof(
      fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
      trickyText(20),
      fc.string({ unit: 'binary', maxLength: 20 })
    ),
    padding: fc.constantFrom('', '', '', ' ', '\n', '\r\n', '\t')
  })
  .map(({ env, region, separator, secret, padding }) => `${env}${region}${separator}${secret}${padding}`)

/** A well-formed key with one character replaced by a hostile one. */
const mutatedKey: fc.Arbitrary<string> = fc
  .tuple(wellFormedKey, fc.nat(), fc.constantFrom(...HOSTILE))
  .map(([key, at, ch]) => {
    const i = at % key.length
    return key.slice(0, i) + ch + key.slice(i + 1)
  })

const anyKeyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: keyLike },
  { weight: 2, arbitrary: mutatedKey },
  { weight: 2, arbitrary: wellFormedKey },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 1, arbitrary: trickyText(30) }
)

/** One probe per way a key can be malformed: the messages a refusal may carry, whatever the key. */
const PROBES: unknown[] = [undefined, '', ' pau-x', 'xau-x', 'pAU-x', 'pau-', 'pau-a b', 42, null]

function refusalMessage(input: unknown): string {
  try {
    parseApiKey(input)
  } catch (error) {
    if (error instanceof InvalidAuthenticationError) return error.message
    throw error
  }
  throw new Error(`probe ${JSON.stringify(input)} was accepted`)
}

const FIXED_MESSAGES = new Set(PROBES.map(refusalMessage))
const FIXED_TEXT = [...FIXED_MESSAGES].join('\n')

describe('parseApiKey', () => {
  function check(input: unknown): void {
    let parsed: ReturnType<typeof parseApiKey> | undefined
    let thrown: unknown
    try {
      parsed = parseApiKey(input)
    } catch (error) {
      thrown = error
    }
    const shaped = typeof input === 'string' && CONTRACT_SHAPE.test(input)
    if (parsed) {
      const url = new URL(parsed.origin)
      expect({ input, host: url.host, matches: HOST.test(url.host) }).toEqual({ input, host: url.host, matches: true })
      // Exactly an origin: scheme and host, no port, user, path, query or fragment.
      expect(parsed.origin).toBe(`https://${url.host}`)
      expect({ input, accepted: true }).toEqual({ input, accepted: shaped })
      const key = input as string
      expect(url.host).toBe(`segment-action-api-${key.slice(1, 3)}.${key[0] === 'p' ? 'ortto.app' : 'ortto-stg.app'}`)
      expect(parsed.region).toBe(key.slice(1, 3))
      expect(parsed.environment).toBe(key[0] === 'p' ? 'production' : 'staging')
      return
    }
    expect({ input, refused: thrown instanceof InvalidAuthenticationError }).toEqual({ input, refused: true })
    expect({ input, accepted: false }).toEqual({ input, accepted: shaped })
    const message = (thrown as Error).message
    // The message is one of the fixed ones: it cannot carry any part of the key…
    expect({ input, message, fixed: FIXED_MESSAGES.has(message) }).toEqual({ input, message, fixed: true })
    // …and, as the contract puts it, it does not repeat the key (unless the "key" is itself a
    // piece of those fixed texts, such as "Ortto": that is the template speaking, not an echo).
    if (typeof input === 'string' && input.length > 3 && !FIXED_TEXT.includes(input)) {
      expect({ input, echoed: message.includes(input) }).toEqual({ input, echoed: false })
    }
  }

  it('yields an Ortto regional origin or refuses without repeating the key (strings, numRuns 200)', () => {
    fc.assert(fc.property(anyKeyText, check), { seed: SEED, numRuns: 200 })
  })

  it('refuses anything that is not a string, with InvalidAuthenticationError (numRuns 100)', () => {
    fc.assert(
      fc.property(
        fc.anything().filter((v) => typeof v !== 'string'),
        check
      ),
      { seed: SEED, numRuns: 100 }
    )
  })
})

describe('redactApiKey', () => {
  /**
   * Keys that can overlap the replacement text: secrets made of its characters, often ending
   * with a start of "[redacted]" (a redaction followed by such an ending could spell the key).
   */
  const overlappingKey = fc
    .record({
      env: fc.constantFrom('p', 's'),
      region: fc.constantFrom('au', 'us', 're'),
      secret: fc.string({ unit: fc.constantFrom(...'[redacted]-x'), maxLength: 6 }),
      ending: fc.nat({ max: 10 }).map((n) => '[redacted]'.slice(0, n))
    })
    .filter(({ secret, ending }) => secret + ending !== '')
    .map(({ env, region, secret, ending }) => `${env}${region}-${secret}${ending}`)

  /** Text made of pieces of the key and of the replacement, glued together. */
  const textAround = (key: string) =>
    fc
      .array(
        fc.oneof(
          fc.constant(key),
          fc.nat({ max: key.length }).map((n) => key.slice(0, n)),
          fc.nat({ max: 10 }).map((n) => key.slice(0, Math.max(0, key.length - n))),
          fc.nat({ max: key.length }).map((n) => key.slice(n)),
          fc.nat({ max: 10 }).map((n) => '[redacted]'.slice(0, n)),
          fc.nat({ max: 10 }).map((n) => '[redacted]'.slice(n)),
          trickyText(6)
        ),
        { maxLength: 6 }
      )
      .map((pieces) => pieces.join(''))

  const keyAndText = fc
    .oneof({ weight: 1, arbitrary: wellFormedKey }, { weight: 2, arbitrary: overlappingKey })
    .chain((key) => fc.tuple(fc.constant(key), textAround(key)))

  it('leaves no well-formed key it was given in its output (numRuns 200)', () => {
    fc.assert(
      fc.property(keyAndText, ([key, text]) => {
        const redacted = redactApiKey(text, key)
        expect({ key, text, redacted, containsKey: redacted.includes(key) }).toEqual({
          key,
          text,
          redacted,
          containsKey: false
        })
      }),
      { seed: SEED, numRuns: 200 }
    )
  })
})

// ---------------------------------------------------------------------------------------------
// Regressions: the shrunk counter-examples of the properties above, fixed.

describe('regressions found by the properties above', () => {
  // 'leaves no well-formed key it was given in its output' (seed 20240303) shrank to
  //   key "sau-[red", text "sau-sau-[red"  →  "sau-[redacted]", which contains the key.
  // client/api-key.ts, redactApiKey, replaces each occurrence with "[redacted]"; when the key
  // ends with a start of that text ("[", "[r", … "[redacted") and the text before an occurrence
  // ends with the rest of the key, the replacement spells the key again. Keys may contain "[" (their
  // secret is any visible ASCII). A replacement containing a character no key can contain (a
  // space, e.g. "[redacted key]") cannot complete a key, so one pass is enough.
  it.each([
    { key: 'sau-[red', text: 'sau-sau-[red' },
    { key: 'paa-[', text: 'paa-paa-[' },
    { key: 'pre-[redacted]', text: 'pre-pre-[redacted]' }
  ])('redacting "$text" leaves no "$key"', ({ key, text }) => {
    expect(redactApiKey(text, key)).not.toContain(key)
  })
})
