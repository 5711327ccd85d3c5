import { ErrorCodes, InvalidAuthenticationError, MultiStatusResponse } from '@segment/actions-core'
import type { JSONLikeObject, RequestClient, StatsContext } from '@segment/actions-core'
import { AUDIENCE_UPDATE_MODES, MAX_REQUEST_BYTES } from '../constants'
import type { BatchMethod, BatchPath } from '../constants'
import type { AudienceRef, ContactInput, OrttoSettings, WireObject } from '../types'
import { apiOrigin, redactApiKey } from './api-key'
import { readBatchAnswer } from './batch-answer'
import {
  failure,
  failureFromStatus,
  failureFromTransportError,
  invalidEvent,
  throwFailure,
  transportErrorKind
} from './failures'
import type { Failure } from './failures'
import { READ_ONCE, answerBody, answerValue, readAnswer } from './answer'
import type { OrttoAnswer } from './answer'
import { planRequests } from './requests'
import type { Outgoing, PlannedRequest } from './requests'
import type { DeliveryStats, RequestReply } from './stats'
import type { Prepared } from './wire-objects'

/**
 * The one delivery path of every action: `perform` is this path with a single event.
 * Each payload ends with exactly one outcome, in the order the payloads came in.
 */

export type EventOutcome =
  | { ok: true; status: number; sent: JSONLikeObject | string; body: JSONLikeObject | string }
  | { ok: false; failure: Failure; sent?: JSONLikeObject; body?: JSONLikeObject | string }

/** The part of actions-core's execute input that delivery reads. */
export interface DeliveryInput {
  settings: OrttoSettings
  hookOutputs?: { onMappingSave?: { outputs?: { audience_id?: unknown } } }
  statsContext?: StatsContext
}

/** An event's audience membership, none, or why the event must not be sent. */
export type AudienceChoice = AudienceRef | Failure | undefined

/**
 * What differs between the actions: where objects go, how a payload chooses its audience
 * membership (none when `audience` is absent), and how a payload becomes an object.
 */
export interface ActionDelivery<P extends ContactInput, T extends WireObject> {
  method: BatchMethod
  path: BatchPath
  audience?: (payload: P, input: DeliveryInput) => AudienceChoice
  prepare: (payload: P, audience: AudienceRef | undefined) => Prepared<T>
}

/**
 * The audience the mapping's Associate Audience hook saved, in the mode the payload chooses:
 * how the contact and activity actions link their events to an Ortto audience. A cleared mode
 * (absent, null or empty) is no instruction, so membership is left alone: the user removed it,
 * and guessing "add" would put people in an audience nobody asked for (Segment's catalog build
 * sends no audience then either).
 */
export function linkedAudience(
  payload: { audience_update_mode?: string | null },
  input: DeliveryInput
): AudienceChoice {
  const audienceId = input.hookOutputs?.onMappingSave?.outputs?.audience_id
  if (typeof audienceId !== 'string' || audienceId === '') return undefined
  const mode = payload.audience_update_mode
  if (mode === undefined || mode === null || mode === '') return undefined
  if (mode !== AUDIENCE_UPDATE_MODES.add && mode !== AUDIENCE_UPDATE_MODES.remove) {
    return invalidEvent(`Audience update mode must be "add" or "remove", not "${mode}".`)
  }
  return { mode, id: audienceId }
}

const isFailure = (value: AudienceChoice): value is Failure => value !== undefined && 'errortype' in value

const sentOf = (item: Outgoing) => item.object as unknown as JSONLikeObject

/** A whole-request failure, with Ortto's answer (a 429's `try-in-seconds` is read from it). */
interface RequestFailure {
  failure: Failure
  body?: JSONLikeObject | string
}

/** Longest answer text kept in a result; an error page can be large and says little more. */
const MAX_ANSWER_TEXT = 1000

const ACCEPTED_IN_207 = "accepted: not among the errors of Ortto's 207 answer"

const failAll = (items: Outgoing[], { failure, body }: RequestFailure) =>
  items.map((item): EventOutcome => ({ ok: false, failure, sent: sentOf(item), body }))

/** Events of a batch whose sending stopped early: they fail like the request that stopped it. */
function notSent(items: Outgoing[], cause: Failure): EventOutcome[] {
  const failure = { ...cause, message: `Not sent: an earlier request of this batch failed. ${cause.message}` }
  return items.map(() => ({ ok: false, failure }))
}

/** Sends one request and gives each of its objects an outcome. Never throws. */
async function sendRequest(
  request: RequestClient,
  method: BatchMethod,
  url: string,
  apiKey: string,
  { items, body: requestBody }: PlannedRequest
): Promise<{ outcomes: EventOutcome[]; reply: RequestReply; halt?: RequestFailure }> {
  let answer: OrttoAnswer
  try {
    const response = await request(url, {
      ...READ_ONCE,
      method,
      headers: { 'content-type': 'application/json' },
      body: requestBody,
      throwHttpErrors: false
    })
    answer = await readAnswer(response, apiKey)
  } catch (error) {
    const f = failureFromTransportError(error)
    return {
      outcomes: failAll(items, { failure: { ...f, message: redactApiKey(f.message, apiKey) } }),
      reply: { error: transportErrorKind(error) }
    }
  }
  const { status } = answer
  const reply = { status }
  // Every event of the request shares one answer; a large one is shown cut, as text.
  const body = answer.text.length > MAX_ANSWER_TEXT ? answer.text.slice(0, MAX_ANSWER_TEXT) : answerBody(answer)

  if (status < 200 || status > 299) {
    const whole: RequestFailure = {
      failure: failureFromStatus(status, answerValue(answer)),
      body
    }
    // After a refused key or a rate limit, further requests would only make things worse
    // (Ortto blocks IPs that repeat bad credentials), so the rest of the batch is not sent.
    const halt = status === 401 || status === 403 || status === 429 ? whole : undefined
    return { outcomes: failAll(items, whole), reply, halt }
  }

  const verdicts = readBatchAnswer(status, answer.json, items.length)
  const okStatus = status === 207 ? 200 : status
  // In a 207 the answer is about the other events: an accepted one gets a note, not the list.
  const accepted = status === 207 ? ACCEPTED_IN_207 : body
  const outcomes = items.map((item, i): EventOutcome => {
    const verdict = verdicts[i]
    if (verdict.ok) return { ok: true, status: okStatus, sent: sentOf(item), body: accepted }
    return {
      ok: false,
      failure: verdict.failure,
      sent: sentOf(item),
      body: verdict.entry as JSONLikeObject | undefined
    }
  })
  return { outcomes, reply }
}

/**
 * Validates, builds, sizes and sends every payload; returns one outcome per payload.
 * Nothing here throws for an event: a malformed key, an invalid event or a failed request
 * all become outcomes, so no event can vanish. `stats`, when given, hears of each outcome and
 * each request as it happens (see stats.ts).
 */
export async function deliver<P extends ContactInput, T extends WireObject>(
  request: RequestClient,
  payloads: P[],
  input: DeliveryInput,
  action: ActionDelivery<P, T>,
  stats?: DeliveryStats
): Promise<EventOutcome[]> {
  const outcomes: EventOutcome[] = new Array<EventOutcome>(payloads.length)
  const outgoing: Outgoing[] = []

  payloads.forEach((payload, eventIndex) => {
    const audience = action.audience?.(payload, input)
    const prepared: Prepared<T> = isFailure(audience)
      ? { kind: 'invalid', failure: audience }
      : action.prepare(payload, audience)
    if (prepared.kind === 'invalid') {
      outcomes[eventIndex] = { ok: false, failure: prepared.failure }
      stats?.notSent('invalid_event', prepared.failure)
    } else if (prepared.kind === 'skip') {
      outcomes[eventIndex] = { ok: true, status: 200, sent: {}, body: prepared.reason }
      stats?.skipped()
    } else {
      const ip = payload.ip
      if (stats && prepared.object.ip === undefined && ip !== undefined && ip !== null) stats.ipLeftOut(ip)
      outgoing.push({ eventIndex, object: prepared.object })
    }
  })
  if (outgoing.length === 0) return outcomes

  let url: string
  try {
    url = apiOrigin(input.settings.api_key) + action.path
  } catch (error) {
    // A malformed key fails every event that would have been sent, before any request.
    if (!(error instanceof InvalidAuthenticationError)) throw error
    const f = failure(401, error.message, ErrorCodes.INVALID_AUTHENTICATION)
    for (const item of outgoing) outcomes[item.eventIndex] = { ok: false, failure: f }
    stats?.notSent('bad_key', f, outgoing.length)
    return outcomes
  }

  const { requests, tooLarge } = planRequests(outgoing)
  for (const { item, bytes } of tooLarge) {
    const f = failure(
      413,
      `This event is ${bytes} bytes of JSON; Ortto takes at most ${MAX_REQUEST_BYTES} bytes per request. ` +
        'Send fewer or smaller traits and properties.'
    )
    outcomes[item.eventIndex] = { ok: false, failure: f }
    stats?.notSent('too_large', f)
  }
  let halt: RequestFailure | undefined
  for (const planned of requests) {
    let result: { outcomes: EventOutcome[]; halt?: RequestFailure }
    if (halt) {
      result = { outcomes: notSent(planned.items, halt.failure) }
      stats?.notSent('halted', halt.failure, planned.items.length)
    } else {
      const sent = await sendRequest(request, action.method, url, input.settings.api_key, planned)
      stats?.sent(sent.reply, sent.outcomes)
      result = sent
    }
    halt ??= result.halt
    planned.items.forEach((item, i) => (outcomes[item.eventIndex] = result.outcomes[i]))
  }
  return outcomes
}

/** Batch mode: every outcome becomes its own entry, in the order of the payloads. */
export function toMultiStatus(outcomes: EventOutcome[]): MultiStatusResponse {
  const response = new MultiStatusResponse()
  for (const outcome of outcomes) {
    if (outcome.ok) {
      response.pushSuccessResponse({ status: outcome.status, sent: outcome.sent, body: outcome.body })
    } else {
      const { status, errortype, message } = outcome.failure
      // Only what is known: an event that was never sent carries no `sent` (nor an answer).
      response.pushErrorResponse({
        status,
        errortype,
        errormessage: message,
        ...(outcome.sent !== undefined && { sent: outcome.sent }),
        ...(outcome.body !== undefined && { body: outcome.body })
      })
    }
  }
  return response
}

/** Single mode: a failed event throws the matching error, so it is never reported as delivered. */
export function toSingleResult(outcome: EventOutcome): JSONLikeObject | string {
  if (!outcome.ok) throwFailure(outcome.failure)
  return outcome.body
}
