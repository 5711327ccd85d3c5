/**
 * The console at http://127.0.0.1:3000/: a browser asking for HTML at `/` gets the page; its
 * files, its live stream and the few answers made for it are under /console/. Everything takes the
 * write key, which the browser's own basic-auth prompt asks for (the 401 carries
 * `WWW-Authenticate: Basic`) and then sends with each request of the page; nothing served here
 * carries the write key or the Ortto API key. The page reads the pipeline's other routes as any
 * caller does: /status, /dry-run, /v1/batch, /outcomes.
 */
import type * as http from 'node:http'
import type { Sandbox } from 'ortto-sandbox'
import type { DeliveryPipeline } from '../delivery'
import { InputError } from '../http/errors'
import { writeKeyRefusal, type Caller } from '../write-key'
import { Assets, type Asset } from './assets'
import { LiveStreams } from './live'
import { searchSandbox } from './sandbox-search'

interface ConsoleOptions {
  delivery: DeliveryPipeline
  /** The embedded sandbox; without one (a stand-in, or real Ortto) the Sandbox view is hidden. */
  sandbox?: Sandbox
  /** Where deliveries go, in words. */
  destination: string
}

/** Every answer of the console: never cached, never sniffed as another type. */
const COMMON_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }

/** The page runs only what the pipeline serves, talks only to the pipeline, and is never framed. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer'
}

const ASSETS_PREFIX = '/console/assets/'

/** Whether a GET / comes from a browser that wants a page (curl and Segment's libraries do not ask for HTML). */
const wantsPage = (req: http.IncomingMessage): boolean => /\btext\/html\b/i.test(req.headers.accept ?? '')

function send(res: http.ServerResponse, asset: Asset, headers: Record<string, string> = {}): void {
  res.writeHead(200, {
    'content-type': asset.type,
    'content-length': String(asset.body.length),
    ...COMMON_HEADERS,
    ...headers
  })
  res.end(asset.body)
}

const json = (value: unknown): Asset => ({
  body: Buffer.from(JSON.stringify(value)),
  type: 'application/json; charset=utf-8'
})

export class ConsoleRoutes {
  private readonly assets = new Assets()
  private readonly live: LiveStreams

  constructor(private readonly options: ConsoleOptions) {
    this.live = new LiveStreams(() => this.state())
  }

  /** Whether a request is the console's: the page at `/` for a browser, and everything under /console/. */
  handles(method: string, path: string, req: http.IncomingMessage): boolean {
    if (path === '/') return method === 'GET' && wantsPage(req)
    return path.startsWith('/console/')
  }

  serve(req: http.IncomingMessage, res: http.ServerResponse, path: string, caller: Caller): void {
    if (!caller.writeKeyShown) throw writeKeyRefusal()
    if (req.method !== 'GET') throw new InputError(`${path} takes GET`, 405)
    if (path === '/') return send(res, this.assets.page(), PAGE_HEADERS)
    if (path.startsWith(ASSETS_PREFIX)) {
      const asset = this.assets.get(path.slice(ASSETS_PREFIX.length))
      if (!asset) throw new InputError(`the console has no file ${path}`, 404)
      return send(res, asset)
    }
    switch (path) {
      case '/console/live':
        return this.live.add(req, res)
      case '/console/state':
        return send(res, json(this.state()))
      case '/console/failures':
        return send(res, json(this.failures()))
      case '/console/sandbox':
        return send(res, json(this.sandboxSearch(req)))
      default:
        throw new InputError(`no such console route: ${path}; the console is at GET / (from a browser)`, 404)
    }
  }

  /** Ends the live streams (the pipeline is stopping): open pages must not hold the stop up. */
  close(): void {
    this.live.close()
  }

  /** What the live stream carries: totals, each subscription's counts, and what tells a view to read again. */
  state(): Record<string, unknown> {
    const { delivery, sandbox, destination } = this.options
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the failures have a request of their own
    const { recentFailures, ...totals } = delivery.status()
    return {
      destination,
      sandbox: sandbox !== undefined,
      totals,
      subscriptions: delivery.subscriptionCounts(),
      failures: { attempts: delivery.failedAttempts().recorded, deadLetter: delivery.deadLetters() ?? null },
      // Grows with every request the sandbox takes: its view reads again when it changes.
      sandboxRequests: sandbox ? sandbox.stats().requests : null
    }
  }

  private failures(): Record<string, unknown> {
    const { delivery } = this.options
    const { failed, recentFailures } = delivery.status()
    return {
      failed,
      deadLetter: delivery.deadLetters() ?? null,
      recentFailures: [...recentFailures].reverse(),
      attempts: delivery.failedAttempts()
    }
  }

  private sandboxSearch(req: http.IncomingMessage): unknown {
    const { sandbox } = this.options
    if (!sandbox) throw new InputError('there is no embedded sandbox: deliveries go elsewhere', 404)
    const params = new URL(req.url ?? '/', 'http://pipeline').searchParams
    const unknown = [...params.keys()].filter((name) => name !== 'q')
    if (unknown.length > 0) throw new InputError(`GET /console/sandbox takes only ?q= (got ${unknown.join(', ')})`)
    return searchSandbox(sandbox.snapshot(), params.get('q') ?? '')
  }
}
