/**
 * The delivery engine behind `npm start`: takes events in, keeps them in the spool until each
 * (event, subscription) delivery has ended, and delivers them through `Destination.onBatch` at
 * Ortto's pace. Each delivery ends delivered or failed with a reason (in the dead-letter file);
 * retryable failures are retried with back-off, never sooner than Ortto's `try-in-seconds`.
 * The pieces: lanes.ts (a queue per subscription), lane-set.ts (the lanes in force and retired), scheduler.ts and rate-limit.ts (what goes
 * when), retry-policy.ts, sender.ts (one onBatch attempt), ledger.ts (outcomes, dead letters),
 * spool/ (on disk), delivery-log.ts (log wording); this file ties them together.
 */
import type { SegmentEvent } from '@segment/actions-core'
import { systemClock, type Clock } from '../clock'
import { plural } from '../log-text'
import { answersQuery, type DeliveryOutcome, type OutcomeQuery } from '../outcomes'
import type { MatchableSubscription } from '../subscriptions'
import { heldAtStopLine } from './delivery-log'
import { Ledger, type DeliveryTotals, type FailureReport } from './ledger'
import type { Lane } from './lanes'
import { LaneSet, type HeldCounts } from './lane-set'
import type { FailedAttempt } from './failed-requests'
import { RequestBudgets, DEFAULT_REQUESTS_PER_SECOND } from './rate-limit'
import { restoreInto } from './restore'
import { RetryPolicy } from './retry-policy'
import { Scheduler } from './scheduler'
import { Sender } from './sender'
import { Settler } from './settle'
import type { TakenItem } from '../segment-events'
import type { SpoolEntry, SpooledCall, SpoolRef } from './spool/spool'

export type { DeliveryTotals, FailureReport } from './ledger'
export { PipelineBusyError } from './busy'
export { DEFAULT_MAX_IN_FLIGHT, DEFAULT_STOP_GRACE_MS, type DeliveryOptions } from './options'
import { PipelineBusyError } from './busy'
import { DEFAULT_CALL_TIMEOUT_MS, DEFAULT_STOP_GRACE_MS, DEFAULT_MAX_IN_FLIGHT, type DeliveryOptions } from './options'

/** After the grace, how long aborted calls get to come back before stop() gives up on them. */
const ABORT_WAIT_MS = 1_000

type Status = DeliveryTotals & { recentFailures: FailureReport[] }

/** The call a set of events came in: the spool keeps its body as it came, and `items[i]` says where `events[i]` is in it. */
interface IncomingCall extends SpooledCall {
  items: readonly TakenItem[]
}

export class DeliveryPipeline {
  private readonly clock: Clock
  private readonly log: (line: string) => void
  private readonly ledger: Ledger
  private readonly laneSet: LaneSet
  /** Every lane (laneSet.all): those in force, then retired ones (an old mapping) still holding deliveries. */
  private readonly lanes: Lane[]
  private readonly scheduler: Scheduler
  private readonly settler: Settler
  private readonly maxPending: number
  /** Deliveries of calls whose spool write is under way (they count against maxPending). */
  private reserved = 0
  private state: 'running' | 'stopping' | 'stopped' = 'running'
  private stopped: Promise<Status> | undefined
  private readonly aborter = new AbortController()
  private stopTicking: (() => void) | undefined

  constructor(private readonly options: DeliveryOptions) {
    this.clock = options.clock ?? systemClock
    this.maxPending = options.maxPending ?? 20_000
    const log = options.log ?? ((line) => console.log(line))
    this.ledger = new Ledger({
      apiKey: options.settings.api_key,
      deadLetter: options.deadLetter,
      onFailure: options.onFailure,
      outcomeCapacity: options.outcomeCapacity,
      log
    })
    // Lines quote Ortto's reasons; the key is kept out of them here too, whatever an answer echoed.
    this.log = (line) => log(this.ledger.redact(line))
    const sender = new Sender(options.destinations, options.settings, options.prepare)
    this.laneSet = new LaneSet(options.subscriptions, (destination) => sender.runs(destination))
    this.lanes = this.laneSet.all
    const budgets = new RequestBudgets(options.requestsPerSecond ?? DEFAULT_REQUESTS_PER_SECOND, () => this.clock.now())
    const budgetOf = () => budgets.of(options.settings.api_key)
    this.settler = new Settler({
      clock: this.clock,
      ledger: this.ledger,
      policy: new RetryPolicy({
        maxAttempts: options.maxAttempts ?? 8,
        baseBackoffMs: options.baseBackoffMs ?? 500,
        maxBackoffMs: options.maxBackoffMs ?? 30_000
      }),
      budgetOf,
      spool: options.spool,
      log: this.log,
      lanes: this.lanes,
      backlogEveryMs: options.backlogEveryMs ?? 5_000,
      inFlight: () => this.scheduler.inFlight
    })
    const timeoutMs = options.requestTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS
    this.scheduler = new Scheduler(this.lanes, {
      batchSize: options.batchSize ?? 500,
      maxInFlight: options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
      clock: this.clock,
      budgetOf,
      send: async (lane, batch) => {
        const signal = AbortSignal.any([this.aborter.signal, AbortSignal.timeout(timeoutMs)])
        const result = await sender
          .attempt(
            lane.subscription,
            batch.map((d) => d.event),
            signal
          )
          .catch((error: unknown) => {
            const message = `the pipeline failed to send this batch (${String(error)})`
            return { outcomes: batch.map(() => ({ status: 500, reason: message })), requests: 1, responses: [] }
          })
        lane.sending.delete(batch)
        budgetOf().charge(result.requests, this.clock.now())
        // Abandoned: what it held stays where it is (in the spool, or already ended).
        if (this.state === 'stopped') return false
        try {
          return this.settler.settle(lane, batch, result.outcomes, this.aborter.signal.aborted, result.responses)
        } catch (error) {
          // A bug must not lose the batch: it is held, to be tried again in a minute.
          this.log(`[delivery] internal error: ${String(error)}; ${batch.length} deliveries are tried again`)
          lane.wait(batch, this.clock.now() + 60_000)
          return true
        }
      }
    })
    const restored = options.spool
      ? restoreInto(this.lanes, options.spool.open(), [...options.destinations.keys()])
      : undefined
    if (restored) {
      this.ledger.totals.restored = restored.restored + restored.orphans.length
      this.settler.orphans(restored.orphans)
    }
    this.stopTicking = this.clock.every(options.flushIntervalMs ?? 250, () => this.tick())
  }

  /** Puts `subscriptions` in force for the events taken in from now on (a mapping reload: LaneSet.replace). */
  replaceSubscriptions(subscriptions: readonly MatchableSubscription[]): void {
    this.laneSet.replace(subscriptions)
  }

  /** onBatch calls running now. */
  get callsInFlight(): number {
    return this.scheduler.inFlight
  }

  /** Deliveries taken back from the spool at start. */
  get restored(): number {
    return this.ledger.totals.restored
  }

  /**
   * Throws PipelineBusyError when the pipeline holds all it may (or has stopped): a call can be
   * refused so before its body is read and parsed, the work a busy pipeline must not spend on it.
   */
  assertRoom(): void {
    const held = this.pending() + this.reserved
    if (this.state === 'stopped' || held >= this.maxPending) throw new PipelineBusyError(held)
  }

  /**
   * Takes events for every subscription they match; resolves once they are in the spool (the
   * caller may then answer 200). Throws PipelineBusyError when the pipeline holds too much already.
   * With the `call` they came in, the spool keeps the call's body as it came rather than each event.
   */
  async enqueue(events: SegmentEvent[], call?: IncomingCall): Promise<{ accepted: number; unsubscribed: number }> {
    const held = this.pending() + this.reserved
    if (this.state === 'stopped' || held + events.length > this.maxPending) throw new PipelineBusyError(held)
    // Which subscriptions each event is owed to (one, usually): loops rather than arrays per event.
    const spooled: Array<SpoolEntry & { lanes: Lane[] }> = []
    const unsubscribed: SegmentEvent[] = []
    let count = 0
    for (let i = 0; i < events.length; i++) {
      const event = events[i]
      const lanes = this.laneSet.lanesFor(event)
      if (!lanes) {
        unsubscribed.push(event)
        continue
      }
      count += lanes.length
      const subscriptions = lanes.length === 1 ? lanes[0].spooledAlone : lanes.map((lane) => lane.spooled)
      spooled.push({ event, lanes, subscriptions, item: call?.items[i] })
    }
    this.reserved += count
    const version = this.laneSet.version
    let refs: SpoolRef[][] | undefined
    try {
      refs = await this.options.spool?.append(spooled, call)
    } finally {
      this.reserved -= count
    }
    for (let i = 0; i < spooled.length; i++) {
      const { event, lanes } = spooled[i]
      for (let k = 0; k < lanes.length; k++) lanes[k].ready.push({ event, attempts: 0, ref: refs?.[i][k] })
    }
    // A reload during the spool write may have let go of an empty lane these events were matched to.
    if (this.laneSet.version !== version) this.laneSet.keep(spooled.flatMap(({ lanes }) => lanes))
    this.ledger.totals.received += events.length
    if (unsubscribed.length > 0) this.ledger.unsubscribed(unsubscribed, this.isoNow())
    if (this.state === 'running' && this.lanes.some((lane) => lane.ready.length >= (this.options.batchSize ?? 500))) {
      this.scheduler.pump().catch((error: unknown) => this.log(`[delivery] internal error: ${String(error)}`))
    }
    return { accepted: events.length, unsubscribed: unsubscribed.length }
  }

  status(): Status {
    return { ...this.ledger.totals, pending: this.pending(), recentFailures: this.ledger.recentFailures() }
  }

  /**
   * Each subscription's deliveries, for the console: held now, and what they came to since start
   * and minute by minute. A lane taken back from the spool with an older mapping counts with the
   * subscription of the same name and action.
   */
  subscriptionCounts(): HeldCounts[] {
    const now = this.clock.now()
    return this.laneSet.heldCounts((subscription) => this.ledger.counts.of(subscription, now))
  }

  /** The last attempts that did not deliver all they carried, the latest first, and how many there were since start. */
  failedAttempts(): { recorded: number; latest: FailedAttempt[] } {
    const { failedRequests } = this.ledger
    return { recorded: failedRequests.recorded, latest: failedRequests.latest() }
  }

  /** The dead-letter file, and how many failed deliveries this run wrote to it; undefined without one. */
  deadLetters(): { file: string; written: number } | undefined {
    const file = this.ledger.deadLetters
    return file && { file: file.file, written: file.written }
  }

  /** How many outcomes GET /outcomes can go back (the last ones kept). */
  get outcomeCapacity(): number {
    return this.ledger.outcomes.capacity
  }

  /**
   * What became of the events with this id: each outcome kept (the oldest first), then each
   * delivery still held, as `pending` with its attempts so far and when it may go next.
   */
  outcomesOf(query: OutcomeQuery): DeliveryOutcome[] {
    const now = this.clock.now()
    const at = new Date(now).toISOString()
    const pending: DeliveryOutcome[] = []
    for (const lane of this.lanes) {
      const pausedUntil = this.settler.pausedUntil()
      for (const [delivery, notBefore] of lane.each(now)) {
        const outcome = this.settler.pendingOutcome(lane, delivery, at, notBefore, pausedUntil)
        if (answersQuery(outcome, query)) pending.push(outcome)
      }
    }
    return [...this.ledger.outcomes.find(query), ...pending]
  }

  /** Sends everything that is due now, partial batches included, and waits until it is done. */
  async flush(): Promise<void> {
    const now = this.clock.now()
    for (const lane of this.lanes) {
      lane.promoteDue(now)
      lane.flushDue = lane.ready.length > 0
    }
    await this.scheduler.pump()
    await this.scheduler.idle()
  }

  /**
   * Stops: takes no more events, gives what is held one last try (retries cut short; a 429's pause
   * is still honoured), lets the calls in flight finish for up to stopGraceMs and aborts them then.
   * What is not delivered stays in the spool for the next start (without a spool, it ends failed
   * with the reason). Resolves with the totals.
   */
  stop(): Promise<Status> {
    this.stopped ??= this.stopNow()
    return this.stopped
  }

  private async stopNow(): Promise<Status> {
    this.state = 'stopping'
    this.stopTicking?.()
    const now = this.clock.now()
    if (this.settler.pausedUntil() <= now) for (const lane of this.lanes) lane.promoteDue(Infinity)
    this.scheduler.draining = true
    let giveUp: () => void = () => undefined
    const gaveUp = new Promise<void>((resolve) => (giveUp = resolve))
    const cancelDeadline = this.clock.after(this.options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS, () => {
      // Nothing more starts; what runs is cut short.
      this.scheduler.halt()
      this.aborter.abort()
      this.clock.after(ABORT_WAIT_MS, giveUp)
    })
    await Promise.race([this.scheduler.pump().then(() => this.scheduler.idle()), gaveUp])
    cancelDeadline()
    this.scheduler.halt()
    this.state = 'stopped'
    const held = this.pending()
    const spool = this.options.spool
    if (spool) {
      await spool.close()
      if (held > 0) this.log(heldAtStopLine(held, spool.dir))
    } else if (held > 0) {
      this.settler.endHeld('the pipeline stopped before it was delivered, and has no spool to keep it')
      const were = held === 1 ? 'was' : 'were'
      this.log(
        `[delivery] ${plural(held, 'delivery', 'deliveries')} ${were} not delivered before shutdown (no spool): each failed with why`
      )
    }
    return this.status()
  }

  /**
   * What a second Ctrl+C does: stops at once, aborting what is in flight. With a spool, what is held
   * stays there for the next start; without one it ends failed at once with `reason`. Returns how
   * many deliveries that is.
   */
  abandon(reason: string): number {
    this.stopTicking?.()
    this.scheduler.halt()
    this.state = 'stopped'
    this.aborter.abort()
    const held = this.pending()
    if (!this.options.spool) this.settler.endHeld(reason)
    return held
  }

  private pending(): number {
    return this.laneSet.held()
  }

  private isoNow(): string {
    return new Date(this.clock.now()).toISOString()
  }

  /** Every flush interval: retries due go out together, partial batches go, the backlog is noted, ends are written. */
  private async tick(): Promise<void> {
    const now = this.clock.now()
    for (const lane of this.lanes) {
      lane.promoteDue(now)
      if (lane.ready.length > 0) lane.flushDue = true
    }
    const sent = this.scheduler.pump()
    this.settler.noteBacklog()
    this.options.spool?.writeEnds()
    await sent.catch((error: unknown) => this.log(`[delivery] internal error: ${String(error)}`))
  }
}
