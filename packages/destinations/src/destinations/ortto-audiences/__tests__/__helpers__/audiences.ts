/**
 * Fixtures for Ortto (Audiences)' tests: Engage-shaped events, the Sync Audience mapping and a
 * stub of Ortto's members endpoint. Inside the folder, with only jest, nock and actions-core, so
 * the tests run unchanged in Segment's repository; what both destinations' tests share comes from
 * the ortto folder's helpers, which travel with it.
 */
import nock from 'nock'
import { createTestEvent, createTestIntegration, defaultValues } from '@segment/actions-core'
import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import definition from '../../index'
import type { Settings } from '../../generated-types'
import { ORIGIN, outcomeThrough, settings } from '../../../ortto/__tests__/__helpers__/ortto'
import type { Outcome } from '../../../ortto/__tests__/__helpers__/ortto'

export { API_KEY, MODES, ORIGIN, headerOf, settings } from '../../../ortto/__tests__/__helpers__/ortto'

export const MEMBERS_PATH = '/v1/audiences/members'
export const AUDIENCE_ID = 'aud-engage-1'
export const COMPUTATION_KEY = 'vip_customers'

export const testDestination = () => createTestIntegration(definition)

/** The Sync Audience mapping as a new subscription gets it, with `overrides` laid over it. */
export const syncMapping = (overrides: JSONObject = {}): JSONObject => ({
  ...defaultValues(definition.actions.syncAudience.fields),
  ...overrides
})

/** What Engage puts in `context.personas` for an audience computation. */
export const personas = (overrides: JSONObject = {}): JSONObject => ({
  computation_class: 'audience',
  computation_key: COMPUTATION_KEY,
  computation_id: 'aud_2abc',
  external_audience_id: AUDIENCE_ID,
  space_id: 'spa_1',
  audience_settings: { audienceName: 'VIP Customers' },
  ...overrides
})

/**
 * An Engage identify call: `traits[computation_key]` says whether the person is in the audience.
 * Engage's identify calls carry no `properties` (createTestEvent would add `{}`, which the Traits
 * field's default would then read instead of the traits).
 */
export function engageIdentify(
  member: unknown,
  overrides: Partial<SegmentEvent> & { personas?: JSONObject; traits?: JSONObject } = {}
): SegmentEvent {
  const { personas: personaOverrides, traits, ...rest } = overrides
  return createTestEvent({
    type: 'identify',
    userId: 'user-1',
    anonymousId: 'anon-1',
    messageId: 'msg-1',
    timestamp: '2024-03-01T10:00:00.000Z',
    properties: undefined,
    traits: { email: 'ada@example.com', [COMPUTATION_KEY]: member as JSONObject[string], ...traits },
    context: { personas: personas(personaOverrides) },
    ...rest
  })
}

/** An Engage track call (`Audience Entered` / `Audience Exited`): membership rides in `properties`. */
export function engageTrack(member: boolean, overrides: Partial<SegmentEvent> = {}): SegmentEvent {
  return createTestEvent({
    type: 'track',
    event: member ? 'Audience Entered' : 'Audience Exited',
    userId: 'user-1',
    anonymousId: 'anon-1',
    messageId: 'msg-2',
    timestamp: '2024-03-01T10:00:00.000Z',
    traits: undefined,
    properties: { audience_key: COMPUTATION_KEY, [COMPUTATION_KEY]: member },
    context: { personas: personas() },
    ...overrides
  })
}

/** Records every body Ortto receives on the members endpoint and answers each PUT with the next reply. */
export function stubMembers(...replies: Array<[number, unknown?]>): { bodies: Array<Array<Record<string, unknown>>> } {
  const bodies: Array<Array<Record<string, unknown>>> = []
  for (const [status, body] of replies) {
    nock(ORIGIN)
      .put(MEMBERS_PATH, (sent: Array<Record<string, unknown>>) => {
        bodies.push(sent)
        return true
      })
      .reply(status, body as nock.Body)
  }
  return { bodies }
}

export function runSyncBatch(events: SegmentEvent[], options: { mapping?: JSONObject; settings?: Settings } = {}) {
  return testDestination().executeBatch('syncAudience', {
    events,
    mapping: options.mapping ?? syncMapping(),
    settings: options.settings ?? settings
  })
}

/** One Engage event through Sync Audience, by perform (single) or performBatch (batch). */
export const syncOutcome = (
  mode: 'single' | 'batch',
  event: SegmentEvent,
  options: { mapping?: JSONObject; settings?: Settings } = {}
): Promise<Outcome> =>
  outcomeThrough(definition, mode, 'syncAudience', event, {
    mapping: options.mapping ?? syncMapping(),
    settings: options.settings ?? settings
  })

/** What a call threw (a rejected promise's reason); fails the test when it resolved instead. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & { status?: number; code?: string }> {
  try {
    await promise
  } catch (error) {
    return error as Error & { status?: number; code?: string }
  }
  throw new Error('expected the call to fail, but it succeeded')
}
