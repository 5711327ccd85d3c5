/**
 * The Ortto audience behind each Engage audience, provided as Segment provides it. The first time
 * an audience's event is to be delivered, the destination's own createAudience makes the Ortto
 * audience (named by `context.personas.audience_settings.audienceName`, else the computation key);
 * its id is remembered by the Engage audience's `computation_id` and set as
 * `context.personas.external_audience_id` on each of that audience's events before delivery.
 * Remembered ids loaded at start (or kept across a sandbox reset) are checked once with
 * getAudience before their first use; one that no longer exists (404) is created again.
 *
 * A createAudience or getAudience that fails gives the events that needed it that failure as their
 * outcome: retryable ones (429, 5xx, time-outs) are retried as deliveries are, the others end
 * failed with the reason. After a 401, 403 or 429 nothing more of the batch is sent, as the
 * destination does within a batch. Their requests count against the key's request budget, as
 * the deliveries' do.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { Destination } from '@segment/actions-core'
import type { AudienceDestinationDefinition, JSONObject, SegmentEvent } from '@segment/actions-core'
import { isRecord, nonBlank } from './json'
import { COMPUTATION_CLASSES, type OrttoSettings, type AudienceSettings } from 'actions-ortto'
import { statusOf } from './action-calls'
import { messageOf } from './error-message'
import { readAudienceIds, writeAudienceIds, type RememberedAudience } from './audience-ids-file'
import type { NotSent, PreparedEvent } from './prepared-event'

type Definition = AudienceDestinationDefinition<OrttoSettings, AudienceSettings>

/** What an Engage event says about its audience (`context.personas`). */
interface Personas {
  computation_class?: unknown
  computation_id?: unknown
  computation_key?: unknown
  external_audience_id?: unknown
  audience_settings?: unknown
}

/** What a dry run shows of an audience: its Ortto id when known, and the call delivery would make first. */
export interface AudiencePlan {
  computationId: string
  externalId?: string
  first?:
    { call: 'createAudience'; audienceName: string; audienceSettings?: AudienceSettings } | { call: 'getAudience' }
}

/** The id a dry run fills in for an audience that delivery would first create. */
export const NOT_YET_CREATED = '<the id createAudience returns>'

/** The event's `context.personas`, when it is an object. */
export const personasOf = (event: SegmentEvent): Personas | undefined => {
  const context: unknown = event.context
  const personas: unknown = isRecord(context) ? context.personas : undefined
  return isRecord(personas) ? personas : undefined
}

/**
 * The personas of an event whose Ortto audience the pipeline provides: an audience or journey
 * step without an id of its own. Any other event goes as it is: the destination refuses one that
 * is no audience event with its own reason, and an id the sender gives speaks for Segment.
 */
function audienceToProvide(event: SegmentEvent): Personas | undefined {
  const personas = personasOf(event)
  const engageClass = Object.values<unknown>(COMPUTATION_CLASSES).includes(personas?.computation_class)
  return engageClass && !nonBlank(personas?.external_audience_id) ? personas : undefined
}

/** The Engage audience's id, by which its Ortto audience is remembered; undefined when blank or not a string. */
const computationIdOf = (personas: Personas): string | undefined => nonBlank(personas.computation_id)

const withAudienceId = (event: SegmentEvent, personas: Personas, externalId: string): SegmentEvent => ({
  ...event,
  context: { ...event.context, personas: { ...personas, external_audience_id: externalId } as JSONObject }
})

/**
 * createAudience's input from the event: audience_settings.audienceName names the audience when
 * given, else the computation key. The name goes as the event has it: actions-core checks it
 * against the audience fields, and the destination refuses a blank one.
 */
function createInput(personas: Personas): { audienceName: string; audienceSettings?: AudienceSettings } {
  const settings = personas.audience_settings
  const audienceSettings =
    isRecord(settings) && settings.audienceName !== undefined
      ? ({ audienceName: settings.audienceName } as AudienceSettings)
      : undefined
  const key = personas.computation_key
  return { audienceName: typeof key === 'string' ? key : '', ...(audienceSettings && { audienceSettings }) }
}

const HALTING = new Set([401, 403, 429])

type Found = { ok: true; externalId: string } | { ok: false; notSent: NotSent }

/** A call that failed: its status, Ortto's text when there was one, and the reason prefixed with what was done. */
type Failed = { ok: false; status: number; errortype?: string; message: string; body?: string }

export class EngageAudiences {
  /** Per computation_id: the Ortto audience, and whether it was checked (or created) in this run. */
  private readonly known = new Map<string, RememberedAudience & { checked: boolean }>()
  private readonly destination: Destination<OrttoSettings, AudienceSettings>
  /** The requests an audience call makes and the text of each answer it gets, kept for the call that is running. */
  private readonly calls = new AsyncLocalStorage<{ requests: number; answers: string[] }>()
  /** Look-ups under way, by computation_id: batches sent at once share one instead of each creating the audience. */
  private readonly lookups = new Map<string, Promise<Found>>()

  constructor(
    definition: Definition,
    private readonly settings: OrttoSettings,
    private readonly log: (line: string) => void,
    /** Where the ids are kept across restarts (audience-ids-file.ts); in memory only when unset. */
    private readonly file?: string
  ) {
    const countRequest = () => {
      const call = this.calls.getStore()
      if (call) call.requests++
    }
    const recordAnswer = (_request: unknown, _options: unknown, response: Response) => {
      const content = (response as { content?: unknown }).content
      if (typeof content === 'string') this.calls.getStore()?.answers.push(content)
    }
    // The same definition, with each request counted (Ortto's request budget pays for it) and each
    // answer's text kept so that a 429's try-in-seconds can be honoured.
    this.destination = new Destination<OrttoSettings, AudienceSettings>({
      ...definition,
      extendRequest: (data) => ({
        ...definition.extendRequest?.(data),
        beforeRequest: [countRequest],
        afterResponse: [recordAnswer]
      })
    })
    if (file) {
      for (const [computationId, audience] of readAudienceIds(file)) {
        this.known.set(computationId, { ...audience, checked: false })
      }
    }
  }

  /** How many Engage audiences have an Ortto audience remembered. */
  get size(): number {
    return this.known.size
  }

  /** Every remembered id is checked again with getAudience before its next use (after a sandbox reset). */
  recheck(): void {
    for (const audience of this.known.values()) audience.checked = false
  }

  /**
   * Before delivery: each event with its audience's Ortto id set, or why it cannot be sent now.
   * Each audience is looked up once per batch. The requests createAudience and getAudience make go
   * to `charge`, as those of the delivery: they count against the same per-key budget.
   */
  async prepare(
    events: SegmentEvent[],
    charge: (requests: number) => void = () => undefined
  ): Promise<PreparedEvent[]> {
    const found = new Map<string, Found>()
    /** A refused key or a rate limit: the rest of the batch is not sent. */
    let halt: NotSent | undefined
    for (const event of events) {
      const personas = audienceToProvide(event)
      const computationId = personas && computationIdOf(personas)
      if (!personas || computationId === undefined || found.has(computationId)) continue
      const answer = await this.lookUp(computationId, personas, charge)
      found.set(computationId, answer)
      if (!answer.ok && HALTING.has(answer.notSent.status)) {
        halt = answer.notSent
        break
      }
    }
    return events.map((event): PreparedEvent => {
      const personas = audienceToProvide(event)
      const computationId = personas && computationIdOf(personas)
      const answer = computationId === undefined ? undefined : found.get(computationId)
      if (answer && !answer.ok) return { notSent: answer.notSent }
      if (halt)
        return { notSent: { ...halt, reason: `Not sent: an audience request of this batch failed. ${halt.reason}` } }
      if (!personas) return { event }
      if (!answer) return { notSent: noComputationId() }
      return { event: withAudienceId(event, personas, answer.externalId) }
    })
  }

  /** For a dry run, with no request: the event as delivery would send it, and what it would do first. */
  preview(event: SegmentEvent): { event: SegmentEvent; audience?: AudiencePlan } | { notSent: NotSent } {
    const personas = audienceToProvide(event)
    if (!personas) return { event }
    const computationId = computationIdOf(personas)
    if (computationId === undefined) return { notSent: noComputationId() }
    const known = this.known.get(computationId)
    if (!known) {
      const first = { call: 'createAudience' as const, ...createInput(personas) }
      return { event: withAudienceId(event, personas, NOT_YET_CREATED), audience: { computationId, first } }
    }
    const audience: AudiencePlan = {
      computationId,
      externalId: known.externalId,
      ...(!known.checked && { first: { call: 'getAudience' as const } })
    }
    return { event: withAudienceId(event, personas, known.externalId), audience }
  }

  /** audienceFor, once at a time per Engage audience (its requests charged to the batch that started it). */
  private lookUp(computationId: string, personas: Personas, charge: (requests: number) => void): Promise<Found> {
    let lookup = this.lookups.get(computationId)
    if (!lookup) {
      lookup = this.audienceFor(computationId, personas, charge).finally(() => this.lookups.delete(computationId))
      this.lookups.set(computationId, lookup)
    }
    return lookup
  }

  /** The Ortto audience of an Engage audience: remembered (checked once per run), else created. */
  private async audienceFor(
    computationId: string,
    personas: Personas,
    charge: (requests: number) => void
  ): Promise<Found> {
    const known = this.known.get(computationId)
    if (known?.checked) return { ok: true, externalId: known.externalId }
    if (known) {
      const checked = await this.call(charge, () =>
        this.destination.getAudience({ settings: this.settings, externalId: known.externalId })
      )
      if (checked.ok) {
        known.checked = true
        return { ok: true, externalId: known.externalId }
      }
      if (checked.status !== 404) {
        return notSent(
          checked,
          `getAudience could not check the Ortto audience of the Engage audience ${computationId}`
        )
      }
      this.log(
        `[audiences] the Ortto audience ${known.externalId} of the Engage audience ${computationId} no longer exists; creating it again`
      )
      this.known.delete(computationId)
    }
    const input = createInput(personas)
    const created = await this.call(charge, () =>
      this.destination.createAudience({ settings: this.settings, ...input })
    )
    if (!created.ok) {
      return notSent(
        created,
        `createAudience could not create the Ortto audience of the Engage audience ${computationId}`
      )
    }
    this.known.set(computationId, { externalId: created.externalId, computationKey: input.audienceName, checked: true })
    this.log(
      `[audiences] created the Ortto audience ${created.externalId} for the Engage audience ${computationId} (${input.audienceName})`
    )
    this.save()
    return { ok: true, externalId: created.externalId }
  }

  private async call(
    charge: (requests: number) => void,
    run: () => Promise<{ externalId: string }>
  ): Promise<{ ok: true; externalId: string } | Failed> {
    const call = { requests: 0, answers: [] as string[] }
    const { answers } = call
    try {
      const { externalId } = await this.calls.run(call, run)
      return { ok: true, externalId }
    } catch (error) {
      const code = (error as { code?: unknown } | undefined)?.code
      return {
        ok: false,
        status: statusOf(error) ?? 500,
        ...(typeof code === 'string' && { errortype: code }),
        message: messageOf(error),
        ...(answers.length > 0 && { body: answers[answers.length - 1] })
      }
    } finally {
      charge(call.requests)
    }
  }

  private save(): void {
    if (!this.file) return
    const audiences = new Map(
      [...this.known].map(([id, { externalId, computationKey }]) => [id, { externalId, computationKey }])
    )
    try {
      writeAudienceIds(this.file, audiences)
    } catch (error) {
      this.log(
        `[audiences] ${this.file} could not be saved (${messageOf(error)}); the ids are kept for this run, and at the next start each audience is created again (Ortto answers the existing one for its name)`
      )
    }
  }
}

function notSent({ status, errortype, message, body }: Failed, doing: string): Found {
  return {
    ok: false,
    notSent: {
      status,
      ...(errortype && { errortype }),
      reason: `${doing}: ${message}`,
      ...(body !== undefined && { body })
    }
  }
}

const noComputationId = (): NotSent => ({
  status: 400,
  errortype: 'PAYLOAD_VALIDATION_FAILED',
  reason:
    'context.personas.computation_id is empty or not a string: the pipeline creates one Ortto audience per Engage audience and knows it by that id, which Engage always sends.'
})
