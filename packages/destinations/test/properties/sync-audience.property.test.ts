/**
 * Property tests of Ortto (Audiences)' Sync Audience through actions-core (`executeBatch`,
 * `testAction`): random Engage events (every computation class, blank and missing audience ids
 * and computation keys, missing ids, membership values true/false/"true"/1/null/missing, traits
 * on identify or properties on track, multi-megabyte traits, batches past 500) against an Ortto
 * stand-in that answers each request with a random, recorded behaviour. (Sync Audience against
 * the Ortto sandbox, whose audiences must end up as the accepted events say, is a property test of
 * the sandbox package, which may import this package; this one imports nothing of the sandbox.)
 *
 * The oracle reads the Segment event as Segment sent it and Ortto's contract (docs/ortto-api.md),
 * never the code under test: which events are sendable, the member object each one must become,
 * and (through support.ts's `justifiedOutcome`) what each answer justifies.
 *
 * Each event's `messageId` is `m<index>`, so a result, its `sent` object and the request that
 * carried it can be matched exactly.
 */
import fc from 'fast-check'
import nock from 'nock'
import { createTestIntegration, type SegmentEvent } from '@segment/actions-core'
import definition from '../../src/destinations/ortto-audiences'
import {
  COMPUTATION_KEY,
  MEMBERS_PATH,
  syncMapping
} from '../../src/destinations/ortto-audiences/__tests__/__helpers__/audiences'
import { API_KEY } from '../../src/destinations/ortto/__tests__/__helpers__/ortto'
import {
  MAX_OBJECTS_PER_REQUEST,
  MAX_REQUEST_BYTES,
  answerSpec,
  brief,
  capturingConsole,
  concreteAnswer,
  expectedWireIp,
  installOrtto,
  isDelivered,
  justifiedOutcome,
  isRecord,
  ipValue,
  keyLeakViolations,
  keyLeaks,
  objectOf,
  originOf,
  trickyText,
  sentEventViolations,
  wellFormedKey,
  type AnswerSpec,
  type BatchResult,
  type Json,
  type RecordedRequest
} from './support'

const SEED = 20_240_310
/** One-shot interceptors per run: more than the most requests a generated batch can need. */
const SLOTS = 12
/** A computation key Engage could send for another audience; a trait of that name is an ordinary trait. */
const OTHER_KEY = 'churn_risk'
/** Keys Segment's own mapping takes from the payload and Ortto must never see. */
const MAPPING_ONLY_KEYS = [
  'segment_computation_action',
  'computation_key',
  'external_audience_id',
  'enable_batching',
  'batch_size'
]
/** The keys of an audience member object (docs/ortto-api.md, "Audience members"). */
const MEMBER_KEYS = new Set(['user_id', 'anonymous_id', 'ip', 'location', 'traits', 'message_id', 'audience'])
/** Ortto's key rule, as the contract states it: `<p|s><two letters a–z>-<visible ASCII>`. */
const ORTTO_KEY_SHAPE = /^[ps][a-z]{2}-[\x21-\x7e]+$/

// ---------------------------------------------------------------------------------------------
// Engage events, as data

/** An id: `tagged` ones become `<index>:<text>` (unique per run); `raw` ones are sent as they are. */
type IdSpec = { tagged: string } | { raw: '' | '  ' | '\u00a0' | undefined }

interface PersonasSpec {
  computationClass: Json | undefined
  audienceId: Json | undefined
  computationKey: Json | undefined
}

/** Where the traits object the Traits field reads sits (its default: properties if present, else traits). */
type Carrier = 'traits' | 'properties' | 'none'

interface EventSpec {
  kind: 'identify' | 'track'
  personas: PersonasSpec | undefined
  userId: IdSpec
  anonymousId: IdSpec
  carrier: Carrier
  /** Ordinary traits (or properties), in order; some names are '' or another audience's key. */
  extra: Array<[string, Json]>
  /** Under which name the membership value rides, and the value (undefined: not there at all). */
  memberKey: string
  member: Json | undefined
  /** A `notes` trait of `count` characters `unit`, built only when the event is. */
  blob?: { unit: string; count: number }
  /** An `ip` trait (or property), which the IP Address field also reads; none when undefined. */
  ip?: string
}

const leafValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: trickyText(12) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constantFrom<Json>(null, '') }
)

/** An object whose names include '' (left out at every depth) and the computation key (kept: not top level). */
const nestedValue: fc.Arbitrary<Json> = fc
  .array(fc.tuple(fc.constantFrom('', 'tier', 'x', COMPUTATION_KEY), leafValue), { maxLength: 3 })
  .map((entries) => objectOf(entries) as Json)

const traitValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: leafValue },
  { weight: 1, arbitrary: nestedValue },
  { weight: 1, arbitrary: fc.array(nestedValue, { maxLength: 2 }) }
)

// No name a contact field reads (country, state, city, postal_code): those would fill the Location
// field, which is the core's business, not this suite's. `ip` comes from its own spec, below.
const traitName = fc.constantFrom('plan', 'email', 'score', 'profile', 'tags', 'Plan', 'a.b', '😀', '', OTHER_KEY)

const memberValue: fc.Arbitrary<Json | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<Json>(true, false) },
  { weight: 2, arbitrary: fc.constantFrom<Json | undefined>('true', 1, 0, null, 'false', 'yes', undefined) }
)

const personasSpec: fc.Arbitrary<PersonasSpec> = fc.record({
  computationClass: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom<Json>('audience', 'journey_step') },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Json | undefined>(
        'trait',
        'computed_trait',
        'identify',
        'Audience',
        '',
        null,
        undefined
      )
    }
  ),
  audienceId: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom<Json>('aud-1', 'aud-2') },
    { weight: 1, arbitrary: fc.constantFrom<Json | undefined>('', ' ', '\t\n', null, undefined) }
  ),
  computationKey: fc.oneof(
    { weight: 8, arbitrary: fc.constant<Json>(COMPUTATION_KEY) },
    { weight: 1, arbitrary: fc.constantFrom<Json | undefined>(OTHER_KEY, '', '  ', null, undefined) }
  )
})

const idSpec = (taggedWeight: number): fc.Arbitrary<IdSpec> =>
  fc.oneof(
    { weight: taggedWeight, arbitrary: trickyText(10).map((tagged): IdSpec => ({ tagged })) },
    { weight: 1, arbitrary: fc.constantFrom<IdSpec>({ raw: undefined }, { raw: '' }, { raw: '  ' }, { raw: '\u00a0' }) }
  )

const eventSpec: fc.Arbitrary<EventSpec> = fc.record({
  kind: fc.constantFrom<'identify' | 'track'>('identify', 'track'),
  personas: fc.option(personasSpec, { freq: 12, nil: undefined }),
  userId: idSpec(4),
  anonymousId: idSpec(1),
  carrier: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom<Carrier>('traits', 'properties') },
    { weight: 1, arbitrary: fc.constant<Carrier>('none') }
  ),
  extra: fc.array(fc.tuple(traitName, traitValue), { maxLength: 5 }),
  memberKey: fc.oneof(
    { weight: 8, arbitrary: fc.constant(COMPUTATION_KEY) },
    { weight: 1, arbitrary: fc.constant(OTHER_KEY) }
  ),
  member: memberValue,
  ip: fc.option(ipValue, { freq: 2, nil: undefined })
})

/** A valid Engage identify call: what most of a 1,000-event batch looks like. */
const plainEvent = (member: boolean): EventSpec => ({
  kind: 'identify',
  personas: { computationClass: 'audience', audienceId: 'aud-1', computationKey: COMPUTATION_KEY },
  userId: { tagged: 'u' },
  anonymousId: { raw: undefined },
  carrier: 'traits',
  extra: [['plan', 'pro']],
  memberKey: COMPUTATION_KEY,
  member
})

/** Bytes one unit takes in JSON. */
const jsonBytesOf = (unit: string) => Buffer.byteLength(JSON.stringify(unit)) - 2

/**
 * Traits of a size far from the request limit on either side: a few fit together or alone,
 * one of 2,000,000 bytes or more can never be sent.
 */
const blob = fc
  .record({
    unit: fc.constantFrom('x', 'é', '😀'),
    bytes: fc.oneof(
      { weight: 5, arbitrary: fc.integer({ min: 300_000, max: 1_100_000 }) },
      { weight: 1, arbitrary: fc.integer({ min: MAX_REQUEST_BYTES, max: 2_100_000 }) }
    )
  })
  .map(({ unit, bytes }) => ({ unit, count: Math.ceil(bytes / jsonBytesOf(unit)) }))

const blobBytesOf = (spec: EventSpec) => (spec.blob ? spec.blob.count * jsonBytesOf(spec.blob.unit) : 0)

/** Events, plus a count of plain events after them (kept as a count so a counter-example prints short). */
const batchSpec: fc.Arbitrary<{ events: EventSpec[]; plainTail: number }> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.array(eventSpec, { minLength: 1, maxLength: 60 }).map((events) => ({ events, plainTail: 0 }))
  },
  {
    // Crosses the 500-objects-per-request limit, once or twice.
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 501, max: 1100 }), fc.array(eventSpec, { maxLength: 5 }))
      .map(([n, events]) => ({ events, plainTail: n - events.length }))
  },
  {
    // Crosses the 2,000,000-bytes-per-request limit (and sometimes one member alone is too big).
    weight: 1,
    arbitrary: fc.array(blob, { minLength: 2, maxLength: 4 }).map((blobs) => ({
      events: blobs.map((b, i): EventSpec => ({ ...plainEvent(i % 2 === 0), blob: b })),
      plainTail: 0
    }))
  }
)

const tagOf = (index: number) => `m${index}`

const idOf = (spec: IdSpec, index: number): string | undefined =>
  'tagged' in spec ? `${index}:${spec.tagged}` : spec.raw

/** The Segment event a spec stands for, as it arrives from Segment (JSON: no undefined values). */
function buildEvent(spec: EventSpec, index: number): SegmentEvent {
  const entries: Array<[string, unknown]> = [...spec.extra]
  if (spec.member !== undefined) entries.push([spec.memberKey, spec.member])
  if (spec.blob) entries.push(['notes', spec.blob.unit.repeat(spec.blob.count)])
  if (spec.ip !== undefined) entries.push(['ip', spec.ip])
  const bag = objectOf(entries)
  const personas = spec.personas && {
    computation_class: spec.personas.computationClass,
    computation_key: spec.personas.computationKey,
    computation_id: 'aud_2abc',
    external_audience_id: spec.personas.audienceId
  }
  const event = {
    type: spec.kind,
    event: spec.kind === 'track' ? 'Audience Entered' : undefined,
    messageId: tagOf(index),
    userId: idOf(spec.userId, index),
    anonymousId: idOf(spec.anonymousId, index),
    timestamp: '2024-03-01T10:00:00.000Z',
    // A track call's traits, when it has both, are not what the Traits field reads.
    traits: spec.carrier === 'traits' ? bag : spec.carrier === 'properties' ? { plan: 'ignored' } : undefined,
    properties: spec.carrier === 'properties' ? bag : undefined,
    context: personas ? { personas } : {}
  }
  return JSON.parse(JSON.stringify(event)) as SegmentEvent
}

// ---------------------------------------------------------------------------------------------
// The oracle: what each event must become

const nonBlank = (value: unknown): string | undefined =>
  typeof value === 'string' && /\S/.test(value) ? value : undefined

/** `value` without names that are '' at any depth of nested objects (not inside arrays), and without `leftOut` at the top. */
function cleaned(value: Record<string, unknown>, leftOut?: string): Record<string, unknown> {
  const out: Array<[string, unknown]> = []
  for (const name of Object.keys(value)) {
    if (name === '' || name === leftOut) continue
    const inner = value[name]
    out.push([name, isRecord(inner) ? cleaned(inner) : inner])
  }
  return objectOf(out)
}

type Expected =
  | { kind: 'invalid'; why: string }
  | { kind: 'too-large' }
  | { kind: 'send'; member: Record<string, unknown>; mode: 'add' | 'remove' }

function expectedOf(event: SegmentEvent, spec: EventSpec): Expected {
  const personas = (event.context as { personas?: Record<string, unknown> } | undefined)?.personas ?? {}
  const computationClass = personas.computation_class
  if (computationClass !== 'audience' && computationClass !== 'journey_step') {
    return { kind: 'invalid', why: 'class' }
  }
  const audienceId = nonBlank(personas.external_audience_id)
  if (!audienceId) return { kind: 'invalid', why: 'audience id' }
  const key = nonBlank(personas.computation_key)
  if (!key) return { kind: 'invalid', why: 'computation key' }
  const carrier = isRecord(event.properties) ? event.properties : isRecord(event.traits) ? event.traits : undefined
  if (!carrier) return { kind: 'invalid', why: 'no traits object' }
  const userId = nonBlank(event.userId)
  const anonymousId = nonBlank(event.anonymousId)
  if (!userId && !anonymousId) return { kind: 'invalid', why: 'ids' }
  if (blobBytesOf(spec) >= MAX_REQUEST_BYTES) return { kind: 'too-large' }

  const entered = Object.prototype.hasOwnProperty.call(carrier, key) && carrier[key] === true
  const mode = entered ? 'add' : 'remove'
  const traits = cleaned(carrier, key)
  const member: Record<string, unknown> = {}
  if (userId) member.user_id = userId
  if (anonymousId) member.anonymous_id = anonymousId
  // The IP Address field reads the same trait (or property): only an address Ortto takes goes.
  const ip = expectedWireIp(carrier.ip)
  if (ip !== undefined) member.ip = ip
  if (Object.keys(traits).length > 0) member.traits = traits
  member.message_id = event.messageId
  member.audience = { mode, id: audienceId }
  return { kind: 'send', member, mode }
}

/** JSON with every object's names sorted, so two objects compare by content alone. */
function canonical(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort)
    if (!isRecord(v)) return v
    return objectOf(
      Object.keys(v)
        .sort()
        .map((name) => [name, sort(v[name])])
    )
  }
  return JSON.stringify(sort(value))
}

// ---------------------------------------------------------------------------------------------
// Scenarios against a nock stand-in

interface Scenario {
  key: string
  events: EventSpec[]
  plainTail: number
  answers: AnswerSpec[]
}

const apiKey = fc.oneof(
  { weight: 8, arbitrary: fc.constant(API_KEY) },
  { weight: 1, arbitrary: wellFormedKey },
  { weight: 1, arbitrary: fc.constantFrom('pa/-xSecret9', 'PAU-Secret9', 'pau_Secret9', 'xau-Secret9') }
)

const scenario: fc.Arbitrary<Scenario> = fc
  .record({ key: apiKey, batch: batchSpec, answers: fc.array(answerSpec(), { minLength: 1, maxLength: 4 }) })
  .map(({ batch, ...rest }): Scenario => ({ ...rest, ...batch }))

const specsOf = (s: Scenario): EventSpec[] => [
  ...s.events,
  ...Array.from({ length: s.plainTail }, (_, i) => plainEvent(i % 3 !== 0))
]

interface Run {
  specs: EventSpec[]
  events: SegmentEvent[]
  results: BatchResult[]
  requests: RecordedRequest[]
  logs: string[]
}

async function runScenario(s: Scenario): Promise<Run> {
  const specs = specsOf(s)
  const events = specs.map(buildEvent)
  const origin = originOf(ORTTO_KEY_SHAPE.test(s.key) ? s.key : API_KEY)
  const ortto = installOrtto(
    origin,
    MEMBERS_PATH,
    SLOTS,
    (k, n) => concreteAnswer(s.answers[k % s.answers.length], n, s.key),
    'PUT'
  )
  try {
    const { value, lines } = await capturingConsole(async () => {
      try {
        return await createTestIntegration(definition).executeBatch('syncAudience', {
          events,
          mapping: syncMapping(),
          settings: { api_key: s.key }
        })
      } catch (error) {
        throw new Error(`(a) executeBatch threw: ${error instanceof Error ? error.message : String(error)}`)
      }
    })
    return { specs, events, results: value, requests: ortto.requests, logs: lines }
  } finally {
    nock.abortPendingRequests()
    nock.cleanAll()
  }
}

const HALTING_STATUSES = new Set([401, 403, 429])

const messageIdOf = (value: unknown): string | undefined => {
  const id = isRecord(value) ? value.message_id : undefined
  return typeof id === 'string' ? id : undefined
}

/** Every broken invariant of one run, as readable lines (empty when the run is correct). */
function violations(s: Scenario, run: Run): string[] {
  const out: string[] = []
  const { events, results, requests } = run
  const expected = events.map((event, i) => expectedOf(event, run.specs[i]))

  // (b) exactly one result per event, in Segment's order
  if (results.length !== events.length) out.push(`(b) ${events.length} events but ${results.length} results`)

  // (g) every request within Ortto's limits, and nothing sent after a request that halts
  const halt = requests.findIndex((r) => r.answer.kind === 'http' && HALTING_STATUSES.has(r.answer.status))
  if (halt >= 0 && requests.length > halt + 1) {
    out.push(
      `(g) ${requests.length - halt - 1} requests sent after request ${halt} was answered ${brief(requests[halt].answer)}`
    )
  }
  requests.forEach((r, k) => {
    if (r.objects.length === 0 || r.objects.length > MAX_OBJECTS_PER_REQUEST)
      out.push(`(g) request ${k}: ${r.objects.length} objects`)
    if (r.bytes > MAX_REQUEST_BYTES) out.push(`(g) request ${k}: ${r.bytes} bytes`)
  })

  // (h) what went out is exactly the sendable events, in order, cut short only by a halt
  const keyUsable = ORTTO_KEY_SHAPE.test(s.key)
  const sendable = expected.flatMap((e, i) => (e.kind === 'send' && keyUsable ? [tagOf(i)] : []))
  const sent = requests.flatMap((r) => r.objects.map(messageIdOf))
  const whole = JSON.stringify(sent) === JSON.stringify(sendable)
  const prefix = JSON.stringify(sent) === JSON.stringify(sendable.slice(0, sent.length))
  if (!(whole || (halt >= 0 && prefix))) out.push(`(h) sent ${brief(sent)} instead of ${brief(sendable)}`)

  const where = new Map<string, { request: number; position: number }>()
  requests.forEach((r, k) =>
    r.objects.forEach((o, position) => where.set(messageIdOf(o) ?? '', { request: k, position }))
  )

  for (let i = 0; i < events.length; i++) {
    const result = results[i]
    const at = `event ${i}`
    if (!result) continue
    const e = expected[i]
    const carried = where.get(tagOf(i))
    if (!isDelivered(result)) {
      if (typeof result.errormessage !== 'string' || result.errormessage.trim() === '') {
        out.push(`(f) ${at} failed (${result.status}) without a message`)
      }
      if (!Number.isInteger(result.status) || result.status < 400 || result.status > 599) {
        out.push(`(f) ${at} has status ${result.status}`)
      }
    }

    if (e.kind === 'invalid') {
      // (i) refused before any request: 400, never on the wire, no `sent`
      if (result.status !== 400 || result.errortype !== 'PAYLOAD_VALIDATION_FAILED') {
        out.push(`(i) ${at} (invalid: ${e.why}) got ${brief(result)}`)
      }
      if (carried) out.push(`(i) ${at} (invalid: ${e.why}) was sent`)
      if (result.sent !== undefined) out.push(`(i) ${at} (invalid) claims it sent ${brief(result.sent)}`)
      continue
    }
    if (!keyUsable) {
      if (result.status !== 401 || result.errortype !== 'INVALID_AUTHENTICATION') {
        out.push(`(k) ${at}: a malformed key must fail it with 401 INVALID_AUTHENTICATION, got ${brief(result)}`)
      }
      continue
    }
    if (e.kind === 'too-large') {
      if (result.status !== 413 || carried || result.sent !== undefined)
        out.push(`(j) ${at} (too large) got ${brief(result)}`)
      continue
    }

    if (!carried) {
      // Sendable but not sent: only after a halt, failing as the halting request did.
      const halted = halt >= 0 ? requests[halt].answer : undefined
      const haltStatus = halted?.kind === 'http' ? halted.status : undefined
      if (result.status !== haltStatus || !result.errormessage?.startsWith('Not sent:') || result.sent !== undefined) {
        out.push(`(c) ${at} was not sent; halted by ${brief(halted)}, its result is ${brief(result)}`)
      }
      continue
    }

    // (w) the member on the wire is exactly the one the event stands for
    const received = requests[carried.request].objects[carried.position]
    if (canonical(received) !== canonical(e.member)) {
      out.push(`(w) ${at}: Ortto got ${brief(received)}, expected ${brief(e.member)}`)
    }
    if (isRecord(received)) {
      const strange = Object.keys(received).filter((name) => !MEMBER_KEYS.has(name) || MAPPING_ONLY_KEYS.includes(name))
      if (strange.length > 0) out.push(`(w) ${at}: keys not Ortto's on the wire: ${brief(strange)}`)
    }
    // (d) its `sent` is what Ortto received; (c) delivered exactly when the answer justifies it
    out.push(...sentEventViolations(at, result, requests, carried))
  }

  // (e) the key shows in no result and no log line
  out.push(...keyLeakViolations(results, run.logs, s.key))
  return out
}

/** How often each situation came up, so a property that never meets one cannot pass quietly. */
const coverage = {
  runsSplitByCount: 0,
  runsSplitBySize: 0,
  runsHaltedWithMoreToSend: 0,
  runsWithAMalformedKey: 0,
  membersAdded: 0,
  membersRemoved: 0,
  membersRemovedForANonBooleanTrue: 0,
  membersWithoutTraits: 0,
  eventsFailedByTheirOwnErrorEntry: 0,
  eventsDeliveredBesideAnErrorEntry: 0,
  eventsFailedByAWholeRequestAnswer: 0,
  eventsTooLarge: 0,
  refusedForTheirClass: 0,
  refusedForTheAudienceId: 0,
  refusedForTheComputationKey: 0,
  refusedForTheirIds: 0,
  refusedWithoutTraits: 0,
  membersWithTheirIp: 0,
  membersWithTheirIpLeftOff: 0
}

const REFUSAL_COUNTERS: Record<string, keyof typeof coverage> = {
  class: 'refusedForTheirClass',
  'audience id': 'refusedForTheAudienceId',
  'computation key': 'refusedForTheComputationKey',
  ids: 'refusedForTheirIds',
  'no traits object': 'refusedWithoutTraits'
}

function count(s: Scenario, run: Run): void {
  const { requests, results } = run
  if (requests.some((r) => r.objects.length === MAX_OBJECTS_PER_REQUEST) && requests.length > 1)
    coverage.runsSplitByCount++
  if (requests.length > 1 && requests.some((r) => r.bytes > MAX_REQUEST_BYTES / 4)) coverage.runsSplitBySize++
  const halt = requests.findIndex((r) => r.answer.kind === 'http' && HALTING_STATUSES.has(r.answer.status))
  if (halt >= 0 && results.some((r) => r.errormessage?.startsWith('Not sent:'))) coverage.runsHaltedWithMoreToSend++
  if (!ORTTO_KEY_SHAPE.test(s.key)) coverage.runsWithAMalformedKey++
  for (const r of requests) {
    for (const member of r.objects) {
      const audience = isRecord(member) ? member.audience : undefined
      if (!isRecord(member) || !isRecord(audience)) continue
      if (audience.mode === 'add') coverage.membersAdded++
      if (audience.mode === 'remove') coverage.membersRemoved++
      if (!('traits' in member)) coverage.membersWithoutTraits++
    }
  }
  const anyListed = results.some((r) => r.errormessage?.startsWith('Ortto rejected this event'))
  run.events.forEach((event, i) => {
    const e = expectedOf(event, run.specs[i])
    const result = results[i]
    if (e.kind === 'invalid') coverage[REFUSAL_COUNTERS[e.why]]++
    if (e.kind === 'too-large') coverage.eventsTooLarge++
    if (e.kind !== 'send' || !result) return
    const ip = run.specs[i].ip
    if (ip !== undefined)
      coverage[expectedWireIp(ip) === undefined ? 'membersWithTheirIpLeftOff' : 'membersWithTheirIp']++
    const value = run.specs[i].member
    if (e.mode === 'remove' && value !== false && value !== undefined) coverage.membersRemovedForANonBooleanTrue++
    const message = result.errormessage ?? ''
    if (message.startsWith('Ortto rejected this event')) coverage.eventsFailedByTheirOwnErrorEntry++
    if (isDelivered(result) && anyListed) coverage.eventsDeliveredBesideAnErrorEntry++
    if (!isDelivered(result) && result.sent !== undefined && /the request|API key|rate limit/.test(message)) {
      coverage.eventsFailedByAWholeRequestAnswer++
    }
  })
}

describe('syncAudience through executeBatch: one honest result per event, whatever Engage sends and Ortto answers', () => {
  it('holds for random Engage events and random answers (numRuns 150)', async () => {
    for (const situation of Object.keys(coverage) as Array<keyof typeof coverage>) coverage[situation] = 0
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const run = await runScenario(s)
        count(s, run)
        const found = violations(s, run)
        if (found.length > 0) {
          const requests = run.requests.map((r) => ({ objects: r.objects.length, bytes: r.bytes, answer: r.answer }))
          throw new Error(`${found.slice(0, 8).join('\n')}\n(${found.length} in all)\nrequests: ${brief(requests)}`)
        }
      }),
      { seed: SEED, numRuns: 150 }
    )
    for (const [situation, times] of Object.entries(coverage)) {
      expect({ situation, met: times > 0 }).toEqual({ situation, met: true })
    }
  }, 180_000)
})

// ---------------------------------------------------------------------------------------------
// Single mode

describe('syncAudience through perform: it throws exactly when its event was not delivered', () => {
  const single = fc.record({
    spec: eventSpec,
    answer: answerSpec()
  })

  it('holds for random Engage events and random answers (numRuns 120)', async () => {
    const met = { delivered: 0, refusedBeforeSending: 0, failedByOrtto: 0 }
    await fc.assert(
      fc.asyncProperty(single, async ({ spec, answer }) => {
        const event = buildEvent(spec, 0)
        const e = expectedOf(event, spec)
        const ortto = installOrtto(
          originOf(API_KEY),
          MEMBERS_PATH,
          2,
          (_k, n) => concreteAnswer(answer, n, API_KEY),
          'PUT'
        )
        try {
          let thrown: (Error & { status?: number }) | undefined
          try {
            await createTestIntegration(definition).testAction('syncAudience', {
              // testAction fills every key the event lacks with createTestEvent's (properties: {},
              // userId 'user1234'…); named as undefined, the event stays as Segment sent it.
              event: { userId: undefined, anonymousId: undefined, traits: undefined, properties: undefined, ...event },
              mapping: syncMapping(),
              settings: { api_key: API_KEY }
            })
          } catch (error) {
            thrown = error as Error & { status?: number }
          }
          const out: string[] = []
          if (e.kind !== 'send') {
            met.refusedBeforeSending++
            if (!thrown) out.push(`an event that must not be sent (${brief(e)}) was reported delivered`)
            if (ortto.requests.length > 0) out.push(`an event that must not be sent went out: ${brief(ortto.requests)}`)
          } else {
            const [request, ...more] = ortto.requests
            if (!request || more.length > 0) out.push(`${ortto.requests.length} requests for one event`)
            else {
              if (canonical(request.objects) !== canonical([e.member])) {
                out.push(`Ortto got ${brief(request.objects)}, expected ${brief([e.member])}`)
              }
              const justified = justifiedOutcome(request.answer, 1, 0)
              if (justified.ok) met.delivered++
              else met.failedByOrtto++
              if (justified.ok && thrown) out.push(`threw ${thrown.message} although ${justified.why}`)
              if (!justified.ok && !thrown) out.push(`resolved although ${justified.why}`)
              if (thrown && justified.status !== undefined && thrown.status !== justified.status) {
                out.push(`threw status ${thrown.status}, expected ${justified.status} (${justified.why})`)
              }
            }
          }
          if (thrown && keyLeaks(thrown, API_KEY).length > 0) out.push(`the error shows the key: ${thrown.message}`)
          if (out.length > 0) throw new Error(`${out.join('\n')}\nevent ${brief(event)}`)
        } finally {
          nock.abortPendingRequests()
          nock.cleanAll()
        }
      }),
      { seed: SEED + 1, numRuns: 120 }
    )
    for (const [situation, times] of Object.entries(met))
      expect({ situation, met: times > 0 }).toEqual({ situation, met: true })
  }, 120_000)
})
