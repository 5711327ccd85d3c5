/**
 * Sending one batch until the pipeline takes it: a wait it asks for (503 or 429 with Retry-After)
 * holds every batch of the replay, not only the one that was answered, and is never counted as a
 * failure; network errors, time-outs and 5xx back off exponentially, up to a number of attempts.
 */
import type { PostOutcome, TakenAnswer } from './pipeline-client'

export interface Clock {
  now(): number
  /** Resolves after `ms`, or rejects once `signal` aborts. */
  wait(ms: number, signal: AbortSignal): Promise<void>
}

export const systemClock: Clock = {
  now: () => Date.now(),
  wait: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new ReplayInterrupted())
      const timer = setTimeout(done, ms)
      function done() {
        signal.removeEventListener('abort', abort)
        resolve()
      }
      function abort() {
        clearTimeout(timer)
        reject(new ReplayInterrupted())
      }
      signal.addEventListener('abort', abort, { once: true })
    })
}

/** The replay was asked to stop (Ctrl+C): what was acknowledged is checkpointed, the rest waits. */
export class ReplayInterrupted extends Error {
  constructor() {
    super('interrupted')
    this.name = 'ReplayInterrupted'
  }
}

/** The replay cannot go on: the message says why, and a rerun resumes once it is fixed. */
export class ReplayStopped extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ReplayStopped'
  }
}

/** Back-off before attempt n + 1 after n failures: 0.5 s doubling to 30 s, ±20 %. */
export const backoffMs = (failures: number, random: () => number): number =>
  Math.min(30_000, 500 * 2 ** (failures - 1)) * (0.8 + 0.4 * random())

/** No batch is sent before `until`: set by whichever batch was told to wait. */
export class PauseGate {
  private until = 0

  constructor(private readonly clock: Clock) {}

  pause(ms: number): void {
    this.until = Math.max(this.until, this.clock.now() + ms)
  }

  async ready(signal: AbortSignal): Promise<void> {
    for (let left = this.until - this.clock.now(); left > 0; left = this.until - this.clock.now()) {
      await this.clock.wait(left, signal)
    }
    if (signal.aborted) throw new ReplayInterrupted()
  }
}

export interface SendContext {
  post(body: string): Promise<PostOutcome>
  gate: PauseGate
  maxRetries: number
  random: () => number
  signal: AbortSignal
  /** Told why the replay waits, and for how long; undefined once a batch is taken. */
  onWait(why: string | undefined): void
}

/** Sends `body` (the batch of `lines`) until the pipeline takes it; throws ReplayStopped or ReplayInterrupted. */
export async function sendUntilTaken(body: string, lines: string, context: SendContext): Promise<TakenAnswer> {
  let failures = 0
  for (;;) {
    await context.gate.ready(context.signal)
    const outcome = await context.post(body)
    switch (outcome.kind) {
      case 'taken':
        context.onWait(undefined)
        return outcome.answer
      case 'stop':
        throw new ReplayStopped(`${outcome.why} (sending ${lines})`)
      case 'wait':
        context.gate.pause(outcome.ms)
        context.onWait(`${outcome.why}: waiting ${outcome.ms / 1000} s as it asks (Retry-After)`)
        break
      case 'retry': {
        failures++
        if (failures > context.maxRetries) {
          throw new ReplayStopped(`${outcome.why}; gave up sending ${lines} after ${failures} attempts`)
        }
        const ms = backoffMs(failures, context.random)
        context.gate.pause(ms)
        context.onWait(`${outcome.why}: trying again in ${(ms / 1000).toFixed(1)} s`)
        break
      }
    }
  }
}
