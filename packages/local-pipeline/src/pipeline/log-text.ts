/** Small pieces of the pipeline's log lines and messages, so every one counts and words alike. */
import { STATUS_CODES } from 'node:http'

/** "1 event", "2 events"; `many` for nouns that do not just take an s ("delivery" → "deliveries"). */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`
}

/** A wait as a person reads it: "0.4 s", "4 s", "2.5 s", "12 s". */
export function inSeconds(ms: number): string {
  const seconds = Math.max(0, ms) / 1000
  return `${seconds < 10 ? Math.ceil(seconds * 10) / 10 : Math.round(seconds)} s`
}

/** What a status means, in two or three words: "429 rate limited", "503 service unavailable". */
export function statusPhrase(status: number): string {
  if (status === 429) return '429 rate limited'
  const name = STATUS_CODES[status]
  return name ? `${status} ${name.toLowerCase()}` : String(status)
}
