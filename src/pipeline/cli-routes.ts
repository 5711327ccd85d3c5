/**
 * The routes of the action-destinations CLI's `serve` command, with its body shapes, so Segment's
 * hosted Actions Tester and existing curl habits work against this server:
 *   GET  /manifest                      the catalog metadata of the destination
 *   POST /authenticate                  body = settings → testAuthentication
 *   POST /<action>                      {payload, settings, mapping, auth} → executeAction / executeBatch
 *   POST /<action>/hooks/<hook>         {settings, hookInputs} → executeHook
 * Each answer carries the results and the Ortto requests that were made (Authorization redacted).
 */
import {
  Destination,
  defaultValues,
  type DestinationDefinition,
  type JSONObject,
  type SegmentEvent
} from '@segment/actions-core'
import { isRecord, parseJson } from '../destinations/ortto/client/json'
import type { Settings } from '../destinations/ortto/generated-types'
import metadata from '../destinations/ortto/metadata.json'
import { InputError } from './segment-events'

export interface CliAnswer {
  status: number
  body: unknown
}

interface RecordedResponse {
  status: number
  content?: string
  request?: { method: string; url: string; headers: { forEach(fn: (value: string, key: string) => void): void } }
  options?: { body?: unknown }
}

/** Bodies are shown as JSON when they are JSON, as text otherwise. */
const parseMaybeJson = (text: unknown): unknown => (typeof text === 'string' ? (parseJson(text) ?? text) : text)

/** The requests a Destination instance made, as the tester shows them; the key never included. */
function requestsMade(destination: Destination<Settings>): unknown[] {
  return (destination.responses as unknown as RecordedResponse[]).map((response) => {
    const headers: Record<string, string> = {}
    response.request?.headers.forEach((value, key) => {
      headers[key] = key.toLowerCase() === 'authorization' ? '<redacted>' : value
    })
    return {
      request: {
        method: response.request?.method,
        url: response.request?.url,
        headers,
        body: parseMaybeJson(response.options?.body)
      },
      response: { status: response.status, body: parseMaybeJson(response.content) }
    }
  })
}

function errorAnswer(error: unknown, requests: unknown[]): CliAnswer {
  const e = error as { status?: number; code?: string; message?: string }
  const status = typeof e.status === 'number' && e.status >= 400 && e.status <= 599 ? e.status : 500
  return { status, body: { error: { status, code: e.code, message: e.message ?? String(error) }, requests } }
}

export class CliRoutes {
  constructor(
    private readonly definition: DestinationDefinition<Settings>,
    /** Used when a call's settings carry no api_key (the sandbox key, or ORTTO_API_KEY). */
    private readonly defaultSettings: Settings
  ) {}

  /** Whether `path` is one of these routes (so the server can answer 404 for anything else). */
  handles(path: string): boolean {
    if (path === '/manifest' || path === '/authenticate') return true
    const [slug] = path.slice(1).split('/')
    return Object.hasOwn(this.definition.actions, slug)
  }

  async answer(method: string, path: string, body: unknown): Promise<CliAnswer> {
    if (path === '/manifest') {
      if (method !== 'GET') throw new InputError('GET /manifest takes no body', 405)
      return { status: 200, body: metadata }
    }
    if (method !== 'POST') throw new InputError(`${path} takes POST`, 405)
    if (!isRecord(body)) throw new InputError('the body must be a JSON object')
    if (path === '/authenticate') return this.authenticate(body)

    const [slug, hooks, hook, ...rest] = path.slice(1).split('/')
    if (hooks === undefined) return this.runAction(slug, body)
    if (hooks === 'hooks' && hook && rest.length === 0) return this.runHook(slug, hook, body)
    throw new InputError(`no such route: POST ${path}`, 404)
  }

  private settingsFrom(value: unknown): Settings {
    if (value !== undefined && !isRecord(value)) throw new InputError('"settings" must be an object')
    return { ...this.defaultSettings, ...(value as Partial<Settings> | undefined) }
  }

  /** testAuthentication's requests are not recorded by actions-core, so none are listed here. */
  private async authenticate(settings: Record<string, unknown>): Promise<CliAnswer> {
    const destination = new Destination(this.definition)
    try {
      await destination.testAuthentication(this.settingsFrom(settings))
      return { status: 200, body: { ok: true } }
    } catch (error) {
      return { status: 401, body: { error: { message: (error as Error).message } } }
    }
  }

  private async runAction(slug: string, body: Record<string, unknown>): Promise<CliAnswer> {
    const { payload, mapping, auth } = body
    const isEvent = (value: unknown) => isRecord(value)
    if (!(isEvent(payload) || (Array.isArray(payload) && payload.length > 0 && payload.every(isEvent)))) {
      throw new InputError('"payload" must be a Segment event object or a non-empty array of them')
    }
    if (mapping !== undefined && !isRecord(mapping)) throw new InputError('"mapping" must be an object')
    const destination = new Destination(this.definition)
    const input = {
      mapping: { ...defaultValues(this.definition.actions[slug].fields), ...(mapping as JSONObject | undefined) },
      settings: this.settingsFrom(body.settings),
      auth: isRecord(auth) ? (auth as { accessToken: string; refreshToken: string }) : undefined
    }
    try {
      if (Array.isArray(payload)) {
        const results = await destination.executeBatch(slug, { ...input, events: payload as unknown as SegmentEvent[] })
        const allDelivered = results.every((result) => result.status >= 200 && result.status < 300)
        return { status: allDelivered ? 200 : 207, body: { results, requests: requestsMade(destination) } }
      }
      const results = await destination.actions[slug].execute({ ...input, data: payload })
      return { status: 200, body: { results, requests: requestsMade(destination) } }
    } catch (error) {
      return errorAnswer(error, requestsMade(destination))
    }
  }

  private async runHook(slug: string, hook: string, body: Record<string, unknown>): Promise<CliAnswer> {
    const hooks = this.definition.actions[slug].hooks ?? {}
    if (!Object.hasOwn(hooks, hook)) throw new InputError(`${slug} has no hook "${hook}"`, 404)
    const destination = new Destination(this.definition)
    try {
      const result = await destination.actions[slug].executeHook(hook as keyof typeof hooks, {
        settings: this.settingsFrom(body.settings),
        payload: undefined,
        hookInputs: isRecord(body.hookInputs) ? body.hookInputs : {}
      })
      const status = result.error ? 400 : 200
      return { status, body: { ...result, requests: requestsMade(destination) } }
    } catch (error) {
      return errorAnswer(error, requestsMade(destination))
    }
  }
}
