/**
 * The Ortto API stand-in under /v1 (docs/ortto-api.md): authorization, body limits, faults, and
 * each endpoint applied to the store, answered as Ortto answers.
 */
import type * as http from 'node:http'
import {
  MAX_OBJECTS_PER_REQUEST,
  MAX_REQUEST_BYTES,
  ORTTO_ENDPOINTS,
  isOrttoApiKey,
  rateLimitBody,
  type BatchEndpoint,
  type OrttoEndpoint
} from './contract'
import { malformedBatchBody, type FaultDecision, type FaultInjector } from './faults'
import { errorBody, readBody, sendText } from '../http/http-io'
import { isRecord, parseJson } from './json'
import { increment } from './request-stats'
import type { SandboxStore } from './store'
import type { SandboxStats } from './types'
import { validateActivity, validateContact, validateMember, type ObjectProblem } from './validation'

const ENDPOINTS_BY_PATH = new Map<string, { endpoint: OrttoEndpoint; method: string }>(
  Object.entries(ORTTO_ENDPOINTS).map(([endpoint, { method, path }]) => [
    path,
    { endpoint: endpoint as OrttoEndpoint, method }
  ])
)

/** What each batch endpoint's array holds, as its 400 answer names it. */
const BATCH_OBJECTS: Record<BatchEndpoint, string> = {
  identify: 'contact',
  track: 'activity',
  audienceMembers: 'audience member'
}

const isBatchEndpoint = (endpoint: OrttoEndpoint): endpoint is BatchEndpoint => Object.hasOwn(BATCH_OBJECTS, endpoint)

/** What an endpoint decided to answer, before faults get a say in how it is delivered. */
interface Answer {
  status: number
  body: string
}

const json = (status: number, value: unknown): Answer => ({ status, body: JSON.stringify(value) })
const failed = (status: number, code: string, message: string): Answer => ({ status, body: errorBody(code, message) })

export interface OrttoApiOptions {
  store: SandboxStore
  faults: FaultInjector
  /** When set, the only keys taken; else any well-formed Ortto key. */
  acceptedKeys?: ReadonlySet<string>
  /** The counters as they are now (a reset replaces them). */
  counters: () => SandboxStats
  /** Saves what the request changed before it is answered; resolves with why it could not, or undefined. */
  save: () => Promise<string | undefined>
}

export class OrttoApiStandIn {
  private readonly slowTimers = new Set<NodeJS.Timeout>()

  constructor(private readonly options: OrttoApiOptions) {}

  /** Read at each count, never kept: a reset during a request replaces them. */
  private get counters(): SandboxStats {
    return this.options.counters()
  }

  /** Stops answering held-back (slow) requests; their sockets close with the server. */
  cancelPendingAnswers(): void {
    for (const timer of this.slowTimers) clearTimeout(timer)
    this.slowTimers.clear()
  }

  async handle(req: http.IncomingMessage, res: http.ServerResponse, path: string, method: string): Promise<void> {
    const known = ENDPOINTS_BY_PATH.get(path)
    this.counters.requests++
    increment(this.counters.byRoute, known ? `${method} ${path}` : 'other')
    const answer = (result: Answer, headers?: Record<string, string>): void => {
      increment(this.counters.byStatus, String(result.status))
      sendText(res, result.status, result.body, headers)
    }

    if (!known) return answer(failed(404, 'not-found', `no such endpoint: ${method} ${path}`))
    if (method !== known.method) {
      return answer(failed(405, 'method-not-allowed', `${path} takes ${known.method}`), { allow: known.method })
    }
    const authProblem = this.checkAuthorization(req.headers.authorization)
    if (authProblem) return answer(failed(401, 'unauthorized', authProblem))
    if (known.endpoint === 'me') return answer(json(200, { ok: true }))

    const body = await readBody(req, MAX_REQUEST_BYTES)
    if (body.kind === 'aborted') return
    if (body.kind === 'too-large') {
      return answer(
        failed(413, 'too-large', `the body is ${body.size}; a request may be at most ${MAX_REQUEST_BYTES} bytes`)
      )
    }
    if (body.kind === 'refused') return answer(failed(body.status, body.code, body.message))
    const parsed = parseJson(body.text)
    const batch = isBatchEndpoint(known.endpoint) ? known.endpoint : undefined
    if (batch && Array.isArray(parsed)) this.counters.objectsReceived += parsed.length

    // Every endpoint but /v1/me shares one rate window: Ortto counts member changes like identify calls.
    const fault = this.options.faults.decide(Date.now())
    this.countFault(fault)
    if (fault.kind === 'rate-limit') return answer({ status: 429, body: rateLimitBody(fault.retryAfterSeconds) })
    if (fault.kind === 'fail') {
      return answer(failed(fault.status, 'unavailable', 'injected failure: nothing was applied'))
    }
    if (fault.kind === 'drop' && fault.beforeApply) return void req.socket.destroy()

    const result = batch
      ? this.applyBatch(batch, parsed)
      : known.endpoint === 'createAudience'
        ? this.createAudience(parsed)
        : this.getAudience(parsed)
    const notSaved = await this.options.save()
    if (notSaved !== undefined) {
      // Applied in memory but not on disk, so not acknowledged (nor is any later request, until a
      // save catches the file up): a retry is safe, as Ortto's are.
      return answer(failed(500, 'not-saved', `the change was not saved: ${notSaved}`))
    }

    switch (fault.kind) {
      case 'drop':
        return void req.socket.destroy()
      case 'malformed':
        if (!batch) return answer({ status: 200, body: '{"id": "' })
        return answer({
          status: 207,
          body: malformedBatchBody(fault.variant, Array.isArray(parsed) ? parsed.length : 0)
        })
      case 'slow': {
        const timer = setTimeout(() => {
          this.slowTimers.delete(timer)
          answer(result)
        }, fault.ms)
        this.slowTimers.add(timer)
        return
      }
      case 'none':
        return answer(result)
    }
  }

  /** Why the request may not use the API, or undefined. Never quotes the key. */
  private checkAuthorization(header: string | undefined): string | undefined {
    if (!header) return 'missing Authorization header; send "Authorization: Bearer <api key>"'
    // The scheme is case-insensitive (RFC 9110); the key itself is compared exactly.
    const match = /^Bearer (.+)$/i.exec(header)
    if (!match) return 'the Authorization header must be "Bearer <api key>"'
    const key = match[1]
    if (!isOrttoApiKey(key)) return 'the API key is not a well-formed Ortto key'
    const { acceptedKeys } = this.options
    if (acceptedKeys && !acceptedKeys.has(key))
      return 'the API key is not one this sandbox was started with (the sandbox of npm start takes only the pipeline’s own key: leave api_key out of the settings to use it)'
    return undefined
  }

  private countFault(fault: FaultDecision): void {
    if (fault.kind === 'none') return
    const name = fault.kind === 'drop' ? (fault.beforeApply ? 'drop-before-apply' : 'drop-after-apply') : fault.kind
    increment(this.counters.faultsInjected, name)
  }

  private createAudience(body: unknown): Answer {
    if (body === undefined) return failed(400, 'bad-request', 'the body is not valid JSON')
    const name = isRecord(body) ? body.name : undefined
    if (typeof name !== 'string' || name.trim() === '') {
      return failed(400, 'bad-request', 'the body must be {"name": "<audience name>"} with a non-blank name')
    }
    const { audience } = this.options.store.createAudience(name, new Date().toISOString())
    return json(200, { id: audience.id, name: audience.name })
  }

  private getAudience(body: unknown): Answer {
    if (body === undefined) return failed(400, 'bad-request', 'the body is not valid JSON')
    const id = isRecord(body) ? body.id : undefined
    if (typeof id !== 'string' || id.trim() === '') {
      return failed(400, 'bad-request', 'the body must be {"id": "<audience id>"} with a non-blank id')
    }
    const audience = this.options.store.getAudience(id)
    if (!audience) return failed(404, 'not-found', `audience ${id} does not exist`)
    return json(200, { id: audience.id, name: audience.name })
  }

  private applyBatch(endpoint: BatchEndpoint, body: unknown): Answer {
    if (body === undefined) return failed(400, 'bad-request', 'the body is not valid JSON')
    if (!Array.isArray(body)) {
      return failed(400, 'bad-request', `the body must be a JSON array of ${BATCH_OBJECTS[endpoint]} objects`)
    }
    if (body.length > MAX_OBJECTS_PER_REQUEST) {
      return failed(
        413,
        'too-large',
        `the body has ${body.length} objects; a request may carry at most ${MAX_OBJECTS_PER_REQUEST}`
      )
    }
    const now = new Date().toISOString()
    const errors: Array<{ index: number; status: number; message: string }> = []
    for (let index = 0; index < body.length; index++) {
      const problem = this.applyObject(endpoint, body[index], now)
      if (problem) errors.push({ index, ...problem })
    }
    this.counters.objectsAccepted += body.length - errors.length
    this.counters.objectsRejected += errors.length
    return errors.length === 0 ? json(200, {}) : json(207, { errors })
  }

  /** Checks and applies one object of a batch; its 207 entry's status and message when refused. */
  private applyObject(endpoint: BatchEndpoint, raw: unknown, now: string): ObjectProblem | undefined {
    const { store } = this.options
    switch (endpoint) {
      case 'identify': {
        const contact = validateContact(raw)
        return contact.ok ? store.applyContact(contact.value, now, ORTTO_ENDPOINTS.identify.path) : contact.problem
      }
      case 'audienceMembers': {
        // Upserted exactly as an identify object, then the membership changed.
        const member = validateMember(raw)
        return member.ok ? store.applyContact(member.value, now, ORTTO_ENDPOINTS.audienceMembers.path) : member.problem
      }
      case 'track': {
        const activity = validateActivity(raw)
        if (!activity.ok) return activity.problem
        const outcome = store.applyActivity(activity.value, now)
        if (outcome.kind === 'rejected') return outcome.problem
        if (outcome.kind === 'duplicate') this.counters.duplicateActivitiesDropped++
        return undefined
      }
    }
  }
}
