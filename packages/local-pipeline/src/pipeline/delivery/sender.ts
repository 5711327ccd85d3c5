/**
 * One attempt at a batch of a lane: its events made ready (`prepare`), then sent through
 * `Destination.onBatch`, the entry point Segment's runtime calls. One outcome per delivery, and the
 * count of requests that went to Ortto (a batch the destination splits makes several).
 */
import { Destination, type DecoratedResponse, type SegmentEvent } from '@segment/actions-core'
import type { Settings } from 'actions-ortto'
import type { PipelineDestination } from '../destinations'
import { messageOf } from '../error-message'
import type { PreparedEvent } from '../prepared-event'
import { withSubscription } from '../subscriptions'
import type { LaneSubscription } from './lanes'

/** What one attempt gave a delivery: the destination's result, or why there is none. */
export interface Outcome {
  status: number
  reason?: string
  errortype?: string
  /** Ortto's answer, when the result carries it (a 429's try-in-seconds is read from it). */
  body?: unknown
  /** Failed for good whatever its status: an event the destination itself cannot process. */
  final?: boolean
}

/**
 * One attempt at a batch: an outcome per delivery, how many requests went to Ortto, and the
 * answers to them (each with its request), which the console shows for attempts that failed.
 */
interface Attempt {
  outcomes: Outcome[]
  requests: number
  responses: DecoratedResponse[]
}

/**
 * Runs before each onBatch call of a subscription, on the events of the batch, in order; one answer
 * per event. Requests it makes to Ortto (an audience created or checked) go to `charge`: they count
 * against the key's request budget with the batch's own.
 */
export type PrepareEvents = (
  subscription: LaneSubscription,
  events: SegmentEvent[],
  charge: (requests: number) => void
) => Promise<PreparedEvent[]>

/**
 * Destination instances of one destination, one per call in flight: actions-core keeps each
 * response of an instance in `responses`, which tells how many requests a call made only while no
 * other call shares the instance.
 */
class Runners {
  private readonly idle: Array<Destination<Settings>>
  constructor(private readonly first: Destination<Settings>) {
    this.idle = [first]
  }

  async run<T>(
    use: (runner: Destination<Settings>) => Promise<T>
  ): Promise<{ result: T; responses: DecoratedResponse[] }> {
    const runner = this.idle.pop() ?? new Destination<Settings>(this.first.definition)
    try {
      const result = await use(runner)
      return { result, responses: runner.responses.slice() }
    } catch (error) {
      throw new CountedThrow(error, runner.responses.slice())
    } finally {
      // A long-running process must let go of the responses actions-core keeps.
      runner.responses.length = 0
      this.idle.push(runner)
    }
  }
}

/** onBatch threw: what it threw, and the answers to the requests it made before. */
class CountedThrow extends Error {
  constructor(
    readonly error: unknown,
    readonly responses: DecoratedResponse[]
  ) {
    super('onBatch threw')
  }
}

/**
 * Whether onBatch threw something other than a failed or missing answer from Ortto. Errors that
 * carry an HTTP status (actions-core's HTTPError, RetryableError…), aborts, time-outs and network
 * errors are about Ortto or the way to it, and are retried as before; anything else (a RangeError
 * from an event too deep for the runtime, a TypeError) is about the events themselves.
 */
function isUnexpectedThrow(error: unknown): boolean {
  const e = error as { status?: unknown; name?: unknown; code?: unknown } | null | undefined
  if (typeof e?.status === 'number') return false
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError' || e?.name === 'RequestTimeoutError') return false
  return !(typeof e?.code === 'string' && /^E[A-Z]+$/.test(e.code))
}

/** What an attempt's onBatch calls add up to. */
type Counted = Omit<Attempt, 'outcomes'>

export class Sender {
  private readonly runners: Map<PipelineDestination, Runners>

  constructor(
    destinations: ReadonlyMap<PipelineDestination, Destination<Settings>>,
    private readonly settings: Settings,
    private readonly prepare?: PrepareEvents
  ) {
    this.runners = new Map([...destinations].map(([destination, runner]) => [destination, new Runners(runner)]))
  }

  /** Whether a subscription's destination runs here. */
  runs(destination: PipelineDestination): boolean {
    return this.runners.has(destination)
  }

  /**
   * One round for a batch: its events made ready, and those that are sent in one onBatch call.
   * A preparation that throws, which it should never do, gives the whole batch a retryable 500.
   */
  async attempt(subscription: LaneSubscription, events: SegmentEvent[], signal: AbortSignal): Promise<Attempt> {
    const counted: Counted = { requests: 0, responses: [] }
    if (!this.prepare) return { outcomes: await this.send(subscription, events, signal, counted), ...counted }
    let prepared: PreparedEvent[]
    try {
      prepared = await this.prepare(subscription, events, (requests) => (counted.requests += requests))
      if (prepared.length !== events.length) throw new Error(`${prepared.length} answers for ${events.length} events`)
    } catch (error) {
      const message = `the pipeline could not make this event ready to send (${messageOf(error)})`
      return { outcomes: events.map(() => ({ status: 500, reason: message })), ...counted }
    }
    const ready: Array<{ i: number; event: SegmentEvent }> = []
    prepared.forEach((p, i) => {
      if ('event' in p) ready.push({ i, event: p.event })
    })
    const outcomes = prepared.map((p): Outcome => ('notSent' in p ? p.notSent : { status: 500 }))
    if (ready.length > 0) {
      const sent = await this.send(
        subscription,
        ready.map((r) => r.event),
        signal,
        counted
      )
      ready.forEach((r, k) => (outcomes[r.i] = sent[k]))
    }
    return { outcomes, ...counted }
  }

  /**
   * One onBatch call for these events, one outcome each. When onBatch throws something that is
   * no answer from Ortto (a bug or an event the runtime cannot process, never a time-out), the
   * batch is split until the events that cause it are alone: their neighbours are delivered in
   * this same round, and only they fail, for good, with the reason.
   */
  private async send(
    subscription: LaneSubscription,
    events: SegmentEvent[],
    signal: AbortSignal,
    counted: Counted
  ): Promise<Outcome[]> {
    const runners = this.runners.get(subscription.destination)
    if (!runners) throw new Error(`Subscription "${subscription.name}": no Destination runs it`)
    let results: Awaited<ReturnType<Destination<Settings>['onBatch']>>
    try {
      const call = await runners.run((runner) =>
        runner.onBatch(events, withSubscription(this.settings, subscription), { signal })
      )
      counted.requests += call.responses.length
      counted.responses.push(...call.responses)
      results = call.result
    } catch (thrown) {
      const { error, responses } = thrown as CountedThrow
      counted.requests += responses.length
      counted.responses.push(...responses)
      const message = messageOf(error)
      if (!isUnexpectedThrow(error)) {
        const status = (error as { status?: number }).status ?? 500
        return events.map(() => ({ status, reason: message }))
      }
      if (events.length === 1) {
        const reason = `the destination could not process this event (${message}); it is not retried`
        return [{ status: 400, reason, final: true }]
      }
      const middle = Math.ceil(events.length / 2)
      const first = await this.send(subscription, events.slice(0, middle), signal, counted)
      return [...first, ...(await this.send(subscription, events.slice(middle), signal, counted))]
    }
    const multistatus = results[0]?.multistatus
    return events.map((_, i): Outcome => {
      const result = multistatus?.[i]
      if (!result) return { status: 500 }
      if ('errormessage' in result) {
        return { status: result.status, reason: result.errormessage, errortype: result.errortype, body: result.body }
      }
      return { status: result.status, body: result.body }
    })
  }
}
