import type { RequestClient } from '@segment/actions-core'
import type { ContactInput, WireObject } from '../types'
import { deliver, toMultiStatus, toSingleResult } from './deliver'
import type { DeliveryInput, ActionDelivery } from './deliver'
import { DeliveryStats } from './stats'
import type { MetricScope } from './stats'

/**
 * `perform` and `performBatch` for an action, both on the one delivery path: batch mode
 * records each event's outcome, single mode throws when its one event was not delivered.
 * Both report their figures to Segment's monitoring under `scope` when it passes a stats client.
 */
export function actionHandlers<P extends ContactInput, T extends WireObject>(
  scope: MetricScope,
  action: ActionDelivery<P, T>
) {
  const run = async (request: RequestClient, payloads: P[], input: DeliveryInput) => {
    const stats = DeliveryStats.for(input.statsContext, scope)
    const outcomes = await deliver(request, payloads, input, action, stats)
    stats?.flush()
    return outcomes
  }
  return {
    perform: async (request: RequestClient, data: DeliveryInput & { payload: P }) =>
      toSingleResult((await run(request, [data.payload], data))[0]),
    performBatch: async (request: RequestClient, data: DeliveryInput & { payload: P[] }) =>
      toMultiStatus(await run(request, data.payload, data))
  }
}
