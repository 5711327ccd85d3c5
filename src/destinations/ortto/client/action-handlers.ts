import type { RequestClient } from '@segment/actions-core'
import type { WireObject } from '../types'
import { deliver, toMultiStatus, toSingleResult } from './deliver'
import type { DeliveryInput, Route } from './deliver'

/**
 * `perform` and `performBatch` for an action, both on the one delivery path: batch mode
 * records each event's outcome, single mode throws when its one event was not delivered.
 */
export function actionHandlers<P, T extends WireObject>(route: Route<P, T>) {
  return {
    perform: async (request: RequestClient, data: DeliveryInput & { payload: P }) =>
      toSingleResult((await deliver(request, [data.payload], data, route))[0]),
    performBatch: async (request: RequestClient, data: DeliveryInput & { payload: P[] }) =>
      toMultiStatus(await deliver(request, data.payload, data, route))
  }
}
