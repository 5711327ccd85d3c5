/**
 * The three things the benchmark drives through `Destination.executeBatch`, all with the same
 * fields (the real actions' own), the same preset mapping and the same settings:
 *
 * - this:  the Ortto destination as shipped.
 * - floor: `performBatch` posts the mapped payloads as they are and returns the response,
 *          so actions-core marks every event with the request's status. The least work the
 *          framework allows: a lower bound on cost that still goes over HTTP.
 * - naive: also posts the mapped payloads unfiltered (enable_batching, batch_size,
 *          audience_update_mode, empty objects and strings included) but reads the batch
 *          answer into a MultiStatusResponse, one entry per event, as a real destination must.
 */
import {
  Destination,
  MultiStatusResponse,
  defaultValues,
  type ActionDefinition,
  type DestinationDefinition,
  type InputField,
  type JSONLikeObject,
  type JSONObject,
  type RequestClient
} from '@segment/actions-core'
import { ortto as definition, API_PATHS, LOCAL_ENDPOINT_ENV, type Settings } from 'actions-ortto'

export type ActionSlug = 'upsertContact' | 'trackActivity'
export type TargetName = 'this' | 'floor' | 'naive'

export interface Target {
  name: TargetName
  label: string
  destination: Destination<Settings>
  mappings: Record<ActionSlug, JSONObject>
}

export const PATHS: Record<ActionSlug, string> = {
  upsertContact: API_PATHS.identify,
  trackActivity: API_PATHS.track
}

const FIELDS: Record<ActionSlug, Record<string, InputField>> = {
  upsertContact: definition.actions.upsertContact.fields,
  trackActivity: definition.actions.trackActivity.fields
}

/** Where the benchmark's sandbox listens; read per call, as the real destination reads it. */
function urlFor(slug: ActionSlug): string {
  const origin = process.env[LOCAL_ENDPOINT_ENV]
  if (!origin) throw new Error(`${LOCAL_ENDPOINT_ENV} is not set`)
  return origin + PATHS[slug]
}

type Payload = Record<string, unknown>
type BatchData = { payload: Payload[] }
type SingleData = { payload: Payload }

const floorAction = (slug: ActionSlug): ActionDefinition<Settings, Payload> => ({
  title: `Floor ${slug}`,
  description: 'Posts the mapped payloads as they are.',
  fields: FIELDS[slug],
  perform: (request: RequestClient, { payload }: SingleData) =>
    request(urlFor(slug), { method: 'POST', json: [payload] }),
  performBatch: (request: RequestClient, { payload }: BatchData) =>
    request(urlFor(slug), { method: 'POST', json: payload })
})

interface ErrorEntry {
  index?: unknown
  status?: unknown
  message?: unknown
}

/** The naive per-event bookkeeping: one MultiStatusResponse entry per payload sent. */
async function naiveSend(request: RequestClient, slug: ActionSlug, payloads: Payload[]): Promise<MultiStatusResponse> {
  const response = await request<JSONLikeObject>(urlFor(slug), {
    method: 'POST',
    json: payloads,
    throwHttpErrors: false
  })
  // actions-core has already read the answer: `data` is the parsed JSON, `content` the text.
  const body: JSONLikeObject | string = response.data ?? response.content
  const multi = new MultiStatusResponse()
  const ok = response.status >= 200 && response.status < 300
  const errors = new Map<number, ErrorEntry>()
  const list = typeof body === 'object' && body !== null ? (body as { errors?: unknown }).errors : undefined
  if (Array.isArray(list)) {
    for (const entry of list as ErrorEntry[]) {
      if (entry && typeof entry.index === 'number') errors.set(entry.index, entry)
    }
  }
  payloads.forEach((payload, i) => {
    const sent = payload as JSONLikeObject
    const entry = errors.get(i)
    if (ok && !entry) {
      multi.pushSuccessResponse({ status: 200, sent, body })
    } else {
      const status = typeof entry?.status === 'number' ? entry.status : ok ? 500 : response.status
      const message = typeof entry?.message === 'string' ? entry.message : `request failed with ${response.status}`
      multi.pushErrorResponse({ status, errormessage: message, sent, body: (entry as JSONLikeObject) ?? body })
    }
  })
  return multi
}

const naiveAction = (slug: ActionSlug): ActionDefinition<Settings, Payload> => ({
  title: `Naive ${slug}`,
  description: 'Posts the mapped payloads unfiltered and reads the answer per event.',
  fields: FIELDS[slug],
  perform: async (request: RequestClient, { payload }: SingleData) => {
    const multi = await naiveSend(request, slug, [payload])
    return multi.getResponseAtIndex(0).value()
  },
  performBatch: (request: RequestClient, { payload }: BatchData) => naiveSend(request, slug, payload)
})

/** A definition sharing this destination's name, authentication and request extension. */
function variant(name: string, action: (slug: ActionSlug) => ActionDefinition<Settings, Payload>) {
  const result: DestinationDefinition<Settings> = {
    name: `${definition.name} ${name}`,
    mode: 'cloud',
    authentication: definition.authentication,
    extendRequest: definition.extendRequest,
    actions: { upsertContact: action('upsertContact'), trackActivity: action('trackActivity') }
  }
  return result
}

const presetMappings = (): Record<ActionSlug, JSONObject> => ({
  upsertContact: defaultValues(FIELDS.upsertContact),
  trackActivity: defaultValues(FIELDS.trackActivity)
})

export function createTargets(): Target[] {
  return [
    {
      name: 'this',
      label: 'this destination',
      destination: new Destination(definition),
      mappings: presetMappings()
    },
    {
      name: 'floor',
      label: 'floor (post payloads as-is)',
      destination: new Destination(variant('floor', floorAction)),
      mappings: presetMappings()
    },
    {
      name: 'naive',
      label: 'naive (unfiltered, per-event results)',
      destination: new Destination(variant('naive', naiveAction)),
      mappings: presetMappings()
    }
  ]
}
