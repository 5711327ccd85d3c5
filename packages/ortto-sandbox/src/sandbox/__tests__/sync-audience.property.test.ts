/**
 * A property of Ortto (Audiences)' Sync Audience against this sandbox, through actions-core
 * (`createAudience`, `executeBatch`): random people, Engage events that add and remove them (some
 * flawed, some for an audience Ortto does not have), cut into batches, while the sandbox fails a
 * share of the requests; afterwards its audiences hold exactly the people whose last accepted
 * event added them, and its membership history lists exactly the events reported delivered.
 *
 * The destination comes through its package's public module; the expectations come from the
 * scenario and Ortto's contract (docs/ortto-api.md), never from either side's code.
 */
import fc from 'fast-check'
import { createTestIntegration, defaultValues, type SegmentEvent } from '@segment/actions-core'
import { LOCAL_ENDPOINT_ENV, orttoAudiences as definition } from 'actions-ortto'
import { startSandbox, type Sandbox, type SandboxContact, type SandboxState } from '../index'
import { get } from '../../../../../test/helpers/http-client'

const SEED = 20_240_310
/** Where Ortto takes audience members (docs/ortto-api.md). */
const MEMBERS_PATH = '/v1/audiences/members'
/** The Engage computation key of the audience the events are about. */
const COMPUTATION_KEY = 'vip_customers'

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** What executeBatch gives for one event. */
interface BatchResult {
  status: number
  sent?: unknown
  body?: unknown
  errortype?: string
  errormessage?: string
}

const isDelivered = (result: BatchResult): boolean =>
  Number.isInteger(result.status) && result.status >= 200 && result.status <= 299

/** An object with exactly these own properties, `__proto__` included (a literal would set the prototype). */
function objectOf(entries: Array<[string, unknown]>): Record<string, unknown> {
  const result: Record<string, unknown> = {}
  for (const [key, value] of entries) {
    Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true })
  }
  return result
}

/** A value as JSON, long strings cut, for failure messages. */
const brief = (value: unknown): string =>
  JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'string' && v.length > 200 ? `${v.slice(0, 80)}…(${v.length} chars)` : v
  )

/** The mapping a new Sync Audience subscription gets: the defaults of its fields. */
const syncMapping = () => defaultValues(definition.actions.syncAudience.fields)

/** The membership value Engage sends under the computation key: only `true` adds. */
const memberValue: fc.Arbitrary<Json | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<Json>(true, false) },
  { weight: 2, arbitrary: fc.constantFrom<Json | undefined>('true', 1, 0, null, 'false', 'yes', undefined) }
)

/** How a person is known: by User ID, by Anonymous ID, or by both (always sent together). */
type Identity = 'user' | 'anonymous' | 'both'

/** Which audience an instruction names: one of the two created, or an id Ortto has no audience for. */
type AudienceChoice = 0 | 1 | 'unknown'

/** What makes an event one that must not be sent. */
type Flaw = 'none' | 'class' | 'blank audience id' | 'no ids'

interface Instruction {
  person: number
  audience: AudienceChoice
  kind: 'identify' | 'track'
  member: Json | undefined
  flaw: Flaw
}

interface SandboxScenario {
  people: Identity[]
  instructions: Instruction[]
  /** Where the instructions are cut into consecutive executeBatch calls. */
  cuts: number[]
  /** Requests the sandbox fails with 500/502/503 without applying anything. */
  failRate: number
  faultSeed: number
}

/** An audience id the sandbox never hands out (its ids are 24 random hex digits). */
const UNKNOWN_AUDIENCE_ID = 'no-such-audience'
const AUDIENCE_NAMES = ['Property VIP', 'Property Churn Risk']
const SANDBOX_KEY = 'pau-sandbox-property-key'

const sandboxScenario: fc.Arbitrary<SandboxScenario> = fc
  .array(fc.constantFrom<Identity>('user', 'anonymous', 'both'), { minLength: 1, maxLength: 5 })
  .chain((people) =>
    fc.record({
      people: fc.constant(people),
      instructions: fc.array(
        fc.record({
          person: fc.integer({ min: 0, max: people.length - 1 }),
          audience: fc.oneof(
            { weight: 6, arbitrary: fc.constantFrom<AudienceChoice>(0, 1) },
            { weight: 1, arbitrary: fc.constant<AudienceChoice>('unknown') }
          ),
          kind: fc.constantFrom<'identify' | 'track'>('identify', 'track'),
          member: memberValue,
          flaw: fc.oneof(
            { weight: 8, arbitrary: fc.constant<Flaw>('none') },
            { weight: 1, arbitrary: fc.constantFrom<Flaw>('class', 'blank audience id', 'no ids') }
          )
        }),
        { minLength: 1, maxLength: 40 }
      ),
      cuts: fc.uniqueArray(fc.integer({ min: 1, max: 39 }), { maxLength: 3 }),
      failRate: fc.constantFrom(0, 0, 0.3, 0.6),
      faultSeed: fc.integer({ min: 1, max: 1_000_000 })
    })
  )

const personUserId = (person: number) => `person-${person}`
const personAnonymousId = (person: number) => `anon-${person}`

/** An Engage event for instruction `j` (messageId `s<j>`), with the audience ids createAudience returned. */
function sandboxEvent(s: SandboxScenario, j: number, audienceIds: string[]): SegmentEvent {
  const { person, audience, kind, member, flaw } = s.instructions[j]
  const identity = s.people[person]
  const membership = objectOf(member === undefined ? [] : [[COMPUTATION_KEY, member]])
  const event = {
    type: kind,
    event: kind === 'track' ? (member === true ? 'Audience Entered' : 'Audience Exited') : undefined,
    messageId: `s${j}`,
    userId: flaw !== 'no ids' && identity !== 'anonymous' ? personUserId(person) : undefined,
    anonymousId: flaw !== 'no ids' && identity !== 'user' ? personAnonymousId(person) : undefined,
    timestamp: '2024-03-01T10:00:00.000Z',
    traits: kind === 'identify' ? { email: `person-${person}@example.com`, ...membership } : undefined,
    properties: kind === 'track' ? { audience_key: COMPUTATION_KEY, ...membership } : undefined,
    context: {
      personas: {
        computation_class: flaw === 'class' ? 'computed_trait' : 'audience',
        computation_key: COMPUTATION_KEY,
        external_audience_id:
          flaw === 'blank audience id' ? '' : audience === 'unknown' ? UNKNOWN_AUDIENCE_ID : audienceIds[audience]
      }
    }
  }
  return JSON.parse(JSON.stringify(event)) as SegmentEvent
}

function batchesOf<T>(items: T[], cuts: number[]): T[][] {
  const at = [0, ...cuts.filter((c) => c < items.length).sort((a, b) => a - b), items.length]
  return at.slice(1).map((end, i) => items.slice(at[i], end))
}

/** The person a sandbox contact is, by the ids the scenario gave them. */
function personOf(contact: SandboxContact): number | undefined {
  const user = /^person-(\d+)$/.exec(contact.user_id ?? '')
  if (user) return Number(user[1])
  const anonymous = contact.anonymous_ids.map((id) => /^anon-(\d+)$/.exec(id)).find((m) => m !== null)
  return anonymous ? Number(anonymous[1]) : undefined
}

describe('syncAudience against the sandbox: membership follows the events Ortto accepted, the last one winning', () => {
  let sandbox: Sandbox
  const previousEndpoint = process.env[LOCAL_ENDPOINT_ENV]
  const settings = { api_key: SANDBOX_KEY }

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 })
    process.env[LOCAL_ENDPOINT_ENV] = sandbox.url
  })

  afterAll(async () => {
    if (previousEndpoint === undefined) delete process.env[LOCAL_ENDPOINT_ENV]
    else process.env[LOCAL_ENDPOINT_ENV] = previousEndpoint
    await sandbox.stop()
  })

  /** What the sandbox shows under /sandbox/audiences and /sandbox/contacts (its own port, no key needed). */
  async function inspect(): Promise<Pick<SandboxState, 'audiences' | 'membership_history' | 'contacts'>> {
    const audiences = await get(sandbox.url, '/sandbox/audiences', { apiKey: null })
    const contacts = await get(sandbox.url, '/sandbox/contacts', { apiKey: null })
    if (audiences.status !== 200 || contacts.status !== 200) {
      throw new Error(`inspection answered ${audiences.status} / ${contacts.status}`)
    }
    const { audiences: list, membership_history } = audiences.json as Pick<
      SandboxState,
      'audiences' | 'membership_history'
    >
    return { audiences: list, membership_history, contacts: (contacts.json as { contacts: SandboxContact[] }).contacts }
  }

  it('holds for random people, instructions, batches and failing requests (numRuns 60)', async () => {
    const met = { delivered: 0, failedByTheSandbox: 0, unknownAudience404: 0, removedAfterAdded: 0, refused: 0 }
    await fc.assert(
      fc.asyncProperty(sandboxScenario, async (s) => {
        sandbox.setFaults({})
        await sandbox.reset()
        const destination = createTestIntegration(definition)
        const audienceIds: string[] = []
        for (const name of AUDIENCE_NAMES) {
          const { externalId } = await destination.createAudience({
            settings,
            audienceName: name,
            audienceSettings: { audienceName: name }
          })
          audienceIds.push(externalId)
        }
        sandbox.setFaults({ failRate: s.failRate, seed: s.faultSeed })

        const events = s.instructions.map((_, j) => sandboxEvent(s, j, audienceIds))
        const results: BatchResult[] = []
        for (const batch of batchesOf(events, s.cuts)) {
          const answered = (await destination.executeBatch('syncAudience', {
            events: batch,
            mapping: syncMapping(),
            settings
          })) as BatchResult[]
          if (answered.length !== batch.length) throw new Error(`${batch.length} events but ${answered.length} results`)
          results.push(...answered)
        }
        sandbox.setFaults({})
        const seen = await inspect()

        const out: string[] = []
        const delivered: number[] = []
        s.instructions.forEach((instruction, j) => {
          const result = results[j]
          if (instruction.flaw !== 'none') {
            met.refused++
            if (result.status !== 400 || result.errortype !== 'PAYLOAD_VALIDATION_FAILED') {
              out.push(`event ${j} (${instruction.flaw}) got ${brief(result)}`)
            }
          } else if (instruction.audience === 'unknown') {
            if (isDelivered(result)) out.push(`event ${j} for an audience Ortto does not have was reported delivered`)
            if (result.status === 404) met.unknownAudience404++
          }
          if (isDelivered(result)) delivered.push(j)
          else if (instruction.flaw === 'none') met.failedByTheSandbox++
        })
        met.delivered += delivered.length

        // Every accepted instruction was applied once, in order, as the mode it stands for, and
        // nothing else was: the history lists exactly the delivered events.
        const applied = seen.membership_history.filter((entry) => entry.via === MEMBERS_PATH)
        const expectedHistory = delivered.map((j) => ({
          message_id: `s${j}`,
          mode: s.instructions[j].member === true ? 'add' : 'remove',
          audience_id: audienceIds[s.instructions[j].audience as number]
        }))
        const actualHistory = applied.map(({ message_id, mode, audience_id }) => ({ message_id, mode, audience_id }))
        if (JSON.stringify(actualHistory) !== JSON.stringify(expectedHistory)) {
          out.push(`history ${brief(actualHistory)}\n  expected ${brief(expectedHistory)}`)
        }

        // Each audience's members are the people whose last accepted instruction added them.
        const byContact = new Map(seen.contacts.map((contact) => [contact.id, personOf(contact)]))
        audienceIds.forEach((id, a) => {
          const last = new Map<number, 'add' | 'remove'>()
          for (const j of delivered) {
            const instruction = s.instructions[j]
            if (instruction.audience !== a) continue
            const mode = instruction.member === true ? 'add' : 'remove'
            if (mode === 'remove' && last.get(instruction.person) === 'add') met.removedAfterAdded++
            last.set(instruction.person, mode)
          }
          const expectedMembers = [...last].filter(([, mode]) => mode === 'add').map(([person]) => person)
          const audience = seen.audiences.find((candidate) => candidate.id === id)
          const members = (audience?.member_ids ?? []).map((contactId) => byContact.get(contactId))
          const sorted = (list: Array<number | undefined>) => JSON.stringify([...list].sort())
          if (sorted(members) !== sorted(expectedMembers)) {
            out.push(`audience ${a}: members ${brief(members)}, expected ${brief(expectedMembers)}`)
          }
        })

        // The computation key told the destination the membership; it is no contact trait.
        for (const contact of seen.contacts) {
          if (Object.prototype.hasOwnProperty.call(contact.traits, COMPUTATION_KEY)) {
            out.push(`contact ${brief(contact)} has the computation key as a trait`)
          }
        }
        if (out.length > 0) throw new Error(`${out.join('\n')}\nresults ${brief(results.map((r) => r.status))}`)
      }),
      { seed: SEED + 2, numRuns: 60 }
    )
    for (const [situation, times] of Object.entries(met))
      expect({ situation, met: times > 0 }).toEqual({ situation, met: true })
  }, 180_000)
})
