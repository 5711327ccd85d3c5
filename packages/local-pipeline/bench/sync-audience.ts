/**
 * The benchmark's syncAudience row: Engage audience events through Ortto (Audiences)' Sync
 * Audience (`Destination.executeBatch`, batches of up to 500) and through its floor
 * (sync-audience-floor.ts), each against a sandbox of its own, as an Engage subscription
 * receives them: identify calls carrying the computation key's trait and track calls
 * (`Audience Entered` / `Audience Exited`) carrying it in their properties.
 *
 * The audience is created in each sandbox after each reset (outside the timed calls, and its
 * request is not counted), and right before a target's pass every event is pointed at that
 * target's audience, as Segment points them at the id `createAudience` returned. After each
 * round each sandbox's audience must hold exactly the people the events left in it, the last
 * instruction for each person winning.
 */
import type { SegmentEvent } from '@segment/actions-core'
import { API_PATHS, type Settings } from 'actions-ortto'
import { startSandbox, type Sandbox } from 'ortto-sandbox'
import { batchesFor, type Batch, type Lane, type LaneTarget } from './compare'
import { startCountingServer } from './counting-server'
import { BASE_TIME, Picker, streamSeed, userFor } from './events'
import { syncAudienceTargets } from './sync-audience-floor'

export const SYNC_AUDIENCE = 'syncAudience'

const COMPUTATION_KEY = 'bench_vip_customers'
const AUDIENCE_NAME = 'Bench VIP Customers'
/** Mixed into the seed so these events are not the identify/track stream's. */
const ENGAGE_STREAM = 0xa0d1

interface Personas {
  computation_class: string
  computation_key: string
  computation_id: string
  external_audience_id: string
  space_id: string
  namespace: string
  audience_settings: { audienceName: string }
}

/**
 * Engage event `index`: even indexes are identify calls, odd ones track calls; six in ten
 * enter the audience, the rest leave it. `external_audience_id` is filled in per round.
 */
export function engageEvent(seed: number, index: number, userCount: number): SegmentEvent {
  const p = new Picker(streamSeed(seed ^ ENGAGE_STREAM, index))
  const user = userFor(seed, p.int(0, userCount - 1))
  const member = p.chance(0.6)
  const time = BASE_TIME + index * 37 + p.int(0, 30)
  const timestamp = new Date(time).toISOString()
  const personas: Personas = {
    computation_class: 'audience',
    computation_key: COMPUTATION_KEY,
    computation_id: 'aud_2benchVipCustomers',
    external_audience_id: '',
    space_id: 'spa_bench',
    namespace: 'spa_bench',
    audience_settings: { audienceName: AUDIENCE_NAME }
  }
  const common = {
    messageId: `personas_${p.hex(24)}`,
    timestamp,
    receivedAt: new Date(time + p.int(5, 900)).toISOString(),
    anonymousId: user.anonymousId,
    ...(user.userId ? { userId: user.userId } : {}),
    integrations: { All: false, 'Ortto (Audiences)': true },
    context: { personas, library: { name: 'unknown', version: 'unknown' } }
  }
  if (index % 2 === 0) {
    const traits = { email: user.email, first_name: user.first, last_name: user.last, [COMPUTATION_KEY]: member }
    return { ...common, type: 'identify', traits }
  }
  return {
    ...common,
    type: 'track',
    event: member ? 'Audience Entered' : 'Audience Exited',
    properties: { audience_key: COMPUTATION_KEY, [COMPUTATION_KEY]: member },
    context: { ...common.context, traits: { email: user.email } }
  }
}

const personasOf = (event: SegmentEvent) => (event.context as { personas: Personas }).personas

const membershipOf = (event: SegmentEvent): boolean =>
  (event.type === 'identify' ? event.traits : event.properties)?.[COMPUTATION_KEY] === true

/** How the sandbox knows a person: by user id, else by anonymous id (each person always sends the same ids). */
const personOf = (event: SegmentEvent): string => event.userId ?? event.anonymousId ?? ''

export interface AudienceLanes {
  /** This destination's lane first, then the floor's. */
  lanes: Lane[]
  batches: Batch[]
  /** What is wrong with a lane's audience after a round (empty when it is as the events say). */
  check: (lane: Lane, round: number) => string[]
  close: () => Promise<void>
}

/** Creates the audience straight on the sandbox (not through the counter); returns its id. */
async function createAudience(sandbox: Sandbox, settings: Settings): Promise<string> {
  const response = await fetch(sandbox.url + API_PATHS.createAudience, {
    method: 'POST',
    headers: { authorization: `Bearer ${settings.api_key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: AUDIENCE_NAME })
  })
  const answer = (await response.json()) as { id?: unknown }
  if (response.status !== 200 || typeof answer.id !== 'string') {
    throw new Error(`the sandbox did not create the audience: ${response.status} ${JSON.stringify(answer)}`)
  }
  return answer.id
}

/** What is wrong with `sandbox`'s audience after the events (empty when it holds what they say). */
function audienceProblems(sandbox: Sandbox, events: SegmentEvent[], where: string): string[] {
  const state = sandbox.snapshot()
  const audience = state.audiences.find((candidate) => candidate.name === AUDIENCE_NAME)
  if (!audience) return [`${where}: the sandbox has no audience "${AUDIENCE_NAME}"`]
  const last = new Map<string, boolean>()
  for (const event of events) last.set(personOf(event), membershipOf(event))
  const expected = new Set([...last].filter(([, member]) => member).map(([person]) => person))
  const contacts = new Map(state.contacts.map((contact) => [contact.id, contact.user_id ?? contact.anonymous_id]))
  const members = new Set(audience.member_ids.map((id) => contacts.get(id) ?? `contact ${id}`))
  const problems: string[] = []
  const missing = [...expected].filter((person) => !members.has(person))
  const extra = [...members].filter((person) => !expected.has(person))
  if (missing.length > 0 || extra.length > 0) {
    problems.push(
      `${where}: the audience has ${members.size} members, the events leave ${expected.size} ` +
        `(missing ${missing.slice(0, 3).join(', ') || 'none'}; not expected ${extra.slice(0, 3).join(', ') || 'none'})`
    )
  }
  const applied = state.membership_history.filter((entry) => entry.audience_id === audience.id).length
  if (applied !== events.length) {
    problems.push(`${where}: ${applied} membership instructions applied for ${events.length} events`)
  }
  return problems
}

/** A lane per target (this destination, its floor), each with its sandbox, counting server and audience. */
export async function createAudienceLanes(
  events: SegmentEvent[],
  batchSize: number,
  settings: Settings
): Promise<AudienceLanes> {
  const lanes: Lane[] = []
  for (const target of syncAudienceTargets()) lanes.push(await audienceLane(target, events, settings))
  return {
    lanes,
    batches: batchesFor(SYNC_AUDIENCE, events, batchSize),
    check: (lane, round) => audienceProblems(lane.sandbox, events, `syncAudience ${lane.target.name} round ${round}`),
    close: async () => {
      for (const lane of lanes) {
        await lane.counter.close()
        await lane.sandbox.reset()
        await lane.sandbox.stop()
      }
    }
  }
}

async function audienceLane(target: LaneTarget, events: SegmentEvent[], settings: Settings): Promise<Lane> {
  const sandbox = await startSandbox({ port: 0 })
  const counter = await startCountingServer((req, res) => sandbox.handle(req, res))
  let audienceId = ''
  return {
    target,
    sandbox,
    counter,
    afterReset: async () => {
      audienceId = await createAudience(sandbox, settings)
    },
    beforePass: () => {
      for (const event of events) personasOf(event).external_audience_id = audienceId
    }
  }
}
