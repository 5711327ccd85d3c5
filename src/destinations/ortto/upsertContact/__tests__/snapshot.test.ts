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

/** An identify event with every mapped field filled from a seeded generator. */
function seededEvent(seed: number): Partial<SegmentEvent> {
  const generated = seeded(
    fc.record({
      userId: fc.uuid(),
      anonymousId: fc.uuid(),
      messageId: fc.uuid(),
      ip: fc.ipV4(),
      traits: fc.dictionary(fieldName, fieldValue, { minKeys: 1, maxKeys: 6 }),
      address
    }),
    seed
  )
  return {
    type: 'identify',
    event: undefined,
    userId: generated.userId,
    anonymousId: generated.anonymousId,
    messageId: generated.messageId,
    timestamp: SNAPSHOT_TIMESTAMP,
    properties: undefined,
    traits: { ...generated.traits, address: generated.address },
    context: { ip: generated.ip }
  }
}

describeRequestSnapshots({
  slug: 'upsertContact',
  path: '/v1/identify',
  testDir: __dirname,
  seededEvent,
  // Only what the action requires: one identifier.
  requiredOnlyEvent: {
    type: 'identify',
    event: undefined,
    userId: undefined,
    anonymousId: 'anon-required-only',
    messageId: undefined,
    timestamp: undefined,
    properties: undefined,
    traits: undefined,
    context: undefined
  },
  requiredOnlyBody: [{ anonymous_id: 'anon-required-only' }]
})
