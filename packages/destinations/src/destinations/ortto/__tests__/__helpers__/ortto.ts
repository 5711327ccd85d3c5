/**
 * Shared fixtures for the destination's tests: settings, mappings, events and Ortto stubs. They
 * live inside the folder (and use only jest, nock and actions-core) so the folder's tests run
 * unchanged in Segment's action-destinations repository.
 */
import nock from 'nock'
import { createTestEvent, createTestIntegration, defaultValues } from '@segment/actions-core'
import type { DestinationDefinition, JSONObject, SegmentEvent } from '@segment/actions-core'
import definition from '../../index'
import type { Settings } from '../../generated-types'

export const API_KEY = 'pau-test-secret-key-0001'
export const ORIGIN = 'https://segment-action-api-au.ortto.app'
export const settings: Settings = { api_key: API_KEY }

export type ContactSlug = 'upsertContact' | 'upsertContactProfile'
export type ActionSlug = 'trackActivity' | ContactSlug

/** `upsertContactProfile` is today's catalog key of `upsertContact`: it must behave the same in every test. */
export const CONTACT_ACTIONS: ContactSlug[] = ['upsertContact', 'upsertContactProfile']

export const pathOf = (slug: ActionSlug) => (slug === 'trackActivity' ? '/v1/track' : '/v1/identify')

export const ACTIONS: Array<{ slug: ActionSlug; path: string }> = (
  ['trackActivity', ...CONTACT_ACTIONS] as ActionSlug[]
).map((slug) => ({ slug, path: pathOf(slug) }))

/** A request header as one string: nock 13 gives interceptors arrays (`['Bearer …']`), nock 14 strings. */
export function headerOf(headers: Record<string, unknown>, name: string): string | undefined {
  const value = headers[name.toLowerCase()] as string | string[] | undefined
  return Array.isArray(value) ? value.join(', ') : value
}

/** The action's preset mapping, optionally linked to an audience the way a saved hook links it. */
export function mappingFor(
  slug: ActionSlug,
  options: { audienceId?: string; overrides?: JSONObject } = {}
): JSONObject {
  const mapping: JSONObject = { ...defaultValues(definition.actions[slug].fields), ...options.overrides }
  if (options.audienceId !== undefined) {
    mapping.onMappingSave = {
      inputs: { audience_name: 'VIP' },
      outputs: { audience_id: options.audienceId, audience_name: 'VIP' }
    }
  }
  return mapping
}

/** A Segment event of the action's type with fixed ids and time, so bodies can be compared exactly. */
export function eventFor(slug: ActionSlug, overrides: Partial<SegmentEvent> = {}): SegmentEvent {
  const type = slug === 'trackActivity' ? 'track' : 'identify'
  return createTestEvent({
    type,
    event: type === 'track' ? 'Order Completed' : undefined,
    messageId: 'msg-1',
    timestamp: '2024-03-01T10:00:00.000Z',
    ...overrides
  })
}

/** Records every body Ortto receives on `path` and answers each request with the next reply. */
export function stubOrtto(path: string, ...replies: Array<[number, unknown?]>): { bodies: unknown[][] } {
  const bodies: unknown[][] = []
  for (const [status, body] of replies) {
    nock(ORIGIN)
      .post(path, (sent: unknown[]) => {
        bodies.push(sent)
        return true
      })
      .reply(status, body as nock.Body)
  }
  return { bodies }
}

export const testDestination = () => createTestIntegration(definition)

export async function runBatch(
  slug: ActionSlug,
  events: SegmentEvent[],
  options: { mapping?: JSONObject; settings?: Settings } = {}
) {
  return testDestination().executeBatch(slug, {
    events,
    mapping: options.mapping ?? mappingFor(slug),
    settings: options.settings ?? settings
  })
}

/** One event's outcome, in the same terms whether it went through perform or performBatch. */
export interface Outcome {
  status: number
  errortype?: string
  message?: string
  errorClass?: string
}

/** One event through the action `slug` of `destination`, by perform (single) or performBatch (batch). */
export async function outcomeThrough(
  destination: DestinationDefinition<Settings>,
  mode: 'single' | 'batch',
  slug: string,
  event: SegmentEvent,
  options: { mapping: JSONObject; settings: Settings }
): Promise<Outcome> {
  const integration = createTestIntegration(destination)
  if (mode === 'batch') {
    const [result] = await integration.executeBatch(slug, { events: [event], ...options })
    return 'errortype' in result
      ? { status: result.status, errortype: result.errortype, message: result.errormessage }
      : { status: result.status }
  }
  try {
    await integration.testAction(slug, { event, ...options })
    return { status: 200 }
  } catch (error) {
    const e = error as { status?: number; code?: string; message: string; constructor: { name: string } }
    return { status: e.status ?? 500, errortype: e.code, message: e.message, errorClass: e.constructor.name }
  }
}

export const outcomeOf = (
  mode: 'single' | 'batch',
  slug: ActionSlug,
  event: SegmentEvent,
  options: { mapping?: JSONObject; settings?: Settings } = {}
): Promise<Outcome> =>
  outcomeThrough(definition, mode, slug, event, {
    mapping: options.mapping ?? mappingFor(slug),
    settings: options.settings ?? settings
  })

export const MODES = ['single', 'batch'] as const

/** Runs `fn` and returns what it threw; fails the test when it does not throw. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected the call to throw, but it returned')
}
