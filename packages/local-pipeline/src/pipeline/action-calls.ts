/**
 * What the action-destinations CLI `serve` routes (cli-routes.ts) and our own routes
 * (own-routes.ts) share: reading the body of an action call and running it on a fresh
 * Destination, the requests it made as exchanges, how a thrown error reads, and removing every
 * secret from an answer.
 */
import { Destination, defaultValues } from '@segment/actions-core'
import type { DecoratedResponse, DestinationDefinition, Features, JSONObject } from '@segment/actions-core'
import { redactDeep, redactApiKey } from 'actions-ortto'
import { isRecord, parseJson } from './json'
import { InputError } from './http/errors'
import { writeKeyRefusal } from './write-key'
import type { Caller, WriteKeyGate } from './write-key'

export interface CliAnswer {
  status: number
  body: unknown
}

/** One set of routes; the server asks each set in turn whether it handles a path. */
export interface CliRouteSet {
  /** What `GET /` lists for this set. */
  readonly routes: Record<string, string>
  /** Its paths that answer without the write key: static, with no secret and no state. */
  readonly openPaths: readonly string[]
  handles(path: string): boolean
  answer(method: string, path: string, body: unknown, caller: Caller): Promise<CliAnswer>
}

/** One request an action made and Ortto's answer to it, as the serve command shows them. */
export interface Exchange {
  request: { url: string; method: string; headers: Record<string, string>; body: string }
  response: { statusCode: number; statusMessage: string; headers: Record<string, string>; body: unknown }
}

/** Headers whose value is never shown (the names serve redacts). */
const SECRET_HEADERS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-auth-token',
  'api-key'
])

const REDACTED_HEADER = '<redacted>'

/** Headers as answers show them: every secret one `<redacted>`. */
export function shownHeaders(headers: Headers | undefined): Record<string, string> {
  const shown: Record<string, string> = {}
  headers?.forEach((value, name) => {
    shown[name] = SECRET_HEADERS.has(name.toLowerCase()) ? REDACTED_HEADER : value
  })
  return shown
}

/** The request body as it went on the wire: a JSON body is already its text. */
export function bodyText(body: unknown): string {
  if (body === undefined || body === null) return ''
  if (typeof body === 'string') return body
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8')
  if (body instanceof URLSearchParams) return body.toString()
  // A stream or form data cannot be read again here: say what it was.
  return Object.prototype.toString.call(body)
}

/** One request an action made (actions-core keeps it on the answer) and its answer, as serve shows them. */
export function exchangeOf(response: DecoratedResponse): Exchange {
  const content = typeof response.content === 'string' ? response.content : ''
  return {
    request: {
      url: response.request.url,
      method: response.request.method,
      headers: shownHeaders(response.request.headers),
      body: bodyText(response.options.body)
    },
    response: {
      statusCode: response.status,
      statusMessage: response.statusText,
      headers: shownHeaders(response.headers),
      body: parseJson(content) ?? content
    }
  }
}

/** The requests a Destination instance made through its actions (actions-core records no others). */
const exchangesOf = <Settings>(destination: Destination<Settings>): Exchange[] => destination.responses.map(exchangeOf)

/** The HTTP status an error carries (its own, or that of the answer that caused it). */
export function statusOf(error: unknown): number | undefined {
  const e = error as { status?: unknown; response?: { status?: unknown } } | undefined
  if (typeof e?.status === 'number') return e.status
  if (typeof e?.response?.status === 'number') return e.response.status
  return undefined
}

/**
 * For a schema error (actions-core throws ajv-human-errors' AggregateAjvError, iterable over one
 * error per problem): the message of each problem by field path, `$.` dropped. Else undefined.
 */
export function schemaFields(error: unknown): Record<string, string> | undefined {
  if (!(error instanceof Error) || error.name !== 'AggregateAjvError' || !(Symbol.iterator in error)) return undefined
  const entries: Array<[string, string]> = []
  for (const problem of error as unknown as Iterable<{ path?: unknown; message?: unknown }>) {
    if (typeof problem.path === 'string') entries.push([problem.path.replace(/^\$\./, ''), String(problem.message)])
  }
  // fromEntries defines own properties, so a "__proto__" path stays a key.
  return Object.fromEntries(entries)
}

function redactText(text: string, secrets: string[]): string {
  return secrets.reduce((redacted, secret) => redactApiKey(redacted, secret), text)
}

/** actions-core's AuthTokens, which its index does not export. */
export type AuthTokens = { accessToken: string; refreshToken: string }

interface ActionRun<Settings> {
  settings: Settings
  /** What execute / executeBatch returned, or what it threw. */
  outcome: { ok: true; results: unknown[] } | { ok: false; error: unknown }
  exchanges: Exchange[]
}

/** Runs the calls of one destination definition with the pipeline's settings as defaults. */
export class ActionCalls<Settings> {
  /** Settings fields whose values are secrets (type "password", as the Ortto API key is). */
  private readonly secretFields: string[]

  constructor(
    readonly definition: DestinationDefinition<Settings>,
    /** Used where a call's settings leave a field out (the sandbox key, or ORTTO_API_KEY). */
    private readonly defaultSettings: Settings,
    private readonly gate: WriteKeyGate
  ) {
    const fields = definition.authentication?.fields ?? {}
    this.secretFields = Object.keys(fields).filter((name) => fields[name].type === 'password')
  }

  hasAction(slug: string): boolean {
    return Object.hasOwn(this.definition.actions, slug)
  }

  newDestination(): Destination<Settings> {
    return new Destination(this.definition)
  }

  /**
   * The call's settings laid over the pipeline's, so a call without an api_key uses the pipeline's
   * key. Every action route takes its settings here, so this is where the write key is required:
   * a 401 unless the caller showed it or the call may run without it (WriteKeyGate).
   */
  settingsFrom(value: unknown, caller: Caller): Settings {
    if (!caller.writeKeyShown && !this.gate.mayRunWithoutWriteKey(value)) throw writeKeyRefusal()
    if (value !== undefined && !isRecord(value)) {
      throw new InputError('"settings" must be an object of the destination\'s settings, such as {"api_key": "pau-…"}')
    }
    return { ...this.defaultSettings, ...value }
  }

  /**
   * `value` as JSON would carry it, with every secret of the call's settings and of the pipeline's
   * removed from every string (Ortto may echo the key in a body, a header or an error message).
   * Strings are redacted after parsing, so a key that JSON escapes is still found.
   */
  redact(value: unknown, settings?: unknown): unknown {
    if (value === undefined) return value
    const secrets: string[] = []
    for (const source of [settings, this.defaultSettings]) {
      for (const field of this.secretFields) {
        const secret = isRecord(source) ? source[field] : undefined
        if (typeof secret === 'string' && secret !== '') secrets.push(secret, JSON.stringify(secret).slice(1, -1))
      }
    }
    return redactDeep(JSON.parse(JSON.stringify(value)), (text) => redactText(text, secrets))
  }

  /**
   * POST /<action> and POST /results/<action>: `{payload, settings, mapping, auth, features,
   * subscriptionMetadata}`; `mapping` is laid over the action's field defaults; an array payload
   * runs the action's executeBatch, an object its execute.
   */
  async runAction(slug: string, body: Record<string, unknown>, caller: Caller): Promise<ActionRun<Settings>> {
    const { payload } = body
    if (!(isRecord(payload) || (Array.isArray(payload) && payload.length > 0 && payload.every(isRecord)))) {
      throw new InputError(
        '"payload" must be a Segment event object or a non-empty array of them (an array runs the batch path)'
      )
    }
    const settings = this.settingsFrom(body.settings, caller)
    const destination = this.newDestination()
    const action = destination.actions[slug]
    const input = {
      mapping: { ...defaultValues(this.definition.actions[slug].fields), ...optionalObject(body, 'mapping') },
      settings,
      auth: optionalObject(body, 'auth') as AuthTokens | undefined,
      features: optionalObject(body, 'features') as Features | undefined,
      subscriptionMetadata: optionalObject(body, 'subscriptionMetadata')
    }
    try {
      const results = Array.isArray(payload)
        ? await action.executeBatch({ ...input, data: payload })
        : await action.execute({ ...input, data: payload })
      return { settings, outcome: { ok: true, results }, exchanges: exchangesOf(destination) }
    } catch (error) {
      return { settings, outcome: { ok: false, error }, exchanges: exchangesOf(destination) }
    }
  }
}

/** `body[key]` when it is an object, undefined when absent; a 400 saying so otherwise. */
export function optionalObject(body: Record<string, unknown>, key: string): JSONObject | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  if (!isRecord(value)) throw new InputError(`"${key}" must be an object when given (got ${describeType(value)})`)
  return value as JSONObject
}

const describeType = (value: unknown) => (Array.isArray(value) ? 'an array' : `a ${typeof value}`)
