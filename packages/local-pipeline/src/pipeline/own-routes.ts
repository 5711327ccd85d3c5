/**
 * Our own routes beside the serve ones (cli-routes.ts), for what serve's shapes leave out:
 *   GET  /metadata             the normalized catalog metadata (metadata.json)
 *   POST /results/<action>     the same body as POST /<action>; answers each event's result
 *                              with the requests made: 207 when a batch has failures, and a
 *                              failed single event answers its error's status
 */
import type { DestinationDefinition } from '@segment/actions-core'
import { isRecord } from './json'
import { InputError } from './http/errors'
import { ActionCalls, statusOf } from './action-calls'
import { messageOf } from './error-message'
import type { CliAnswer, CliRouteSet } from './action-calls'
import type { Caller, WriteKeyGate } from './write-key'

const RESULTS_PREFIX = '/results/'

const isDelivered = (result: unknown) =>
  isRecord(result) && typeof result.status === 'number' && result.status >= 200 && result.status < 300

export class OwnRoutes<Settings> implements CliRouteSet {
  private readonly calls: ActionCalls<Settings>
  readonly routes = {
    'GET /metadata': 'the catalog metadata (metadata.json)',
    'POST /results/<action>':
      'same body as POST /<action> → {results, requests}; 207 when a batch has failures, an error its status'
  }
  readonly openPaths = ['/metadata']

  constructor(
    definition: DestinationDefinition<Settings>,
    defaultSettings: Settings,
    /** The destination's catalog metadata, answered as is. */
    private readonly metadata: unknown,
    gate: WriteKeyGate
  ) {
    this.calls = new ActionCalls(definition, defaultSettings, gate)
  }

  handles(path: string): boolean {
    return path === '/metadata' || path.startsWith(RESULTS_PREFIX)
  }

  async answer(method: string, path: string, body: unknown, caller: Caller): Promise<CliAnswer> {
    if (path === '/metadata') {
      if (method !== 'GET') throw new InputError('/metadata takes GET', 405)
      return { status: 200, body: this.metadata }
    }
    if (method !== 'POST') throw new InputError(`${path} takes POST`, 405)
    const slug = path.slice(RESULTS_PREFIX.length)
    if (!this.calls.hasAction(slug)) {
      const actions = Object.keys(this.calls.definition.actions).join(', ')
      throw new InputError(`no such action: "${slug}"; POST /results/<action> takes one of ${actions}`, 404)
    }
    if (!isRecord(body)) throw new InputError(`the body of POST ${path} must be a JSON object`)

    const run = await this.calls.runAction(slug, body, caller)
    const requests = run.exchanges
    if (run.outcome.ok) {
      const { results } = run.outcome
      const status = Array.isArray(body.payload) && !results.every(isDelivered) ? 207 : 200
      return { status, body: this.calls.redact({ results, requests }, run.settings) }
    }
    const { error } = run.outcome
    const given = statusOf(error)
    const status = given !== undefined && given >= 400 && given <= 599 ? given : 500
    const code = (error as { code?: unknown } | undefined)?.code
    return {
      status,
      body: this.calls.redact({ error: { status, code, message: messageOf(error) }, requests }, run.settings)
    }
  }
}
