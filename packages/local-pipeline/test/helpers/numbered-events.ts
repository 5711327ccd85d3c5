/** Numbered identify and track events of user-<n>, with fixed ids and timestamps, for the delivery suites. */
import type { JSONObject, SegmentEvent } from '@segment/actions-core'

const TIMESTAMP = '2024-03-01T10:00:00.000Z'

export const numbers = (count: number): number[] => Array.from({ length: count }, (_, i) => i)

export const identifyOf = (n: number, traits: JSONObject = { plan: 'pro' }): SegmentEvent => ({
  type: 'identify',
  userId: `user-${n}`,
  traits,
  messageId: `m-identify-${n}`,
  timestamp: TIMESTAMP
})

export const trackOf = (n: number): SegmentEvent => ({
  type: 'track',
  userId: `user-${n}`,
  event: 'Order Completed',
  properties: {},
  messageId: `m-track-${n}`,
  timestamp: TIMESTAMP
})
