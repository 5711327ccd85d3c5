/**
 * The floor of the syncAudience row: a destination with Sync Audience's own fields whose
 * `performBatch` PUTs the mapped payloads as they are, each with the one key Ortto's members
 * endpoint requires, `audience: {mode, id}`, read the cheapest way (the computation key's trait
 * `true` adds, anything else removes). It sends the mapping's own keys and the computation key
 * along; the sandbox ignores them. The least work the framework allows that still changes
 * membership, so the sandbox does the same work for both targets.
 */
import {
  Destination,
  defaultValues,
  type ActionDefinition,
  type DestinationDefinition,
  type RequestClient
} from '@segment/actions-core'
import {
  orttoAudiences as definition,
  API_PATHS,
  LOCAL_ENDPOINT_ENV,
  type SyncAudiencePayload as Payload,
  type Settings
} from 'actions-ortto'
import type { LaneTarget } from './compare'

const SYNC_AUDIENCE = 'syncAudience'

function membersUrl(): string {
  const origin = process.env[LOCAL_ENDPOINT_ENV]
  if (!origin) throw new Error(`${LOCAL_ENDPOINT_ENV} is not set`)
  return origin + API_PATHS.audienceMembers
}

const asMember = (payload: Payload) => ({
  ...payload,
  audience: {
    mode: payload.traits[payload.computation_key] === true ? 'add' : 'remove',
    id: payload.external_audience_id
  }
})

const floorAction: ActionDefinition<Settings, Payload> = {
  title: 'Floor syncAudience',
  description: 'PUTs the mapped payloads as they are, each with its audience instruction.',
  fields: definition.actions.syncAudience.fields,
  perform: (request: RequestClient, { payload }) => request(membersUrl(), { method: 'PUT', json: [asMember(payload)] }),
  performBatch: (request: RequestClient, { payload }) =>
    request(membersUrl(), { method: 'PUT', json: payload.map(asMember) })
}

const floorDefinition: DestinationDefinition<Settings> = {
  name: `${definition.name} floor`,
  mode: 'cloud',
  authentication: definition.authentication,
  extendRequest: definition.extendRequest,
  actions: { [SYNC_AUDIENCE]: floorAction }
}

const mappings = () => ({ [SYNC_AUDIENCE]: defaultValues(definition.actions.syncAudience.fields) })

/** Ortto (Audiences) as shipped, and its floor: the two targets of the syncAudience row. */
export function syncAudienceTargets(): LaneTarget[] {
  return [
    { name: 'this', label: 'this destination', destination: new Destination(definition), mappings: mappings() },
    {
      name: 'floor',
      label: 'floor (payloads as-is, with audience)',
      destination: new Destination(floorDefinition),
      mappings: mappings()
    }
  ]
}
