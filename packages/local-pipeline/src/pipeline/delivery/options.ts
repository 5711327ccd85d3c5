/**
 * How the delivery engine is set up (DeliveryOptions), and the defaults `npm start` takes.
 */
import type { Destination } from '@segment/actions-core'
import type { Settings } from 'actions-ortto'
import type { Clock } from '../clock'
import type { DeadLetterFile } from '../dead-letter'
import type { PipelineDestination } from '../destinations'
import type { MatchableSubscription } from '../subscriptions'
import type { FailureReport } from './ledger'
import type { PrepareEvents } from './sender'
import type { DiskSpool } from './spool/spool'

/**
 * Calls in flight at once by default. At Ortto's 2 s answers and 500 events a call, 10 give
 * 2,500 events/s; at 1 s answers they use exactly the default rate cap (10 requests/s), so below
 * that latency the cap binds first. More would only wait for tokens.
 */
export const DEFAULT_MAX_IN_FLIGHT = 10
/** How long stop() lets calls in flight finish before it aborts them. */
export const DEFAULT_STOP_GRACE_MS = 10_000
/** actions-core's own time-out per request; a call gets it as its deadline when none is set. */
export const DEFAULT_CALL_TIMEOUT_MS = 10_000

export interface DeliveryOptions {
  /** The Destination instance that runs each pipeline destination's subscriptions. */
  destinations: ReadonlyMap<PipelineDestination, Destination<Settings>>
  settings: Settings
  subscriptions: MatchableSubscription[]
  /** Makes events ready before they are sent (Engage audiences); a retryable NotSent is retried like a delivery. */
  prepare?: PrepareEvents
  /**
   * Where accepted events are kept until their end is recorded; what it holds is taken back when
   * the engine is made. Without one (tests, the benchmark's floor) events live in memory only.
   */
  spool?: DiskSpool
  /** Events per onBatch call (Segment's batch size for this destination). */
  batchSize?: number
  /** A partial batch waits at most this long before it is sent. */
  flushIntervalMs?: number
  maxAttempts?: number
  /** Back-off before retry n is min(maxBackoffMs, baseBackoffMs × 2^(n-1)), ±20 % per batch. */
  baseBackoffMs?: number
  maxBackoffMs?: number
  /** Deliveries held at once (default 20,000) before enqueue throws PipelineBusyError (503). */
  maxPending?: number
  /** onBatch calls at once (MAX_IN_FLIGHT). */
  maxInFlight?: number
  /** Requests per second per API key (ORTTO_REQUESTS_PER_SECOND). */
  requestsPerSecond?: number
  /** How long stop() lets calls in flight finish (STOP_GRACE_MS). */
  stopGraceMs?: number
  /** Deadline for one onBatch call, passed as its abort signal (DELIVERY_TIMEOUT_MS; 10 s when unset). */
  requestTimeoutMs?: number
  log?: (line: string) => void
  /** Called for every delivery that ends failed (recentFailures keeps only the last 50). */
  onFailure?: (report: FailureReport) => void
  /** Where every delivery that ends failed is written, with its event, to be sent again later. */
  deadLetter?: DeadLetterFile
  clock?: Clock
  /** While deliveries wait, a backlog line at most this often (default 5 s). */
  backlogEveryMs?: number
  /** Outcomes kept for GET /outcomes (default 10,000). */
  outcomeCapacity?: number
}
