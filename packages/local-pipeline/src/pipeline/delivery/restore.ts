/**
 * What the spool gives back at start goes to the lane of the subscription it was accepted for.
 * A subscription the mapping file still has unchanged is its own lane. One whose mapping changed
 * (same name, destination and action) gets a lane of its own that delivers what it holds with the
 * mapping it was accepted under, and takes nothing new ("held deliveries keep the mapping they were
 * prepared with"). One that is gone is owed nothing: its deliveries end failed, into the
 * dead-letter file, with that reason.
 */
import type { PipelineDestination } from '../destinations'
import { Lane, identityOf as identity, type Delivery } from './lanes'
import type { RestoredEvent } from './spool/spool'
import type { SpooledSubscription } from './spool/records'

/** A delivery whose subscription no longer exists. */
export interface Orphan {
  delivery: Delivery
  subscription: SpooledSubscription
  reason: string
}

const nameOf = (subscription: Pick<SpooledSubscription, 'destination' | 'name' | 'partnerAction'>) =>
  JSON.stringify([subscription.destination, subscription.name, subscription.partnerAction])

/**
 * Puts each restored delivery in its lane (adding lanes for changed mappings to `lanes`); returns
 * how many were taken back and those that have no subscription any more.
 */
export function restoreInto(
  lanes: Lane[],
  restored: readonly RestoredEvent[],
  destinations: readonly PipelineDestination[]
): { restored: number; orphans: Orphan[] } {
  const byIdentity = new Map(lanes.map((lane) => [identity(lane.spooled), lane]))
  const current = new Set(lanes.map((lane) => nameOf(lane.spooled)))
  const orphans: Orphan[] = []
  let count = 0
  const laneOf = (subscription: SpooledSubscription): Lane | string => {
    const same = byIdentity.get(identity(subscription))
    if (same) return same
    const destination = destinations.find((d) => d.folder === subscription.destination)
    const what = `the subscription "${subscription.name}" (${subscription.partnerAction}) it was accepted for`
    if (!destination) return `${what} runs on a destination this pipeline does not have (${subscription.destination})`
    if (!current.has(nameOf(subscription))) return `${what} is no longer in the mappings; it was not sent`
    const retired = new Lane({ ...subscription, destination }, true)
    byIdentity.set(identity(subscription), retired)
    lanes.push(retired)
    return retired
  }
  for (const { event, refs } of restored) {
    for (const ref of refs) {
      // Attempts go on counting from where the earlier run left them.
      const delivery: Delivery = { event, attempts: ref.attempts, ref }
      const lane = laneOf(ref.subscription)
      if (typeof lane === 'string') orphans.push({ delivery, subscription: ref.subscription, reason: lane })
      else {
        lane.ready.push(delivery)
        count++
      }
    }
  }
  return { restored: count, orphans }
}
