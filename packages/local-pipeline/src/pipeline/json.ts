/** Small readers for JSON that came from outside (request bodies, files, answers), which is never trusted. */

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** The string when it has a non-space character. */
export const nonBlank = (value: unknown): string | undefined =>
  typeof value === 'string' && /\S/.test(value) ? value : undefined

/** Parses JSON text; `undefined` for anything that is not JSON (including an empty body). */
export function parseJson(content: string): unknown {
  try {
    return JSON.parse(content) as unknown
  } catch {
    return undefined
  }
}
