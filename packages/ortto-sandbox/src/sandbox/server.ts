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
import { FaultInjector, FaultOptionsError, malformedBatchBody, parseFaultOptions, type FaultDecision } from './faults'
import { SandboxDataError, messageOf } from './errors'
import { errorBody, readBody, sendText } from '../http/http-io'
import { isJsonObject, parseJsonText } from './json'
import type { DataFileWriter } from './data-file/writer'
import type { SandboxStore } from './store'
import type { FaultOptions, SandboxStats } from './types'
import { validateActivity, validateContact, validateMember, type ObjectProblem } from './validation'

/**
 * The router: Ortto's API under /v1 (docs/ortto-api.md) and the sandbox's own inspection routes
 * under /sandbox. Plain `(req, res)`, so it can run in its own server or be mounted in another.
 */

const API_ROUTES = new Map<string, { route: OrttoEndpoint; method: string }>(
  Object.entries(ORTTO_ENDPOINTS).map(([route, { method, path }]) => [path, { route: route as OrttoEndpoint, method }])
)

/** What each batch endpoint's array holds, as its 400 answer names it. */
const BATCH_OBJECTS: Record<BatchEndpoint, string> = {
  identify: 'contact',
  track: 'activity',
  audienceMembers: 'audience member'
}

const isBatchEndpoint = (route: OrttoEndpoint): route is BatchEndpoint => Object.hasOwn(BATCH_OBJECTS, route)

type InspectionRoute = 'contacts' | 'activities' | 'audiences' | 'stats' | 'reset' | 'faults'

/**
 * The inspection routes, the methods each takes and the query parameters (filters) each reads.
 * Any other parameter is refused, so a misspelt filter cannot answer everything as if it matched.
 * docs/sandbox.md's table of these routes is checked against this one.
 */
export const INSPECTION_ROUTES: ReadonlyMap<string, { route: InspectionRoute; methods: string[]; filters: string[] }> =
  new Map([
    ['/sandbox/contacts', { route: 'contacts', methods: ['GET'], filters: ['user_id', 'anonymous_id'] }],
    ['/sandbox/activities', { route: 'activities', methods: ['GET'], filters: ['contact_id'] }],
    ['/sandbox/audiences', { route: 'audiences', methods: ['GET'], filters: ['id', 'name'] }],
    ['/sandbox/stats', { route: 'stats', methods: ['GET'], filters: [] }],
    ['/sandbox/reset', { route: 'reset', methods: ['POST'], filters: [] }],
    ['/sandbox/faults', { route: 'faults', methods: ['GET', 'POST'], filters: [] }]
  ])

/** Why the query does not fit the route's filters, or undefined. */
function queryProblem(path: string, filters: string[], query: URLSearchParams): string | undefined {
  const unknown = [...new Set(query.keys())].filter((key) => !filters.includes(key))
  if (unknown.length === 0) return undefined
  const named = unknown.map((key) => JSON.stringify(key)).join(', ')
  return filters.length === 0
    ? `${path} takes no query parameters (got ${named})`
    : `${path} has no filter ${named}; its filters are ${filters.join(', ')}`
}

/** What an API route decided to answer, before faults get a say in how it is delivered. */
interface Answer {
  status: number
  body: string
}

const json = (status: number, value: unknown): Answer => ({ status, body: JSON.stringify(value) })
const failed = (status: number, code: string, message: string): Answer => ({ status, body: errorBody(code, message) })

const FAULT_NAMES = ['rate-limit', 'fail', 'slow', 'drop-before-apply', 'drop-after-apply', 'malformed'] as const

function emptyStats(): SandboxStats {
  return {
    requests: 0,
    byRoute: {},
    byStatus: {},
    objectsReceived: 0,
    objectsAccepted: 0,
    objectsRejected: 0,
    duplicateActivitiesDropped: 0,
    faultsInjected: Object.fromEntries(FAULT_NAMES.map((name) => [name, 0]))
  }
}

const increment = (counts: Record<string, number>, key: string): void => {
  counts[key] = (counts[key] ?? 0) + 1
}

export interface SandboxAppOptions {
  store: SandboxStore
  faults: FaultInjector
  writer?: DataFileWriter
  acceptedKeys?: ReadonlySet<string>
  log: (line: string) => void
}

export class SandboxApp {
  private counters = emptyStats()
  private readonly slowTimers = new Set<NodeJS.Timeout>()
  private readonly store: SandboxStore
  private readonly faults: FaultInjector
  private readonly writer: DataFileWriter | undefined
  private readonly acceptedKeys: ReadonlySet<string> | undefined
  private readonly log: (line: string) => void

  constructor(options: SandboxAppOptions) {
    this.store = options.store
    this.faults = options.faults
    this.writer = options.writer
    this.acceptedKeys = options.acceptedKeys
    this.log = options.log
  }

  readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    this.route(req, res).catch((error: unknown) => {
      this.log(`ortto sandbox: internal error: ${messageOf(error)}`)
      if (res.headersSent) res.destroy()
      else sendText(res, 500, errorBody('internal', 'the sandbox failed to handle this request'))
    })
  }

  stats(): SandboxStats {
    return structuredClone(this.counters)
  }

  setFaults(faults: FaultOptions): void {
    this.faults.set(faults)
  }

  /** Rejects with SandboxDataError when the emptied state could not be saved. */
  async reset(): Promise<void> {
    this.store.reset()
    this.counters = emptyStats()
    // Same faults, fresh PRNG and rate window: a reset run repeats the faults of the first.
    this.faults.set(this.faults.active)
    // Everything in the file is now obsolete: write the empty state rather than journal it.
    if (this.writer) await this.writer.save(this.store.takeChanges(), { compact: true })
  }

  /**
   * Saves what the request changed before it is answered, and waits until the file holds every
   * change memory holds, so an acknowledged change survives the process being killed — also when
   * this request changed nothing but an earlier one could not be saved. Resolves with why it could
   * not be saved, or undefined.
   */
  private async save(): Promise<string | undefined> {
    if (!this.writer) return undefined
    try {
      await this.writer.save(this.store.takeChanges())
      return undefined
    } catch (error) {
      if (!(error instanceof SandboxDataError)) throw error
      return error.message
    }
  }

  /** Stops answering held-back (slow) requests; their sockets close with the server. */
  cancelPendingAnswers(): void {
    for (const timer of this.slowTimers) clearTimeout(timer)
    this.slowTimers.clear()
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = req.url ?? '/'
    const queryStart = url.indexOf('?')
    const path = queryStart === -1 ? url : url.slice(0, queryStart)
    const query = new URLSearchParams(queryStart === -1 ? '' : url.slice(queryStart + 1))
    const method = req.method ?? 'GET'

    if (path === '/v1' || path.startsWith('/v1/')) return this.handleApi(req, res, path, method)
    const inspection = INSPECTION_ROUTES.get(path)
    if (!inspection) {
      return sendText(res, 404, errorBody('not-found', `no such route: ${method} ${path}`))
    }
    if (!inspection.methods.includes(method)) {
      return sendText(res, 405, errorBody('method-not-allowed', `${path} takes ${inspection.methods.join(' or ')}`), {
        allow: inspection.methods.join(', ')
      })
    }
    const badQuery = queryProblem(path, inspection.filters, query)
    if (badQuery) return sendText(res, 400, errorBody('bad-request', badQuery))
    return this.handleInspection(req, res, inspection.route, method, query)
  }

  // ---- Ortto API -------------------------------------------------------------------------

  private async handleApi(req: http.IncomingMessage, res: http.ServerResponse, path: string, method: string) {
    const known = API_ROUTES.get(path)
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
    if (known.route === 'me') return answer(json(200, { ok: true }))

    const body = await readBody(req, MAX_REQUEST_BYTES)
    if (body.kind === 'aborted') return
    if (body.kind === 'too-large') {
      return answer(
        failed(413, 'too-large', `the body is ${body.size}; a request may be at most ${MAX_REQUEST_BYTES} bytes`)
      )
    }
    if (body.kind === 'refused') return answer(failed(body.status, body.code, body.message))
    const parsed = parseJsonText(body.text)
    const batch = isBatchEndpoint(known.route) ? known.route : undefined
    if (batch && Array.isArray(parsed)) this.counters.objectsReceived += parsed.length

    // Every route but /v1/me shares one rate window: Ortto counts member changes like identify calls.
    const fault = this.faults.decide(Date.now())
    this.countFault(fault)
    if (fault.kind === 'rate-limit') return answer({ status: 429, body: rateLimitBody(fault.retryAfterSeconds) })
    if (fault.kind === 'fail') {
      return answer(failed(fault.status, 'unavailable', 'injected failure: nothing was applied'))
    }
    if (fault.kind === 'drop' && fault.beforeApply) return void req.socket.destroy()

    const result = batch
      ? this.applyBatch(batch, parsed)
      : known.route === 'createAudience'
        ? this.createAudience(parsed)
        : this.getAudience(parsed)
    const notSaved = await this.save()
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
    if (this.acceptedKeys && !this.acceptedKeys.has(key))
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
    const name = isJsonObject(body) ? body.name : undefined
    if (typeof name !== 'string' || name.trim() === '') {
      return failed(400, 'bad-request', 'the body must be {"name": "<audience name>"} with a non-blank name')
    }
    const { audience } = this.store.createAudience(name, new Date().toISOString())
    return json(200, { id: audience.id, name: audience.name })
  }

  private getAudience(body: unknown): Answer {
    if (body === undefined) return failed(400, 'bad-request', 'the body is not valid JSON')
    const id = isJsonObject(body) ? body.id : undefined
    if (typeof id !== 'string' || id.trim() === '') {
      return failed(400, 'bad-request', 'the body must be {"id": "<audience id>"} with a non-blank id')
    }
    const audience = this.store.getAudience(id)
    if (!audience) return failed(404, 'not-found', `audience ${id} does not exist`)
    return json(200, { id: audience.id, name: audience.name })
  }

  private applyBatch(route: BatchEndpoint, body: unknown): Answer {
    if (body === undefined) return failed(400, 'bad-request', 'the body is not valid JSON')
    if (!Array.isArray(body)) {
      return failed(400, 'bad-request', `the body must be a JSON array of ${BATCH_OBJECTS[route]} objects`)
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
      const problem = this.applyObject(route, body[index], now)
      if (problem) errors.push({ index, ...problem })
    }
    this.counters.objectsAccepted += body.length - errors.length
    this.counters.objectsRejected += errors.length
    return errors.length === 0 ? json(200, {}) : json(207, { errors })
  }

  /** Checks and applies one object of a batch; its 207 entry's status and message when refused. */
  private applyObject(route: BatchEndpoint, raw: unknown, now: string): ObjectProblem | undefined {
    switch (route) {
      case 'identify': {
        const contact = validateContact(raw)
        return contact.ok ? this.store.applyContact(contact.value, now, ORTTO_ENDPOINTS.identify.path) : contact.problem
      }
      case 'audienceMembers': {
        // Upserted exactly as an identify object, then the membership changed.
        const member = validateMember(raw)
        return member.ok
          ? this.store.applyContact(member.value, now, ORTTO_ENDPOINTS.audienceMembers.path)
          : member.problem
      }
      case 'track':
        return this.applyActivity(raw, now)
    }
  }

  private applyActivity(raw: unknown, now: string): ObjectProblem | undefined {
    const activity = validateActivity(raw)
    if (!activity.ok) return activity.problem
    const outcome = this.store.applyActivity(activity.value, now)
    if (outcome.kind === 'rejected') return outcome.problem
    if (outcome.kind === 'duplicate') this.counters.duplicateActivitiesDropped++
    return undefined
  }

  // ---- inspection ------------------------------------------------------------------------

  private async handleInspection(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    route: InspectionRoute,
    method: string,
    query: URLSearchParams
  ): Promise<void> {
    const reply = (status: number, value: unknown): void => sendText(res, status, JSON.stringify(value))
    switch (route) {
      case 'contacts': {
        const userId = query.get('user_id')
        const anonymousId = query.get('anonymous_id')
        if (userId === null && anonymousId === null) return reply(200, { contacts: this.store.contactViews() })
        const found = this.store.findContact({ userId: userId ?? undefined, anonymousId: anonymousId ?? undefined })
        return reply(200, { contacts: found ? [found] : [] })
      }
      case 'activities':
        return reply(200, { activities: this.store.activityViews(query.get('contact_id') ?? undefined) })
      case 'audiences': {
        const filter = { id: query.get('id') ?? undefined, name: query.get('name') ?? undefined }
        const audiences = this.store.audienceViews(filter)
        const filtered = filter.id !== undefined || filter.name !== undefined
        const history = this.store.membershipHistory(filtered ? new Set(audiences.map((a) => a.id)) : undefined)
        return reply(200, { audiences, membership_history: history })
      }
      case 'stats':
        return reply(200, this.counters)
      case 'reset':
        try {
          await this.reset()
        } catch (error) {
          if (!(error instanceof SandboxDataError)) throw error
          return sendText(res, 500, errorBody('not-saved', `the reset was not saved: ${error.message}`))
        }
        return reply(200, { ok: true })
      case 'faults': {
        if (method === 'GET') return reply(200, { faults: this.faults.active })
        const body = await readBody(req, MAX_REQUEST_BYTES)
        if (body.kind === 'aborted') return
        if (body.kind === 'refused') return sendText(res, body.status, errorBody(body.code, body.message))
        const parsed = body.kind === 'ok' ? parseJsonText(body.text) : undefined
        try {
          this.faults.set(parseFaultOptions(parsed))
        } catch (error) {
          if (!(error instanceof FaultOptionsError)) throw error
          return sendText(res, 400, errorBody('bad-request', error.message))
        }
        return reply(200, { faults: this.faults.active })
      }
    }
  }
}
