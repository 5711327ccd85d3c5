/**
 * The lanes of the delivery engine: the subscriptions in force, each with its lane (events taken
 * in go to these), and every lane that still holds deliveries, retired ones (an older mapping)
 * included. A mapping reload replaces the subscriptions in force; what lanes hold stays theirs.
 */
import type { SegmentEvent } from '@segment/actions-core'
import type { PipelineDestination } from '../destinations'
import type { MatchableSubscription } from '../subscriptions'
import { Lane, identityOf, spooledSubscription, type LaneSubscription } from './lanes'
import type { SubscriptionCounts } from './minute-counts'

export type HeldCounts = SubscriptionCounts & { destination: string; held: number }

export class LaneSet {
  /** Every lane: those in force, then retired ones still holding deliveries. Scheduler and settler share it, in place. */
  readonly all: Lane[]
  private current: Array<{ subscription: MatchableSubscription; lane: Lane }>
  private replaced = 0

  constructor(
    subscriptions: readonly MatchableSubscription[],
    private readonly runs: (destination: PipelineDestination) => boolean
  ) {
    this.current = subscriptions.map((subscription) => ({ subscription, lane: this.newLane(subscription) }))
    this.all = this.current.map(({ lane }) => lane)
  }

  /** The lanes of the subscriptions in force that `event` matches; undefined when none does. */
  lanesFor(event: SegmentEvent): Lane[] | undefined {
    let lanes: Lane[] | undefined
    for (const { subscription, lane } of this.current) if (subscription.matches(event)) (lanes ??= []).push(lane)
    return lanes
  }

  /** Goes up at each replace: lanes matched before an await may have been let go by the time it ends. */
  get version(): number {
    return this.replaced
  }

  /** Puts back lanes let go of (empty, at a reload) while deliveries were on their way to them. */
  keep(lanes: Iterable<Lane>): void {
    for (const lane of lanes) if (!this.all.includes(lane)) this.all.push(lane)
  }

  /**
   * Puts `subscriptions` in force for the events taken in from now on (a mapping reload). One that
   * is in force already, or held by a retired lane, unchanged (same name, destination, action,
   * trigger and mapping) keeps that lane and what it holds. Every other lane is retired: it delivers
   * what it holds (ready, retrying, being sent) with the mapping that was in force when it was taken
   * in, and takes nothing new; once empty it is let go at a later reload.
   */
  replace(subscriptions: readonly MatchableSubscription[]): void {
    const byIdentity = new Map<string, Lane[]>()
    for (const lane of this.all) {
      const key = identityOf(lane.spooled)
      byIdentity.set(key, [...(byIdentity.get(key) ?? []), lane])
    }
    const next = subscriptions.map((subscription) => {
      const same = byIdentity.get(identityOf(spooledSubscription(subscription)))?.shift()
      return { subscription, lane: same ?? this.newLane(subscription) }
    })
    const inForce = new Set(next.map(({ lane }) => lane))
    for (const lane of [...this.all, ...inForce]) lane.retired = !inForce.has(lane)
    const kept = this.all.filter((lane) => inForce.has(lane) || lane.held > 0)
    for (const lane of inForce) if (!kept.includes(lane)) kept.push(lane)
    this.all.splice(0, this.all.length, ...kept)
    this.current = next
    this.replaced++
  }

  /** Deliveries every lane holds. */
  held(): number {
    return this.all.reduce((sum, lane) => sum + lane.held, 0)
  }

  /**
   * Each subscription's deliveries: held now, and `countsOf` it. A lane taken back from the spool
   * with an older mapping counts with the subscription of the same name and action.
   */
  heldCounts(countsOf: (subscription: LaneSubscription) => SubscriptionCounts): HeldCounts[] {
    const shown = new Map<string, HeldCounts>()
    for (const lane of this.all) {
      const { subscription } = lane
      const key = JSON.stringify([subscription.name, subscription.partnerAction])
      const same = shown.get(key)
      if (same) same.held += lane.held
      else
        shown.set(key, {
          ...countsOf(subscription),
          destination: subscription.destination.definition.name,
          held: lane.held
        })
    }
    return [...shown.values()]
  }

  private newLane(subscription: MatchableSubscription): Lane {
    if (!this.runs(subscription.destination)) {
      throw new Error(
        `Subscription "${subscription.name}": no Destination runs ${subscription.destination.definition.name}`
      )
    }
    return new Lane(subscription)
  }
}
