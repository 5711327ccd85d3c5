/**
 * The sizes Segment's HTTP Tracking API takes (its docs, "Max request size" and "Batch"), which the
 * pipeline applies as Segment does, and `npm run replay` stays within. A kB is 1,024 bytes, as in
 * Segment's own libraries (analytics-node refuses an event over 32 × 1,024 bytes).
 */

/** One event, counted as `eventBytes` says; for /v1/<type> also the body as sent. */
export const MAX_EVENT_BYTES = 32 * 1024

/** One /v1/batch body as received (after any Content-Encoding is undone). */
export const MAX_BATCH_BYTES = 500 * 1024

/** Events in one /v1/batch call; those past it are refused one by one, as Segment does. */
export const MAX_BATCH_EVENTS = 2_500

/**
 * The size of an event: the UTF-8 bytes of its JSON without whitespace (JSON.stringify), as the
 * caller sent it — in a batch with the batch's `context` merged into its own — and before the
 * pipeline fills in `messageId`, `timestamp` or `receivedAt`.
 */
export const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8')

/** "32,768 bytes (32 kB)": a limit as messages name it. */
export const limitText = (bytes: number): string => `${bytes.toLocaleString('en-US')} bytes (${bytes / 1024} kB)`
