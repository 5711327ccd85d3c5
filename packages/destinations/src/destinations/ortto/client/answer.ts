import type { JSONLikeObject } from '@segment/actions-core'
import { redactApiKey } from './api-key'
import { parseJson } from './json'

/**
 * Ortto's answer to one request, read once and cleansed of the API key before anything is
 * derived from it. The key is removed from the raw text and, separately, from every string of
 * the parsed JSON: an echo JSON-escapes some characters (`"`, `\`, `/`, `&`…), so it only
 * matches the key again once parsed.
 */
export interface OrttoAnswer {
  status: number
  /** The body text, key removed. */
  text: string
  /** The body parsed as JSON, key removed; `undefined` when empty or not JSON. */
  json: unknown
}

/** A copy of parsed JSON with `redact` applied to every string in it, keys included. */
export function redactDeep(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === 'string') return redact(value)
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, redact))
  if (typeof value === 'object' && value !== null) {
    // fromEntries defines own properties, so a "__proto__" key stays a key (assignment would not).
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [redact(key), redactDeep(item, redact)]))
  }
  return value
}

/**
 * Request options for every call whose answer readAnswer reads. actions-core otherwise reads a
 * clone of each answer and never the original; node-fetch then stalls both once 16 KiB is
 * buffered, so a large 207 (a few hundred errors) would never settle.
 */
export const READ_ONCE = { skipResponseCloning: true } as const

export async function readAnswer(
  response: { status: number; text(): Promise<string> },
  apiKey: unknown
): Promise<OrttoAnswer> {
  // actions-core's response hook has usually read the body already (as `content`).
  const content = (response as { content?: unknown }).content
  const raw = typeof content === 'string' ? content : await response.text()
  const parsed = parseJson(raw)
  return {
    status: response.status,
    text: redactApiKey(raw, apiKey),
    json: parsed === undefined ? undefined : redactDeep(parsed, (text) => redactApiKey(text, apiKey))
  }
}

/** What a result's `body` shows of an answer: its JSON object, or its text when it has none. */
export const answerBody = (answer: OrttoAnswer): JSONLikeObject | string =>
  typeof answer.json === 'object' && answer.json !== null ? (answer.json as JSONLikeObject) : answer.text

/** The value the failure readers take: parsed JSON when there is some, else the text. */
export const answerValue = (answer: OrttoAnswer): unknown => answer.json ?? answer.text
