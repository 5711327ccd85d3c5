/**
 * The route table: every route the pipeline's server answers itself (Segment's HTTP Tracking API,
 * the pipeline's own, the embedded sandbox's), in the order GET / lists them, and what GET / says.
 * The action route sets (cli-routes.ts, own-routes.ts) come after these.
 */
import type * as http from 'node:http'
import type { Sandbox } from 'ortto-sandbox'
import type { CliRouteSet } from '../action-calls'
import type { DeliveryPipeline } from '../delivery'
import type { DryRun } from '../dry-run'
import { EVENT_TYPES } from '../segment-events'
import { dryRunAnswer } from './dry-run-route'
import { takeIn, type IngestCounts } from './ingest-route'
import { replyJson } from './json-io'
import { outcomesAnswer } from './outcomes-route'
import { statusAnswer } from './status-route'

/** What the routes answer from. */
export interface RouteSources {
  delivery: DeliveryPipeline
  /** Answers POST /dry-run. */
  dryRun: Pick<DryRun<unknown>, 'plan'>
  /** The action routes (ours, and the CLI serve ones), asked in turn; the first that handles a path answers. */
  cli: CliRouteSet[]
  /** The embedded sandbox, whose /sandbox/* routes are also served on this port. */
  sandbox?: Sandbox
  /** Called once POST /sandbox/reset has emptied the sandbox. */
  onSandboxReset?: () => void
  /** Shown by GET /status. */
  describe: () => Record<string, unknown>
}

/** One route of the server's own (the route sets' come after these), as GET / lists it. */
export interface ServerRoute {
  method: 'GET' | 'POST'
  path: string
  /** What GET / says about it. */
  what: string
  run: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> | void
}

/** A route whose answer is JSON with 200; what it throws is answered by the server. */
const json =
  (answer: (req: http.IncomingMessage) => unknown) => async (req: http.IncomingMessage, res: http.ServerResponse) =>
    replyJson(req, res, 200, await answer(req))

/** The server's own routes; `openPaths` are those GET / says need no write key. */
export function serverRoutes(
  sources: RouteSources,
  ingest: IngestCounts,
  openPaths: ReadonlySet<string>
): ServerRoute[] {
  const { delivery, sandbox } = sources
  const routes: ServerRoute[] = [
    {
      method: 'GET',
      path: '/',
      what: 'this list of routes',
      run: json(() => ({ routes: routeList(routes, sources.cli), auth: authNote(openPaths) }))
    },
    ...EVENT_TYPES.map((type): ServerRoute => ({
      method: 'POST',
      path: `/v1/${type}`,
      what: `one ${type} call, in the body shape of Segment's HTTP Tracking API`,
      run: json((req) => takeIn(req, type, delivery, ingest))
    })),
    {
      method: 'POST',
      path: '/v1/batch',
      what: '{"batch": [calls]}',
      run: json((req) => takeIn(req, 'batch', delivery, ingest))
    },
    {
      method: 'POST',
      path: '/dry-run',
      what: 'one event (with its "type") or {"batch": [events]} → for each event, what each matching subscription maps it to, the requests that would go out and any failure; nothing is sent',
      run: json((req) => dryRunAnswer(req, sources.dryRun))
    },
    {
      method: 'GET',
      path: '/outcomes',
      what: '?messageId= | ?userId= | ?anonymousId= → what became of those events, per subscription (the last 10,000 outcomes are kept)',
      run: json((req) => outcomesAnswer(req, delivery))
    },
    {
      method: 'GET',
      path: '/status',
      what: 'delivery totals and recent failures',
      run: json(() => statusAnswer(sources.describe, ingest, delivery))
    }
  ]
  if (sandbox) routes.push(...sandboxRoutes(sandbox, sources.onSandboxReset))
  return routes
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

function sandboxRoutes(sandbox: Sandbox, onSandboxReset: (() => void) | undefined): ServerRoute[] {
  const forward = (req: http.IncomingMessage, res: http.ServerResponse) => sandbox.handle(req, res)
  const resetThenTell = (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.on('finish', () => {
      if (res.statusCode === 200) onSandboxReset?.()
    })
    forward(req, res)
  }
  return SANDBOX_ROUTES.map(([method, path, what]): ServerRoute => ({
    method,
    path,
    what,
    run: path === '/sandbox/reset' ? resetThenTell : forward
  }))
}

/** What GET / answers: the server's own routes, then each route set's. */
function routeList(routes: ServerRoute[], sets: CliRouteSet[]): Record<string, string> {
  const own = Object.fromEntries(routes.map((route) => [`${route.method} ${route.path}`, route.what]))
  return Object.assign(own, ...sets.map((set) => set.routes)) as Record<string, string>
}

/** What GET / says about the write key, which it does not ask for itself (the open paths are all GET routes). */
function authNote(openPaths: Iterable<string>): string {
  const open = [...openPaths].map((path) => `GET ${path}`)
  const listed = `${open.slice(0, -1).join(', ')} and ${open[open.length - 1]}`
  return `every route but ${listed} takes the write key as the basic-auth user name (curl -u <write key>:); npm start prints it`
}
