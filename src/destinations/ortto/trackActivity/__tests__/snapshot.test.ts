import fc from 'fast-check'
import type { SegmentEvent } from '@segment/actions-core'
import {
  SNAPSHOT_TIMESTAMP,
  address,
  describeRequestSnapshots,
  fieldName,
  fieldValue,
  seeded
} from '../../../../../test/helpers/request-snapshots'

/** A track event with every mapped field filled from a seeded generator. */
function seededEvent(seed: number): Partial<SegmentEvent> {
  const generated = seeded(
    fc.record({
      event: fieldName,
      userId: fc.uuid(),
      anonymousId: fc.uuid(),
      messageId: fc.uuid(),
      ip: fc.ipV4(),
      namespace: fieldName,
      properties: fc.dictionary(fieldName, fieldValue, { minKeys: 1, maxKeys: 4 }),
      traits: fc.dictionary(fieldName, fieldValue, { minKeys: 1, maxKeys: 4 }),
      address
    }),
    seed
  )
  return {
    type: 'track',
    event: generated.event,
    userId: generated.userId,
    anonymousId: generated.anonymousId,
    messageId: generated.messageId,
    timestamp: SNAPSHOT_TIMESTAMP,
    properties: generated.properties,
    traits: undefined,
    context: {
      ip: generated.ip,
      app: { namespace: generated.namespace },
      traits: { ...generated.traits, address: generated.address }
    }
  }
}

describeRequestSnapshots({
  slug: 'trackActivity',
  path: '/v1/track',
  testDir: __dirname,
  seededEvent,
  // Only what the action requires: an event name and one identifier.
  requiredOnlyEvent: {
    type: 'track',
    event: 'Signed Up',
    userId: 'user-required-only',
    anonymousId: undefined,
    messageId: undefined,
    timestamp: undefined,
    properties: undefined,
    traits: undefined,
    context: undefined
  },
  requiredOnlyBody: [{ user_id: 'user-required-only', event: 'Signed Up' }]
})
