/** Reading JSON that came from outside (request bodies, the data file), which is never trusted. */

export type JsonObject = Record<string, unknown>

/** A JSON object: not null, not an array. */
export const isRecord = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** The parsed text, or undefined when it is not JSON (JSON itself has no undefined, so nothing is mistaken for it). */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}
