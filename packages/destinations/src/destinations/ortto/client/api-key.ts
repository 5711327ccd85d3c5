import { InvalidAuthenticationError } from '@segment/actions-core'
import { LOCAL_ENDPOINT_ENV } from '../constants'

/**
 * Ortto keys look like `<env><region>-<secret>`: `p` (production) or `s` (staging), two
 * lower-case letters for the region, a hyphen, then the secret. The region becomes part of a
 * host name, so nothing outside a–z may ever reach it. The secret goes into a header, so it
 * is limited to visible ASCII (no spaces, no control characters).
 */
const KEY_SHAPE = /^([ps])([a-z]{2})-([\x21-\x7e]+)$/

const ENVIRONMENT_DOMAINS = {
  p: 'ortto.app',
  s: 'ortto-stg.app'
} as const

export interface ParsedApiKey {
  environment: 'production' | 'staging'
  region: string
  /** Origin of the Ortto API for this key, without a trailing slash or path. */
  origin: string
}

const HOW_TO_FIX =
  'Copy the key again from your Segment (Actions) data source in Ortto; it looks like ' +
  '"pau-…": p (production) or s (staging), a two-letter region, a hyphen, then the secret.'

/** Explains what is wrong with a key without repeating any part of it. */
function describeMalformedKey(apiKey: unknown): string {
  if (typeof apiKey !== 'string' || apiKey.length === 0) return 'The Ortto API key is missing.'
  if (apiKey.trim() !== apiKey) return 'The Ortto API key has spaces or line breaks around it.'
  if (!/^[ps]/.test(apiKey)) return 'The Ortto API key must start with "p" (production) or "s" (staging).'
  if (!/^.[a-z]{2}-/.test(apiKey)) {
    return 'The Ortto API key must have a two-letter lower-case region (a–z) then a hyphen after its first letter.'
  }
  return 'The Ortto API key has an empty secret or characters no Ortto key contains.'
}

/** True when the key has the shape of an Ortto key (what the embedded sandbox also checks). */
export const isWellFormedApiKey = (apiKey: unknown): apiKey is string =>
  typeof apiKey === 'string' && KEY_SHAPE.test(apiKey)

/** Validates the key's shape before any request is built; throws without echoing the key. */
export function parseApiKey(apiKey: unknown): ParsedApiKey {
  const match = typeof apiKey === 'string' ? KEY_SHAPE.exec(apiKey) : null
  if (!match) {
    throw new InvalidAuthenticationError(`${describeMalformedKey(apiKey)} ${HOW_TO_FIX}`)
  }
  const env = match[1] as keyof typeof ENVIRONMENT_DOMAINS
  const region = match[2]
  return {
    environment: env === 'p' ? 'production' : 'staging',
    region,
    origin: `https://segment-action-api-${region}.${ENVIRONMENT_DOMAINS[env]}`
  }
}

/**
 * Where requests for this key go: Ortto's regional host, or the local stand-in named by
 * ORTTO_LOCAL_ENDPOINT (operator configuration for local runs and tests; never tenant input).
 * Read on every call so a process can be pointed elsewhere without reloading the module.
 */
export function apiOrigin(apiKey: unknown): string {
  const { origin } = parseApiKey(apiKey)
  const local = process.env[LOCAL_ENDPOINT_ENV]
  return local === undefined || local === '' ? origin : localOrigin(local)
}

/** The origin an ORTTO_LOCAL_ENDPOINT value names; throws a clear error for anything else. */
export function localOrigin(value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new Error(
      `${LOCAL_ENDPOINT_ENV} is not a URL; set it to an origin such as http://127.0.0.1:4318 or unset it.`
    )
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`${LOCAL_ENDPOINT_ENV} must be an http:// or https:// origin, such as http://127.0.0.1:4318.`)
  }
  return url.origin
}

/**
 * What stands where the key was. It starts and ends with characters no key can contain, so the
 * text around it can never join with it to spell the key again (`sau-` + `[red…` could).
 */
export const REDACTED = '«redacted»'

/**
 * Removes every occurrence of the key from text that may reach a result, error or log (an
 * answer could echo it). Only a well-formed key is ever sent, so only one can come back.
 */
export function redactApiKey(text: string, apiKey: unknown): string {
  if (!isWellFormedApiKey(apiKey)) return text
  return text.split(apiKey).join(REDACTED)
}
