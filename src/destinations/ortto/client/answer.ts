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

function redactDeep(value: unknown, apiKey: unknown): unknown {
  if (typeof value === 'string') return redactApiKey(value, apiKey)
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, apiKey))
  if (typeof value === 'object' && value !== null) {
    const result: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) result[redactApiKey(key, apiKey)] = redactDeep(item, apiKey)
    return result
  }
  return value
}

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
    json: parsed === undefined ? undefined : redactDeep(parsed, apiKey)
  }
}

/** What a result's `body` shows of an answer: its JSON object, or its text when it has none. */
export const answerBody = (answer: OrttoAnswer): JSONLikeObject | string =>
  typeof answer.json === 'object' && answer.json !== null ? (answer.json as JSONLikeObject) : answer.text

/** The value the failure readers take: parsed JSON when there is some, else the text. */
export const answerValue = (answer: OrttoAnswer): unknown => answer.json ?? answer.text
