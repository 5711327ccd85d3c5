/**
 * Ortto limits the sandbox enforces that the destination's constants.ts does not define
 * (docs/ortto-api.md, "Limits"). The shared ones (MAX_REQUEST_BYTES,
 * MAX_OBJECTS_PER_REQUEST) are imported from there, never repeated here.
 */

/**
 * Ortto accepts at most 16 kB of JSON per activity. Read as 16,000 bytes (UTF-8), the stricter
 * reading, for the same reason constants.ts reads "2 MB" as 2,000,000 bytes.
 */
export const MAX_ACTIVITY_BYTES = 16_000

/** Ortto's limit for text fields; the sandbox applies it to every string value in an object. */
export const MAX_TEXT_LENGTH = 4_000

/** The `try-in-seconds` a 429 carries when the fault options do not say otherwise. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1

/** How long a "slow" answer is held back when the fault options do not say. */
export const DEFAULT_SLOW_MS = 1_000

/** The rate-limit fault counts requests in fixed windows of this length. */
export const RATE_LIMIT_WINDOW_MS = 1_000
