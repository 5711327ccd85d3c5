/**
 * POST /dry-run: what delivering an event would do, with nothing sent. Each event goes, alone,
 * through `Destination.onBatch` for every subscription it matches (the entry point and batch path
 * the delivery queue uses), on a copy of the definition whose actions get a request client that
 * records each request and answers it with an empty 200 instead of sending it. The payload, the
 * request and any failure are therefore the destination's own: nothing here knows Ortto's shapes.
 * An Engage event is first given its audience's Ortto id as delivery would give it (`preview`),
 * with no request: a dry run never creates an audience, it says that delivery would.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { Destination, Headers, Response, createRequestClient } from '@segment/actions-core'
import type { DestinationDefinition, JSONObject, RequestClient, SegmentEvent } from '@segment/actions-core'
import type { RequestOptions } from '@segment/actions-core'
import { transformBatch } from '@segment/actions-core/mapping-kit'
import { isRecord } from './json'
import { ActionCalls, bodyText, shownHeaders, statusOf, type Exchange } from './action-calls'
import { messageOf } from './error-message'
import type { NotSent } from './prepared-event'
import type { PipelineDestination } from './destinations'
import type { AudiencePlan } from './engage-audiences'
import { withSubscription, type MatchableSubscription } from './subscriptions'
import type { WriteKeyGate } from './write-key'

/**
 * What delivery would make of an event before sending it, with no request (an Engage event gets
 * its audience's Ortto id): the event, and the audience call delivery would make first.
 */
type PreviewEvent = (
  subscription: MatchableSubscription,
  event: SegmentEvent
) => { event: SegmentEvent; audience?: AudiencePlan } | { notSent: NotSent }

/** One subscription's part in delivering one event. */
interface PlannedDelivery {
  subscription: string
  partnerAction: string
  /** What the mapping makes of the event: the payload the action gets (or, when the field schema refuses it, the mapped values it refused). */
  payload?: JSONObject
  /** Whether the destination would take it: send it, or acknowledge it without a request. */
  valid: boolean
  /** Why not, when it would not. */
  failure?: { status: number; errortype?: string; reason: string }
  /** The requests delivering this event alone would make, as they would go out (secret headers `<redacted>`). */
  requests: Array<Exchange['request']>
  /** Taken without a request: the destination's reason. */
  note?: string
  /** An Engage event's audience: its Ortto id, or the call delivery would make first to get it. */
  audience?: AudiencePlan
}

export interface PlannedEvent {
  /** The event's place in the call (0 for a single event). */
  index: number
  messageId: string
  type: string
  subscriptions: PlannedDelivery[]
  /** Set when no subscription matches the event: what it was matched against. */
  unsubscribed?: string
}

/** What one onBatch run recorded. */
interface Recording {
  payloads: JSONObject[]
  requests: Array<Exchange['request']>
}

/** Thrown by the recording client's last before-request hook, with the request as it would go. */
class Stopped extends Error {
  constructor(readonly options: RequestOptions) {
    super('a dry run sends nothing')
  }
}

function requestOf(url: string, options: RequestOptions): Exchange['request'] {
  const target = new URL(url)
  if (options.searchParams)
    target.search = new URLSearchParams(options.searchParams as Record<string, string>).toString()
  const headers = new Headers(options.headers)
  // What actions-core's client adds for a `json` body when it builds the request.
  if (options.json !== undefined) headers.set('content-type', 'application/json')
  return {
    url: target.toString(),
    method: String(options.method),
    headers: shownHeaders(headers),
    body: bodyText(options.body)
  }
}

/** An empty 200, as a response that went through actions-core's own response hooks reads. */
function acceptedAnswer(): Response {
  const response = new Response('{}', { status: 200, headers: { 'content-type': 'application/json' } })
  return Object.assign(response, { content: '{}', data: {} })
}

export class DryRun<Settings> {
  private readonly recording = new AsyncLocalStorage<Recording>()
  /** Per pipeline destination: one that records its requests, and its calls (to remove the API key from every answer). */
  private readonly recorders: Map<
    PipelineDestination,
    { destination: Destination<Settings>; calls: ActionCalls<Settings> }
  >

  constructor(
    destinations: readonly PipelineDestination[],
    private readonly settings: Settings,
    /** The subscriptions in force at each call (a reload replaces them). */
    private readonly subscriptionsInForce: () => readonly MatchableSubscription[],
    gate: WriteKeyGate,
    private readonly preview?: PreviewEvent
  ) {
    this.recorders = new Map(
      destinations.map((pipelineDestination) => {
        const definition = pipelineDestination.definition as unknown as DestinationDefinition<Settings>
        const destination = new Destination(this.recordingDefinition(definition))
        return [pipelineDestination, { destination, calls: new ActionCalls(definition, settings, gate) }]
      })
    )
  }

  /** Each event's plan, in order; `indexes` are their places in the call. */
  async plan(events: SegmentEvent[], indexes: number[]): Promise<PlannedEvent[]> {
    const planned: PlannedEvent[] = []
    for (const [i, event] of events.entries()) {
      const matching = this.subscriptionsInForce().filter((subscription) => subscription.matches(event))
      const deliveries: PlannedDelivery[] = []
      for (const subscription of matching) {
        const plannedDelivery = await this.planOne(event, subscription)
        deliveries.push(this.recorderOf(subscription).calls.redact(plannedDelivery) as PlannedDelivery)
      }
      planned.push({
        index: indexes[i],
        messageId: String(event.messageId),
        type: String(event.type),
        subscriptions: deliveries,
        ...(matching.length === 0 && { unsubscribed: this.unsubscribed(event) })
      })
    }
    return planned
  }

  /** Why an event matches nothing: the subscriptions of the destinations that take it, with their triggers. */
  private unsubscribed(event: SegmentEvent): string {
    const takers = [...this.recorders.keys()].filter((destination) => destination.takes(event))
    const where = takers.map((d) => `${d.definition.name}, which takes ${d.takesWhat}`).join('; or ')
    const candidates = this.subscriptionsInForce().filter((s) => takers.includes(s.destination))
    const list = candidates.map((s) => `${s.name} (${s.subscribe})`).join(', ')
    return `matches no subscription of ${where}: ${list || 'it has none'}`
  }

  private recorderOf(subscription: MatchableSubscription) {
    const recorder = this.recorders.get(subscription.destination)
    if (!recorder) throw new Error(`the dry run has no ${subscription.destination.definition.name}`)
    return recorder
  }

  private async planOne(taken: SegmentEvent, subscription: MatchableSubscription): Promise<PlannedDelivery> {
    const { name, partnerAction, mapping } = subscription
    const recording: Recording = { payloads: [], requests: [] }
    const prepared = this.preview?.(subscription, taken) ?? { event: taken }
    if ('notSent' in prepared) {
      const { status, errortype, reason } = prepared.notSent
      const failure = { status, ...(errortype && { errortype }), reason }
      return { subscription: name, partnerAction, valid: false, failure, requests: [] }
    }
    const { event, audience } = prepared
    const base = { subscription: name, partnerAction, ...(audience && { audience }) }
    const { destination } = this.recorderOf(subscription)
    let entry: unknown
    try {
      const settings = withSubscription(this.settings, subscription)
      const results = await this.recording.run(recording, () => destination.onBatch([event], settings))
      entry = results[0]?.multistatus?.[0]
    } catch (error) {
      const reason = `the destination could not process this event (${messageOf(error)})`
      return {
        ...base,
        payload: recording.payloads[0],
        valid: false,
        failure: { status: statusOf(error) ?? 400, reason },
        requests: []
      }
    }
    // When the field schema refuses the payload, the action never sees it: show what the mapping made.
    const payload = recording.payloads[0] ?? transformBatch(mapping, [event as unknown as Record<string, unknown>])[0]
    const { requests } = recording
    if (!isRecord(entry) || typeof entry.status !== 'number') {
      return {
        ...base,
        payload,
        valid: false,
        failure: { status: 500, reason: 'the destination gave no result for this event' },
        requests
      }
    }
    if ('errormessage' in entry) {
      const errortype = typeof entry.errortype === 'string' ? entry.errortype : undefined
      const failure = { status: entry.status, ...(errortype && { errortype }), reason: String(entry.errormessage) }
      return { ...base, payload, valid: false, failure, requests }
    }
    const note = requests.length === 0 && typeof entry.body === 'string' ? entry.body : undefined
    return { ...base, payload, valid: true, requests, ...(note !== undefined && { note }) }
  }

  /** The definition with every action's request client swapped for one that records and never sends. */
  private recordingDefinition(definition: DestinationDefinition<Settings>): DestinationDefinition<Settings> {
    const client = (data: unknown): RequestClient => {
      const recording = this.recording.getStore()
      const extension = definition.extendRequest?.(data as never) ?? {}
      const request = createRequestClient(extension, {
        beforeRequest: [
          (options) => {
            throw new Stopped(options as unknown as RequestOptions)
          }
        ]
      })
      return (async (url: string, options?: RequestOptions) => {
        try {
          await request(url, options)
        } catch (error) {
          if (!(error instanceof Stopped)) throw error
          recording?.requests.push(requestOf(url, error.options))
          return acceptedAnswer()
        }
        throw new Error('the dry run request client sent a request')
      }) as RequestClient
    }
    const record = (payload: unknown) => {
      const recording = this.recording.getStore()
      for (const item of Array.isArray(payload) ? payload : [payload]) recording?.payloads.push(item as JSONObject)
    }
    type Perform = (request: RequestClient, data: { payload: unknown }) => unknown
    const actions = Object.fromEntries(
      Object.entries(definition.actions).map(([slug, action]) => {
        const perform = action.perform as Perform
        const performBatch = action.performBatch as Perform | undefined
        const wrapped = {
          ...action,
          perform: (_request: RequestClient, data: { payload: unknown }) => {
            record(data.payload)
            return perform(client(data), data)
          },
          ...(performBatch && {
            performBatch: (_request: RequestClient, data: { payload: unknown }) => {
              record(data.payload)
              return performBatch(client(data), data)
            }
          })
        }
        return [slug, wrapped]
      })
    )
    return { ...definition, actions }
  }
}
