/**
 * The local pipeline's HTTP server: Segment's HTTP Tracking API in front, the destination's
 * delivery pipeline behind, plus the CLI `serve` routes and our own action routes (`/results/…`,
 * `/metadata`), `/status`, and the embedded sandbox's inspection routes. Bad input gets a 4xx with the reason and the server keeps serving.
 */
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  ERROR_CODES,
  errorBody,
  readBody,
  sendText,
  GUARDED_SERVER_OPTIONS,
  guardRequest,
  type Sandbox
} from 'ortto-sandbox'
import { isRecord, parseJson } from './json'
import type { CliRouteSet } from './action-calls'
import type { ConsoleRoutes } from './console'
import { PipelineBusyError, type DeliveryPipeline } from './delivery'
import type { DryRun } from './dry-run'
import type { OutcomeQuery } from './outcomes'
import { EVENT_TYPES, InputError, parseBatch, parseEvent, type EventType, type ParsedEvent } from './segment-events'
import { MAX_BATCH_BYTES, MAX_EVENT_BYTES, limitText } from './ingest-limits'
import { writeKeyRefusal } from './write-key'
import type { WriteKeyGate } from './write-key'

/**
 * Seconds a caller answered 503 (delivery holds all it may) is asked to wait (`Retry-After`). Room
 * comes back only as Ortto takes batches; at the delivery rate the pipeline aims for (2,000 events/s
 * and more) two seconds free room for several full batches while the rest of the backlog keeps
 * Ortto busy, and a caller retrying every two seconds costs little (a refused call is read in full:
 * at most 500 kB). Segment's libraries back off on a 503 anyway; `npm run replay` waits this long.
 */
const BUSY_RETRY_AFTER_SECONDS = 2
/** Tester calls may carry a batch of whole events. */
const MAX_CLI_BYTES = 4 * 1024 * 1024

/**
 * Origins allowed to call from a browser: exactly those `./bin/run serve` allows (Segment's app in
 * both regions, its staging app, and a local app on port 8000), where the Actions Tester runs.
 */
const ALLOWED_ORIGINS = new Set([
  'https://app.segment.com',
  'https://eu1.app.segment.com',
  'https://app.segment.build',
  'https://eu1.app.segment.build',
  'http://localhost:8000'
])

/** What the browser guard lets through: requests without an Origin, those of serve's origins, and the console's own page. */
const GUARD = { allowedOrigins: ALLOWED_ORIGINS, allowOwnOrigin: true }

interface PipelineServerOptions {
  delivery: DeliveryPipeline
  /** Answers POST /dry-run. */
  dryRun: Pick<DryRun<unknown>, 'plan'>
  /** The action routes (ours, and the CLI serve ones), asked in turn; the first that handles a path answers. */
  cli: CliRouteSet[]
  /** The embedded sandbox, whose /sandbox/* routes are also served on this port. */
  sandbox?: Sandbox
  /** Called once POST /sandbox/reset has emptied the sandbox. */
  onSandboxReset?: () => void
  /** The write key every route but GET / and the route sets' open paths (and OPTIONS) asks for. */
  gate: WriteKeyGate
  /** A client that has not sent its whole request by then gets 408 (slow-client protection). */
  requestTimeoutMs: number
  /** The console: the page at GET / for a browser, and /console/*. */
  console?: ConsoleRoutes
  /** Shown by GET /status. */
  describe: () => Record<string, unknown>
  log: (line: string) => void
}

function corsHeaders(req: http.IncomingMessage): Record<string, string> {
  const origin = req.headers.origin
  if (!origin || !ALLOWED_ORIGINS.has(origin)) return {}
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': 'GET, POST, OPTIONS',
    'access-control-allow-headers': 'authorization, content-type',
    vary: 'origin'
  }
}

/** One route of the server's own (the route sets' come after these), as GET / lists it. */
interface ServerRoute {
  method: 'GET' | 'POST'
  path: string
  /** What GET / says about it. */
  what: string
  run: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> | void
}

/** At most this many outcomes per GET /outcomes answer: the latest. */
const MAX_OUTCOMES_SHOWN = 100

const OUTCOME_IDS = ['messageId', 'userId', 'anonymousId'] as const

export class PipelineServer {
  readonly server: http.Server
  /** Every route the server answers itself, in the order GET / lists them; nothing else is routed but the route sets. */
  private readonly routes: ServerRoute[]
  /**
   * Segment calls (/v1/*): those taken in, the events they carried that were taken in and those
   * refused with a reason, and calls refused whole (4xx or 503, nothing taken in).
   */
  private readonly ingest = { calls: 0, events: 0, rejectedEvents: 0, refusedCalls: 0 }
  /**
   * Paths open without the write key: static, with no secret and no state. Everything else needs
   * it, except an action call that brings its own key to real Ortto (WriteKeyGate.mayRunWithoutWriteKey).
   */
  private readonly openPaths: Set<string>

  constructor(private readonly options: PipelineServerOptions) {
    const timeout = options.requestTimeoutMs
    // Node checks for overdue requests every connectionsCheckingInterval (30 s by default).
    const checkEvery = Math.max(100, Math.min(1_000, Math.floor(timeout / 4)))
    this.server = http.createServer(
      {
        ...GUARDED_SERVER_OPTIONS,
        requestTimeout: timeout,
        headersTimeout: timeout,
        connectionsCheckingInterval: checkEvery
      },
      (req, res) => this.handle(req, res)
    )
    this.routes = this.ownRoutes()
    this.openPaths = new Set(['/', ...options.cli.flatMap((set) => set.openPaths)])
  }

  listen(port: number, host = '127.0.0.1'): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, host, () => {
        this.server.off('error', reject)
        resolve(`http://${host}:${(this.server.address() as AddressInfo).port}`)
      })
    })
  }

  /** Stops taking connections; requests already in progress finish. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      this.server.closeIdleConnections()
    })
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const segmentCall = (req.url ?? '/').startsWith('/v1/')
    // Before any body is read and before routing: browsers turned against this port stop here.
    if (!guardRequest(req, res, GUARD, corsHeaders(req))) {
      if (segmentCall) this.ingest.refusedCalls++
      return
    }
    this.route(req, res).catch((error: unknown) => {
      // A /v1 call that fails has taken nothing in: counters of what was taken move only on success.
      if (segmentCall) this.ingest.refusedCalls++
      this.fail(res, req, error)
    })
  }

  private fail(res: http.ServerResponse, req: http.IncomingMessage, error: unknown): void {
    const status = error instanceof InputError ? error.status : error instanceof PipelineBusyError ? 503 : 500
    const message =
      status === 500 ? `the server failed to handle this request: ${String(error)}` : (error as Error).message
    if (status === 500) this.options.log(`[server] ${message}`)
    const headers = corsHeaders(req)
    // Lets a person who opens a gated route in a browser type the write key as the user name.
    if (status === 401) headers['www-authenticate'] = 'Basic realm="Ortto local pipeline", charset="UTF-8"'
    if (status === 503) headers['retry-after'] = String(BUSY_RETRY_AFTER_SECONDS)
    sendText(res, status, errorBody(ERROR_CODES[status] ?? ERROR_CODES[400], message), headers)
  }

  /** `limitText` says what the limit is, and what to do, when a body is over it. */
  private async readJson(
    req: http.IncomingMessage,
    limit: number,
    limitText = `this route takes at most ${limit} bytes`
  ): Promise<unknown> {
    return (await this.readJsonBody(req, limit, limitText)).value
  }

  /** As readJson, with the body's bytes as they came. */
  private async readJsonBody(
    req: http.IncomingMessage,
    limit: number,
    limitText: string
  ): Promise<{ value: unknown; bytes: Buffer }> {
    const body = await readBody(req, limit)
    if (body.kind === 'aborted') throw new InputError('the request was aborted before its body arrived')
    if (body.kind === 'too-large') throw new InputError(`the body is ${body.size}; ${limitText}`, 413)
    if (body.kind === 'refused') throw new InputError(body.message, body.status)
    const value = parseJson(body.text)
    if (value === undefined) throw new InputError('the body is not valid JSON')
    return { value, bytes: body.bytes }
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? 'GET'
    const path = (req.url ?? '/').split('?')[0]

    if (method === 'OPTIONS') return sendText(res, 204, '', corsHeaders(req))
    const { gate, cli } = this.options
    const caller = { writeKeyShown: gate.shownBy(req) }
    const routeSet = cli.find((set) => set.handles(path))
    // Action routes check each call's own settings once the body is read (ActionCalls.settingsFrom).
    if (!caller.writeKeyShown && !this.openPaths.has(path) && !(routeSet && gate.ownKeyCallsOpen)) {
      throw writeKeyRefusal()
    }
    if (this.options.console?.handles(method, path, req)) return this.options.console.serve(req, res, path, caller)

    const atPath = this.routes.filter((route) => route.path === path)
    const route = atPath.find((candidate) => candidate.method === method)
    if (route) return route.run(req, res)
    if (atPath.length > 0) throw new InputError(`${path} takes ${atPath.map((r) => r.method).join(' or ')}`, 405)
    if (routeSet) {
      const body = method === 'POST' ? await this.readJson(req, MAX_CLI_BYTES) : undefined
      const answer = await routeSet.answer(method, path, body, caller)
      return this.reply(req, res, answer.status, answer.body)
    }
    const segmentCall = /^\/v1\/([a-z]+)$/.exec(path)
    if (segmentCall) throw new InputError(`no such Segment call: /v1/${segmentCall[1]}`, 404)
    throw new InputError(`no such route: ${method} ${path}; GET / lists the routes`, 404)
  }

  private reply(req: http.IncomingMessage, res: http.ServerResponse, status: number, value: unknown): void {
    sendText(res, status, JSON.stringify(value), corsHeaders(req))
  }

  /** The server's own routes: Segment's API, the pipeline's own, and the sandbox's when there is one. */
  private ownRoutes(): ServerRoute[] {
    const { sandbox } = this.options
    const json =
      (answer: (req: http.IncomingMessage) => unknown) => async (req: http.IncomingMessage, res: http.ServerResponse) =>
        this.reply(req, res, 200, await answer(req))
    const routes: ServerRoute[] = [
      {
        method: 'GET',
        path: '/',
        what: 'this list of routes',
        run: json(() => ({ routes: this.routeList(), auth: authNote(this.openPaths) }))
      },
      ...EVENT_TYPES.map((type): ServerRoute => ({
        method: 'POST',
        path: `/v1/${type}`,
        what: `one ${type} call, in the body shape of Segment's HTTP Tracking API`,
        run: (req, res) => this.takeIn(req, res, type)
      })),
      {
        method: 'POST',
        path: '/v1/batch',
        what: '{"batch": [calls]}',
        run: (req, res) => this.takeIn(req, res, 'batch')
      },
      {
        method: 'POST',
        path: '/dry-run',
        what: 'one event (with its "type") or {"batch": [events]} → for each event, what each matching subscription maps it to, the requests that would go out and any failure; nothing is sent',
        run: json((req) => this.dryRun(req))
      },
      {
        method: 'GET',
        path: '/outcomes',
        what: '?messageId= | ?userId= | ?anonymousId= → what became of those events, per subscription (the last 10,000 outcomes are kept)',
        run: json((req) => this.outcomes(req))
      },
      {
        method: 'GET',
        path: '/status',
        what: 'delivery totals and recent failures',
        run: json(() => ({ ...this.options.describe(), ingest: this.ingest, delivery: this.options.delivery.status() }))
      }
    ]
    if (!sandbox) return routes
    const forward = (req: http.IncomingMessage, res: http.ServerResponse) => sandbox.handle(req, res)
    const resetThenTell = (req: http.IncomingMessage, res: http.ServerResponse) => {
      res.on('finish', () => {
        if (res.statusCode === 200) this.options.onSandboxReset?.()
      })
      forward(req, res)
    }
    return [
      ...routes,
      ...SANDBOX_ROUTES.map(([method, path, what]): ServerRoute => ({
        method,
        path,
        what,
        run: path === '/sandbox/reset' ? resetThenTell : forward
      }))
    ]
  }

  /** Segment's HTTP Tracking API: one call to /v1/<type>, or /v1/batch. */
  private async takeIn(req: http.IncomingMessage, res: http.ServerResponse, call: EventType | 'batch'): Promise<void> {
    // Full: 503 before the body is read and parsed (a caller may come back many times before there is room).
    this.options.delivery.assertRoom()
    const { value: body, bytes } =
      call === 'batch'
        ? await this.readJsonBody(req, MAX_BATCH_BYTES, BATCH_LIMIT)
        : await this.readJsonBody(req, MAX_EVENT_BYTES, CALL_LIMIT)
    const { events, rejected, items, receivedAt } = call === 'batch' ? parseBatch(body) : single(parseEvent(body, call))
    if (events.length === 0) {
      const reason =
        rejected.length === 0
          ? 'the batch is empty'
          : call === 'batch'
            ? `no call in the batch could be used: ${describeRejected(rejected)}`
            : rejected[0].reason
      throw new InputError(reason)
    }
    // The spool keeps the call's body as it came, and what ingest added to its events.
    const { unsubscribed } = await this.options.delivery.enqueue(events, {
      route: call,
      body: bytes,
      receivedAt,
      items
    })
    this.ingest.calls++
    this.ingest.events += events.length
    this.ingest.rejectedEvents += rejected.length
    this.reply(req, res, 200, { success: true, accepted: events.length, unsubscribed, rejected })
  }

  /** POST /dry-run: the body of /v1/batch, or one event of any type with its "type". */
  private async dryRun(req: http.IncomingMessage): Promise<unknown> {
    const body = await this.readJson(req, MAX_BATCH_BYTES, BATCH_LIMIT)
    const isBatch = isRecord(body) && body.batch !== undefined
    if (!isBatch && !(isRecord(body) && body.type !== undefined)) {
      throw new InputError(
        `POST /dry-run takes one Segment event with its "type" (${EVENT_TYPES.join(', ')}), or {"batch": [events]} as /v1/batch does`
      )
    }
    const { events, rejected } = isBatch ? parseBatch(body) : single(parseEvent(body))
    const refused = new Set(rejected.map((r) => r.index))
    const indexes = Array.from({ length: events.length + rejected.length }, (_, i) => i).filter((i) => !refused.has(i))
    const planned = await this.options.dryRun.plan(events, indexes)
    return { dryRun: true, sent: 0, events: planned, rejected }
  }

  /** GET /outcomes?messageId=… (or userId, anonymousId). */
  private outcomes(req: http.IncomingMessage): unknown {
    const params = new URL(req.url ?? '/', 'http://pipeline').searchParams
    const given = OUTCOME_IDS.filter((name) => params.has(name))
    const name = given[0]
    const value = name === undefined ? undefined : params.get(name)
    if (given.length !== 1 || !value) {
      throw new InputError('GET /outcomes takes one of ?messageId=…, ?userId=… or ?anonymousId=…, not empty')
    }
    const query = { [name]: value } as OutcomeQuery
    const { delivery } = this.options
    const found = delivery.outcomesOf(query)
    return {
      query,
      found: found.length,
      outcomes: found.slice(-MAX_OUTCOMES_SHOWN),
      ...(found.length === 0 && {
        note: `no event with this ${name} among the last ${delivery.outcomeCapacity} outcomes or the deliveries held now`
      }),
      ...(found.length > MAX_OUTCOMES_SHOWN && {
        note: `the latest ${MAX_OUTCOMES_SHOWN} of ${found.length} are shown`
      })
    }
  }

  /** What GET / answers: the server's own routes, then each route set's. */
  private routeList(): Record<string, string> {
    const own = Object.fromEntries(this.routes.map((route) => [`${route.method} ${route.path}`, route.what]))
    return Object.assign(own, ...this.options.cli.map((set) => set.routes)) as Record<string, string>
  }
}

const BATCH_LIMIT = `a batch takes at most ${limitText(MAX_BATCH_BYTES)}, Segment's limit: split it into smaller batches`
const CALL_LIMIT = `one call takes at most ${limitText(MAX_EVENT_BYTES)}, Segment's limit: send less in its traits, properties or context`

const single = (parsed: ParsedEvent) =>
  parsed.ok
    ? { events: [parsed.event], rejected: [], items: [parsed.item], receivedAt: parsed.receivedAt }
    : { events: [], rejected: [{ index: 0, reason: parsed.reason }], items: [], receivedAt: '' }

const describeRejected = (rejected: Array<{ index: number; reason: string }>) =>
  rejected
    .slice(0, 5)
    .map(({ index, reason }) => `#${index}: ${reason}`)
    .join('; ') + (rejected.length > 5 ? `; and ${rejected.length - 5} more` : '')

/** What GET / says about the write key, which it does not ask for itself (the open paths are all GET routes). */
function authNote(openPaths: Iterable<string>): string {
  const open = [...openPaths].map((path) => `GET ${path}`)
  const listed = `${open.slice(0, -1).join(', ')} and ${open[open.length - 1]}`
  return `every route but ${listed} takes the write key as the basic-auth user name (curl -u <write key>:); npm start prints it`
}

/** The embedded sandbox's inspection routes, served on this port with the write key. */
const SANDBOX_ROUTES: Array<[method: 'GET' | 'POST', path: string, what: string]> = [
  ['GET', '/sandbox/contacts', 'the contacts the embedded Ortto sandbox holds (?user_id= | ?anonymous_id=)'],
  ['GET', '/sandbox/activities', 'the activities it holds'],
  ['GET', '/sandbox/audiences', 'the audiences it holds, with their members'],
  ['GET', '/sandbox/stats', 'what it received and answered'],
  ['POST', '/sandbox/reset', 'empties it'],
  ['GET', '/sandbox/faults', 'the faults it injects'],
  ['POST', '/sandbox/faults', 'sets them: a body like {"failRate": 0.1}; {} turns them off']
]
