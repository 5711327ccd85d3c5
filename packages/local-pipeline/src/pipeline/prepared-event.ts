/**
 * What delivery's prepare step answers per event: its own module, so the step's providers
 * (engage-audiences.ts) and delivery can both name it without importing each other.
 */
import type { SegmentEvent } from '@segment/actions-core'

/** What a delivery is when it cannot be sent now: its status, why, and Ortto's answer when there was one. */
export interface NotSent {
  status: number
  reason: string
  errortype?: string
  /** Ortto's answer text, when one caused it (a 429's try-in-seconds is read from it). */
  body?: unknown
}

/** One event made ready for onBatch (e.g. with its Engage audience's Ortto id), or why it cannot be sent now. */
export type PreparedEvent = { event: SegmentEvent } | { notSent: NotSent }
