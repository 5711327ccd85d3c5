/**
 * The sandbox's inspection API under /sandbox: what it holds, what it received, reset and faults.
 * docs/sandbox.md's table of these routes is checked against INSPECTION_ROUTES.
 */
import type * as http from 'node:http'
import { MAX_REQUEST_BYTES } from './contract'
import { SandboxDataError } from './errors'
import { FaultOptionsError, parseFaultOptions, type FaultInjector } from './faults'
import { errorBody, readBody, sendText } from '../http/http-io'
import { parseJson } from './json'
import type { SandboxStore } from './store'
import type { SandboxStats } from './types'

type InspectionRoute = 'contacts' | 'activities' | 'audiences' | 'stats' | 'reset' | 'faults'

/**
 * The inspection routes, the methods each takes and the query parameters (filters) each reads.
 * Any other parameter is refused, so a misspelt filter cannot answer everything as if it matched.
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

/** What the inspection routes read and change. */
export interface Inspected {
  store: SandboxStore
  faults: FaultInjector
  /** The counters as they are now (a reset replaces them). */
  counters: () => SandboxStats
  /** Rejects with SandboxDataError when the emptied state could not be saved. */
  reset: () => Promise<void>
}

/** Answers a request under /sandbox (anything but /v1). */
export async function inspect(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
  method: string,
  query: URLSearchParams,
  inspected: Inspected
): Promise<void> {
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
  return answer(req, res, inspection.route, method, query, inspected)
}

/** Why the query does not fit the route's filters, or undefined. */
function queryProblem(path: string, filters: string[], query: URLSearchParams): string | undefined {
  const unknown = [...new Set(query.keys())].filter((key) => !filters.includes(key))
  if (unknown.length === 0) return undefined
  const named = unknown.map((key) => JSON.stringify(key)).join(', ')
  return filters.length === 0
    ? `${path} takes no query parameters (got ${named})`
    : `${path} has no filter ${named}; its filters are ${filters.join(', ')}`
}

async function answer(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  route: InspectionRoute,
  method: string,
  query: URLSearchParams,
  { store, faults, counters, reset }: Inspected
): Promise<void> {
  const reply = (status: number, value: unknown): void => sendText(res, status, JSON.stringify(value))
  switch (route) {
    case 'contacts': {
      const userId = query.get('user_id')
      const anonymousId = query.get('anonymous_id')
      if (userId === null && anonymousId === null) return reply(200, { contacts: store.contactViews() })
      const found = store.findContact({ userId: userId ?? undefined, anonymousId: anonymousId ?? undefined })
      return reply(200, { contacts: found ? [found] : [] })
    }
    case 'activities':
      return reply(200, { activities: store.activityViews(query.get('contact_id') ?? undefined) })
    case 'audiences': {
      const filter = { id: query.get('id') ?? undefined, name: query.get('name') ?? undefined }
      const audiences = store.audienceViews(filter)
      const filtered = filter.id !== undefined || filter.name !== undefined
      const history = store.membershipHistory(filtered ? new Set(audiences.map((a) => a.id)) : undefined)
      return reply(200, { audiences, membership_history: history })
    }
    case 'stats':
      return reply(200, counters())
    case 'reset':
      try {
        await reset()
      } catch (error) {
        if (!(error instanceof SandboxDataError)) throw error
        return sendText(res, 500, errorBody('not-saved', `the reset was not saved: ${error.message}`))
      }
      return reply(200, { ok: true })
    case 'faults': {
      if (method === 'GET') return reply(200, { faults: faults.active })
      const body = await readBody(req, MAX_REQUEST_BYTES)
      if (body.kind === 'aborted') return
      if (body.kind === 'refused') return sendText(res, body.status, errorBody(body.code, body.message))
      const parsed = body.kind === 'ok' ? parseJson(body.text) : undefined
      try {
        faults.set(parseFaultOptions(parsed))
      } catch (error) {
        if (!(error instanceof FaultOptionsError)) throw error
        return sendText(res, 400, errorBody('bad-request', error.message))
      }
      return reply(200, { faults: faults.active })
    }
  }
}
