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

/** The engine's settings: [default; npm start's environment variable]. */
export interface DeliveryOptions {
  /** The Destination instance of each pipeline destination. */
  destinations: ReadonlyMap<PipelineDestination, Destination<Settings>>
  settings: Settings
  subscriptions: MatchableSubscription[]
  /** Makes events ready to send (Engage audiences); a retryable NotSent is retried as a delivery is. */
  prepare?: PrepareEvents
  /** Keeps accepted events until they end and gives them back at start [none: memory only; SPOOL_DIR]. */
  spool?: DiskSpool
  /** Events per onBatch call [500]. */
  batchSize?: number
  /** Longest wait of a partial batch [250 ms; FLUSH_INTERVAL_MS]. */
  flushIntervalMs?: number
  /** Attempts per delivery, the first included [8; RETRY_ATTEMPTS]. */
  maxAttempts?: number
  /** Wait before retry n: min(maxBackoffMs, baseBackoffMs × 2^(n-1)), ±20 % per batch [500 ms]. */
  baseBackoffMs?: number
  /** [30 s] */
  maxBackoffMs?: number
  /** Deliveries held before enqueue throws PipelineBusyError, answered 503 [20,000]. */
  maxPending?: number
  /** onBatch calls at once [10; MAX_IN_FLIGHT]. */
  maxInFlight?: number
  /** Requests per second per API key [10; ORTTO_REQUESTS_PER_SECOND]. */
  requestsPerSecond?: number
  /** How long stop() lets calls in flight finish [10 s; STOP_GRACE_MS]. */
  stopGraceMs?: number
  /** Deadline of one onBatch call, its abort signal [10 s; DELIVERY_TIMEOUT_MS]. */
  requestTimeoutMs?: number
  /** [console.log] */
  log?: (line: string) => void
  /** Hears of each delivery that ends failed. */
  onFailure?: (report: FailureReport) => void
  /** Gets each delivery that ends failed, with its event [none; DEAD_LETTER_FILE]. */
  deadLetter?: DeadLetterFile
  /** [the system clock] */
  clock?: Clock
  /** Least time between backlog lines while deliveries wait [5 s]. */
  backlogEveryMs?: number
  /** Outcomes kept for GET /outcomes [10,000]. */
  outcomeCapacity?: number
}
