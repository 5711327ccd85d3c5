/**
 * The local pipeline's HTTP server: Segment's HTTP Tracking API in front, the destination's
 * delivery pipeline behind, plus the CLI `serve` routes and our own action routes (`/results/…`,
 * `/metadata`), `/status`, and the embedded sandbox's inspection routes. This file is the plumbing
 * (guard, write key, dispatch, error answers); routes.ts is the table of the server's own routes.
 * Bad input gets a 4xx with the reason and the server keeps serving.
 */
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { ERROR_CODES, errorBody, sendText, GUARDED_SERVER_OPTIONS, guardRequest } from 'ortto-sandbox'
import { PipelineBusyError } from '../delivery'
import type { ConsoleRoutes } from '../console'
import { writeKeyRefusal } from '../write-key'
import type { WriteKeyGate } from '../write-key'
import { BROWSER_GUARD, corsHeaders } from './cors'
import { InputError } from './errors'
import type { IngestCounts } from './ingest-route'
import { readJson, replyJson } from './json-io'
import { serverRoutes, type RouteSources, type ServerRoute } from './routes'

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

interface PipelineServerOptions extends RouteSources {
  /** The write key every route but GET / and the route sets' open paths (and OPTIONS) asks for. */
  gate: WriteKeyGate
  /** A client that has not sent its whole request by then gets 408 (slow-client protection). */
  requestTimeoutMs: number
  /** The console: the page at GET / for a browser, and /console/*. */
  console?: ConsoleRoutes
  log: (line: string) => void
}

export class PipelineServer {
  readonly server: http.Server
  /** Every route the server answers itself, in the order GET / lists them; nothing else is routed but the route sets. */
  private readonly routes: ServerRoute[]
  private readonly ingest: IngestCounts = { calls: 0, events: 0, rejectedEvents: 0, refusedCalls: 0 }
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
    this.openPaths = new Set(['/', ...options.cli.flatMap((set) => set.openPaths)])
    this.routes = serverRoutes(options, this.ingest, this.openPaths)
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
    if (!guardRequest(req, res, BROWSER_GUARD, corsHeaders(req))) {
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
      const body = method === 'POST' ? await readJson(req, MAX_CLI_BYTES) : undefined
      const answer = await routeSet.answer(method, path, body, caller)
      return replyJson(req, res, answer.status, answer.body)
    }
    const segmentCall = /^\/v1\/([a-z]+)$/.exec(path)
    if (segmentCall) throw new InputError(`no such Segment call: /v1/${segmentCall[1]}`, 404)
    throw new InputError(`no such route: ${method} ${path}; GET / lists the routes`, 404)
  }
}
