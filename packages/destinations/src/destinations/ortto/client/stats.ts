import type { StatsContext } from '@segment/actions-core'
import { isRetryableStatus } from './failures'
import type { Failure, TransportErrorKind } from './failures'
import { ipLeftOutReason } from './ip-address'

/** What the figures read of an event's outcome (deliver.ts's EventOutcome has it). */
type CountedOutcome = { ok: true } | { ok: false; failure: Failure }

/**
 * What one delivery tells Segment's monitoring, through the `statsContext` actions-core hands to
 * `perform` and `performBatch`. The delivery path feeds it as it goes (each event's outcome, each
 * request's answer, each `ip` left off); `flush` then sends one `incr` per metric and tag set.
 *
 * Names follow Segment's destinations: `<action>.<what>`, with `statsContext.tags` plus
 * `slug:<destination>` and `action:<action key>`. Each event counts once, in exactly one of
 * `delivered`, `skipped`, `refused`, `retryable` or `not_sent`, so they add up to the events the
 * action was given. Every tag comes from a small fixed set or is an HTTP status: never a key, an
 * id, an email, a trait or a message.
 */

/** Whose figures these are: the destination's slug and the action's key, both fixed strings. */
export interface MetricScope {
  slug: string
  action: string
}

/** Why an event failed without being sent. */
export type NotSentReason = 'invalid_event' | 'too_large' | 'bad_key' | 'halted'

/** How a request ended: Ortto's HTTP status, or no answer at all. */
export type RequestReply = { status: number } | { error: TransportErrorKind }

type StatsClient = StatsContext['statsClient']

interface Count {
  name: string
  tags: string[]
  value: number
}

export class DeliveryStats {
  private readonly counts = new Map<string, Count>()

  private constructor(
    private readonly client: StatsClient,
    private readonly action: string,
    private readonly tags: string[]
  ) {}

  /** Figures for one delivery, or none when Segment passed no stats client (tests, local runs). */
  static for(statsContext: StatsContext | undefined, scope: MetricScope): DeliveryStats | undefined {
    const client = statsContext?.statsClient
    if (!client) return undefined
    const given = Array.isArray(statsContext?.tags) ? statsContext.tags : []
    return new DeliveryStats(client, scope.action, [...given, `slug:${scope.slug}`, `action:${scope.action}`])
  }

  private add(what: string, value: number, ...tags: string[]): void {
    const key = tags.length === 0 ? what : `${what}|${tags.join('|')}`
    const count = this.counts.get(key)
    if (count) count.value += value
    else this.counts.set(key, { name: `${this.action}.${what}`, tags: [...this.tags, ...tags], value })
  }

  /** Acknowledged without a request: an activity Ortto itself sent. */
  skipped(): void {
    this.add('skipped', 1, 'reason:ortto_namespace')
  }

  /** `count` events that failed with `failure` and were never sent. */
  notSent(reason: NotSentReason, failure: Failure, count = 1): void {
    this.add('not_sent', count, `reason:${reason}`, `status:${failure.status}`)
  }

  /** An `ip` value the event carried that Ortto cannot take, left off its object. */
  ipLeftOut(value: unknown): void {
    this.add('ip_left_off', 1, `reason:${ipLeftOutReason(value)}`)
  }

  /** One request, how it ended, and the outcomes of the events it carried. */
  sent(reply: RequestReply, outcomes: readonly CountedOutcome[]): void {
    const answer = 'status' in reply ? `status:${reply.status}` : `error:${reply.error}`
    this.add('requests', 1, answer)
    let delivered = 0
    for (const outcome of outcomes) {
      if (outcome.ok) {
        delivered++
        continue
      }
      const status = `status:${outcome.failure.status}`
      if (!isRetryableStatus(outcome.failure.status)) this.add('refused', 1, status)
      else if ('error' in reply) this.add('retryable', 1, status, answer)
      else this.add('retryable', 1, status)
    }
    if (delivered > 0) this.add('delivered', delivered)
  }

  /** Sends the figures. Monitoring never changes an event's outcome, so a failing client is ignored. */
  flush(): void {
    try {
      for (const { name, value, tags } of this.counts.values()) this.client.incr(name, value, tags)
    } catch {
      // The events' outcomes stand; a retry because a metric failed would only send them again.
    }
    this.counts.clear()
  }
}
