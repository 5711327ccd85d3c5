/**
 * Sync Audience's request snapshots: a seeded Engage identify call with every mapped field (the
 * person entered the audience) and a track call with only what is required (the person left).
 * No jest globals here, so `npm run snapshots` can use it too.
 */
import definition from '../../index'
import { API_PATHS } from '../../../ortto/constants'
import {
  SEED,
  SNAPSHOT_TIMESTAMP,
  nothing,
  seededAddress,
  seededRandom
} from '../../../ortto/__tests__/__helpers__/request-capture'
import type { SnapshotTarget } from '../../../ortto/__tests__/__helpers__/request-capture'

function syncAudienceCases(seed: number): SnapshotTarget['cases'] {
  const random = seededRandom(seed)
  const computationKey = random.name()
  const address = seededAddress(random)
  const allFields = {
    ...nothing,
    type: 'identify' as const,
    userId: random.uuid(),
    anonymousId: random.uuid(),
    messageId: random.uuid(),
    timestamp: SNAPSHOT_TIMESTAMP,
    traits: { ...random.record(1, 6), ...address, ip: random.ipv4(), [computationKey]: true },
    context: {
      personas: {
        computation_class: 'audience',
        computation_key: computationKey,
        computation_id: random.uuid(),
        external_audience_id: random.uuid(),
        space_id: random.uuid()
      }
    }
  }
  const requiredOnly = {
    ...nothing,
    type: 'track' as const,
    event: 'Audience Exited',
    userId: 'user-required-only',
    properties: { required_only_audience: false },
    context: {
      personas: {
        computation_class: 'audience',
        computation_key: 'required_only_audience',
        external_audience_id: 'aud-required-only'
      }
    }
  }
  return [
    { name: 'all fields', event: allFields },
    { name: 'required fields', event: requiredOnly }
  ]
}

export const syncAudienceSnapshots: SnapshotTarget = {
  destination: definition,
  slug: 'syncAudience',
  method: 'PUT',
  path: API_PATHS.audienceMembers,
  cases: syncAudienceCases(SEED),
  folder: 'ortto-audiences/syncAudience'
}
