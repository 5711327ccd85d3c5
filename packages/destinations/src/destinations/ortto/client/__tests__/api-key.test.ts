import { InvalidAuthenticationError } from '@segment/actions-core'
import { apiOrigin, isWellFormedApiKey, parseApiKey, redactApiKey } from '../api-key'
import { LOCAL_ENDPOINT_ENV } from '../../constants'
import { thrownBy } from '../../__tests__/__helpers__/ortto'

/** What every rejection says to do, whatever was wrong with the key. */
const HOW_TO_FIX =
  'Copy the key again from your Segment (Actions) data source in Ortto; it looks like ' +
  '"pau-…": p (production) or s (staging), a two-letter region, a hyphen, then the secret.'
/** The example shape quoted in every rejection: fixed text, not an echo of the key given. */
const EXAMPLE_IN_MESSAGE = '"pau-…"'

const MISSING = 'The Ortto API key is missing.'
const SURROUNDING_SPACE = 'The Ortto API key has spaces or line breaks around it.'
const BAD_ENVIRONMENT = 'The Ortto API key must start with "p" (production) or "s" (staging).'
const BAD_REGION =
  'The Ortto API key must have a two-letter lower-case region (a–z) then a hyphen after its first letter.'
const BAD_SECRET = 'The Ortto API key has an empty secret or characters no Ortto key contains.'

describe('parseApiKey', () => {
  it.each([
    ['pau-abc', 'production', 'au', 'https://segment-action-api-au.ortto.app'],
    ['pus-abc', 'production', 'us', 'https://segment-action-api-us.ortto.app'],
    ['peu-Zz9_~!x', 'production', 'eu', 'https://segment-action-api-eu.ortto.app'],
    ['sau-abc', 'staging', 'au', 'https://segment-action-api-au.ortto-stg.app'],
    ['sus-abc', 'staging', 'us', 'https://segment-action-api-us.ortto-stg.app'],
    ['seu-abc', 'staging', 'eu', 'https://segment-action-api-eu.ortto-stg.app']
  ])('reads %s as a %s key for region %s with origin %s', (key, environment, region, origin) => {
    expect(parseApiKey(key)).toEqual({ environment, region, origin })
  })

  it.each<[string, unknown, string]>([
    ['undefined', undefined, MISSING],
    ['the empty string', '', MISSING],
    ['an unknown environment letter', 'xau-abc', BAD_ENVIRONMENT],
    ['an upper-case region', 'pAU-abc', BAD_REGION],
    ['a one-letter region', 'pa-abc', BAD_REGION],
    ['no hyphen and no secret', 'pau', BAD_REGION],
    ['an empty secret', 'pau-', BAD_SECRET],
    ['a space instead of the hyphen', 'pau abc', BAD_REGION],
    ['a leading space', ' pau-abc', SURROUNDING_SPACE],
    ['a trailing line break', 'pau-abc\n', SURROUNDING_SPACE],
    ['a space inside the secret', 'pau-ab c', BAD_SECRET],
    ['a dot in the region', 'p.u-abc', BAD_REGION],
    ['a slash in the region', 'p/u-abc', BAD_REGION],
    ['an at sign in the region', 'p@u-abc', BAD_REGION],
    ['a percent-encoded region', 'p%2e-abc', BAD_REGION],
    ['a digit in the region', 'pa1-abc', BAD_REGION],
    ['a non-ASCII region', 'pé-abc', BAD_REGION],
    ['a three-letter region', 'pauu-abc', BAD_REGION]
  ])('rejects %s (%j) as InvalidAuthenticationError without echoing it', (_case, key, description) => {
    const error = thrownBy(() => parseApiKey(key))

    expect(error).toBeInstanceOf(InvalidAuthenticationError)
    const { message, status, code } = error as InvalidAuthenticationError
    expect(status).toBe(401)
    expect(code).toBe('INVALID_AUTHENTICATION')
    expect(message.startsWith(`${description} `)).toBe(true)
    expect(message).toContain(HOW_TO_FIX)
    if (typeof key === 'string' && key !== '') {
      // 'pau' and 'pau-' are part of the fixed example; nothing else of the key may appear.
      expect(message.replace(EXAMPLE_IN_MESSAGE, '')).not.toContain(key)
    }
    expect(isWellFormedApiKey(key)).toBe(false)
    expect(() => apiOrigin(key)).toThrow(InvalidAuthenticationError)
  })

  it.each<[unknown]>([[null], [42], [{ key: 'pau-abc' }], [['pau-abc']]])(
    'rejects the non-string %j as a missing key',
    (key) => {
      const error = thrownBy(() => parseApiKey(key))
      expect(error).toBeInstanceOf(InvalidAuthenticationError)
      expect((error as Error).message.startsWith(`${MISSING} `)).toBe(true)
      expect((error as Error).message).toContain(HOW_TO_FIX)
    }
  )
})

describe('isWellFormedApiKey', () => {
  it.each(['pau-abc', 'sus-x', 'peu-!~"#'])('accepts %j', (key) => {
    expect(isWellFormedApiKey(key)).toBe(true)
  })

  it.each([undefined, null, 1, '', 'pau-', 'Pau-abc', 'pau-a b', 'pau-é'])('refuses %j', (key) => {
    expect(isWellFormedApiKey(key)).toBe(false)
  })

  it('refuses a value that is not a string even when it reads as a key', () => {
    const lookalike = { toString: () => 'pau-abc' }
    expect(isWellFormedApiKey(lookalike)).toBe(false)
    expect(redactApiKey('pau-abc', lookalike)).toBe('pau-abc')
  })
})

describe('apiOrigin', () => {
  const saved = process.env[LOCAL_ENDPOINT_ENV]

  beforeEach(() => {
    delete process.env[LOCAL_ENDPOINT_ENV]
  })

  afterEach(() => {
    if (saved === undefined) delete process.env[LOCAL_ENDPOINT_ENV]
    else process.env[LOCAL_ENDPOINT_ENV] = saved
  })

  it("uses the key's regional host when ORTTO_LOCAL_ENDPOINT is unset or empty", () => {
    expect(apiOrigin('pau-abc')).toBe('https://segment-action-api-au.ortto.app')
    process.env[LOCAL_ENDPOINT_ENV] = ''
    expect(apiOrigin('sus-abc')).toBe('https://segment-action-api-us.ortto-stg.app')
  })

  it.each([
    ['http://127.0.0.1:4318', 'http://127.0.0.1:4318'],
    ['http://127.0.0.1:4318/', 'http://127.0.0.1:4318'],
    ['http://127.0.0.1:4318/v1/ignored?q=1#frag', 'http://127.0.0.1:4318'],
    ['https://localhost', 'https://localhost']
  ])('replaces the origin with ORTTO_LOCAL_ENDPOINT=%s, keeping only %s', (local, expected) => {
    process.env[LOCAL_ENDPOINT_ENV] = local
    expect(apiOrigin('pau-abc')).toBe(expected)
    expect(apiOrigin('sus-abc')).toBe(expected)
  })

  it('reads ORTTO_LOCAL_ENDPOINT on every call', () => {
    expect(apiOrigin('pau-abc')).toBe('https://segment-action-api-au.ortto.app')
    process.env[LOCAL_ENDPOINT_ENV] = 'http://127.0.0.1:4318'
    expect(apiOrigin('pau-abc')).toBe('http://127.0.0.1:4318')
    process.env[LOCAL_ENDPOINT_ENV] = 'http://127.0.0.1:9999/'
    expect(apiOrigin('pau-abc')).toBe('http://127.0.0.1:9999')
    delete process.env[LOCAL_ENDPOINT_ENV]
    expect(apiOrigin('pau-abc')).toBe('https://segment-action-api-au.ortto.app')
  })

  it('still rejects a malformed key when ORTTO_LOCAL_ENDPOINT is set', () => {
    process.env[LOCAL_ENDPOINT_ENV] = 'http://127.0.0.1:4318'
    expect(() => apiOrigin('p/u-abc')).toThrow(InvalidAuthenticationError)
    expect(() => apiOrigin(undefined)).toThrow(InvalidAuthenticationError)
  })

  it.each([
    ['not a url', 'ORTTO_LOCAL_ENDPOINT is not a URL; set it to an origin such as http://127.0.0.1:4318 or unset it.'],
    ['ftp://x', 'ORTTO_LOCAL_ENDPOINT must be an http:// or https:// origin, such as http://127.0.0.1:4318.'],
    ['file:///tmp/ortto', 'ORTTO_LOCAL_ENDPOINT must be an http:// or https:// origin, such as http://127.0.0.1:4318.']
  ])('throws a clear error for ORTTO_LOCAL_ENDPOINT=%j', (local, message) => {
    process.env[LOCAL_ENDPOINT_ENV] = local
    const error = thrownBy(() => apiOrigin('pau-abc'))
    expect(error).toBeInstanceOf(Error)
    expect(error).not.toBeInstanceOf(InvalidAuthenticationError)
    expect((error as Error).message).toBe(message)
  })
})

describe('redactApiKey', () => {
  it('replaces every occurrence of a well-formed key', () => {
    const key = 'pau-s3cr3t'
    const text = `key ${key} rejected; ${key}${key} "${key}"`
    expect(redactApiKey(text, key)).toBe('key «redacted» rejected; «redacted»«redacted» "«redacted»"')
  })

  it('treats the key literally, not as a pattern', () => {
    const key = 'pau-a.b*c+(d)$'
    expect(redactApiKey(`x ${key} y pau-aXbbbcd`, key)).toBe('x «redacted» y pau-aXbbbcd')
  })

  it('returns text without the key unchanged', () => {
    expect(redactApiKey('nothing to hide here', 'pau-s3cr3t')).toBe('nothing to hide here')
    expect(redactApiKey('', 'pau-s3cr3t')).toBe('')
  })

  it.each<[string, unknown]>([
    ['an empty key', ''],
    ['a key without a secret', 'pau-'],
    ['a key with a bad region', 'pAU-abc'],
    ['a key with spaces around it', ' pau-abc '],
    ['undefined', undefined],
    ['a number', 7]
  ])('leaves the text alone for %s', (_case, key) => {
    const text = 'pau- pAU-abc  pau-abc  7 undefined'
    expect(redactApiKey(text, key)).toBe(text)
  })
})
