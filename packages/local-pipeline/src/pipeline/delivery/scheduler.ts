/**
 * Which batch goes next, and when. Subscriptions take turns (round robin), so none waits behind
 * another; at most `maxInFlight` onBatch calls run at once (fewer while calls fail whole: see
 * call-window.ts); each call first takes a token of its
 * API key's request budget, and nothing of a key goes while a 429 pauses it. A lane sends a full
 * batch at once, and a partial one when its flush is due (the flush tick, retries come due, or the
 * pipeline draining at stop).
 */
import type { Clock } from '../clock'
import { CallWindow } from './call-window'
import type { Lane, Delivery } from './lanes'
import type { RequestBudget } from './rate-limit'

interface SchedulerOptions {
  batchSize: number
  maxInFlight: number
  clock: Clock
  budgetOf: (lane: Lane) => RequestBudget
  /** Sends one batch of a lane and settles its deliveries; never rejects. Resolves with whether the call failed whole. */
  send: (lane: Lane, batch: Delivery[]) => Promise<boolean>
}

export class Scheduler {
  /** Where the next turn starts. */
  private cursor = 0
  private readonly running = new Set<Promise<void>>()
  /** At stop: every lane sends what it holds, partial batches included. */
  draining = false
  private halted = false
  private wake: { at: number; cancel: () => void } | undefined
  private readonly window: CallWindow

  constructor(
    private readonly lanes: Lane[],
    private readonly options: SchedulerOptions
  ) {
    this.window = new CallWindow(options.maxInFlight)
  }

  get inFlight(): number {
    return this.running.size
  }

  /**
   * Starts every batch that may go now. Resolves once those sends, and whatever their ends let go
   * next, are done (a manual clock's tick waits for that).
   */
  pump(): Promise<void> {
    const started: Array<Promise<void>> = []
    for (;;) {
      if (this.halted || this.running.size >= this.window.allowed) break
      const lane = this.nextLane()
      if (!lane) break
      const batch = lane.take(this.options.batchSize)
      const round = this.window.started()
      const sending = this.options
        .send(lane, batch)
        .then((failedWhole) => this.window.ended(round, failedWhole))
        .finally(() => this.running.delete(sending))
      this.running.add(sending)
      started.push(sending.then(() => this.pump()))
    }
    this.scheduleWake()
    return Promise.all(started).then(() => undefined)
  }

  /** Waits until no batch is being sent (the sends' ends may start others, which are waited for too). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running)
  }

  /** Nothing more is started. */
  halt(): void {
    this.halted = true
    this.wake?.cancel()
    this.wake = undefined
  }

  private wantsToSend(lane: Lane): boolean {
    const ready = lane.ready.length
    return ready > 0 && (ready >= this.options.batchSize || lane.flushDue || this.draining)
  }

  /** The next lane in turn with a batch to send and a token to send it with (the token is taken). */
  private nextLane(): Lane | undefined {
    const now = this.options.clock.now()
    const count = this.lanes.length
    for (let step = 0; step < count; step++) {
      const index = (this.cursor + step) % count
      const lane = this.lanes[index]
      if (!this.wantsToSend(lane) || !this.options.budgetOf(lane).take(now)) continue
      this.cursor = (index + 1) % count
      return lane
    }
    return undefined
  }

  /** When lanes with a batch to send wait for their budget (a token, or a 429's pause): a pump at that time. */
  private scheduleWake(): void {
    if (this.halted || this.running.size >= this.window.allowed) return
    const now = this.options.clock.now()
    let at = Infinity
    for (const lane of this.lanes) {
      if (this.wantsToSend(lane)) at = Math.min(at, this.options.budgetOf(lane).nextSendAt(now))
    }
    if (at === Infinity || at <= now || (this.wake && this.wake.at <= at)) return
    this.wake?.cancel()
    const wake = {
      at,
      cancel: this.options.clock.after(at - now, () => {
        if (this.wake === wake) this.wake = undefined
        return this.pump()
      })
    }
    this.wake = wake
  }
}
