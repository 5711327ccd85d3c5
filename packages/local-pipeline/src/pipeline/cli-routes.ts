/**
 * The routes of the action-destinations CLI's `./bin/run serve`, in its answer shapes, so Segment's
 * hosted Actions Tester works against this server (docs/routes.md, "The action-destinations CLI routes").
 * One deliberate difference: answers never carry an API key, not even in an exchange's body.
 */
import type { Destination, DestinationDefinition, OAuth2ClientCredentials } from '@segment/actions-core'
import { isRecord } from './json'
import { InputError } from './http/errors'
import { ActionCalls, optionalObject, schemaFields, statusOf } from './action-calls'
import { messageOf } from './error-message'
import type { AuthTokens, CliAnswer, CliRouteSet } from './action-calls'
import type { Caller, WriteKeyGate } from './write-key'

type HookName = Parameters<Destination['actions'][string]['executeHook']>[0]

type AudienceCall = 'createAudience' | 'getAudience'

/** actions-core runs createAudience/getAudience only when the definition's audienceConfig has both. */
function hasAudienceFunctions<Settings>(definition: DestinationDefinition<Settings>): boolean {
  const config = (definition as { audienceConfig?: Partial<Record<AudienceCall, unknown>> }).audienceConfig
  return typeof config?.createAudience === 'function' && typeof config.getAudience === 'function'
}

const hasDynamicFields = <Settings>(definition: DestinationDefinition<Settings>) =>
  Object.values(definition.actions).some((action) => Object.values(action.fields).some((field) => field.dynamic))

const hasHooks = <Settings>(definition: DestinationDefinition<Settings>) =>
  Object.values(definition.actions).some((action) => Object.keys(action.hooks ?? {}).length > 0)

/** A hook's or a dynamic field's failure, as serve answers it (inside a one-item array). */
function failure(error: unknown): { message: string; code?: string } {
  const code = (error as { code?: unknown } | undefined)?.code
  return { message: messageOf(error), code: typeof code === 'string' ? code : undefined }
}

/** What serve answers, with a 200, for an action that threw. */
function thrownError(error: unknown) {
  const fields = schemaFields(error)
  const stack = error instanceof Error && typeof error.stack === 'string' ? error.stack.split('\n') : []
  return {
    statusCode: statusOf(error) ?? 500,
    message: messageOf(error),
    stack,
    ...(fields === undefined ? {} : { fields }),
    requestError: true
  }
}

export class CliRoutes<Settings> implements CliRouteSet {
  private readonly calls: ActionCalls<Settings>
  private readonly audiences: boolean
  readonly routes: Record<string, string>
  readonly openPaths = ['/manifest']

  constructor(
    private readonly definition: DestinationDefinition<Settings>,
    defaultSettings: Settings,
    /** The destination's folder name, which serve adds to /manifest as `directoryName`. */
    private readonly directoryName: string,
    gate: WriteKeyGate
  ) {
    this.calls = new ActionCalls(definition, defaultSettings, gate)
    this.audiences = hasAudienceFunctions(definition)
    this.routes = {
      'GET /manifest': 'the definition as the code exports it, plus directoryName (serve)',
      'POST /authenticate': 'body = settings → {ok, error, fields}, always 200 (serve)',
      'POST /refreshAccessToken': '{settings, oauth} → 200 {ok, data} or 400 {ok, error} (serve)',
      ...(this.audiences
        ? {
            'POST /createAudience':
              '{settings, audienceName, audienceSettings} → {externalId}, or 400 {ok, error} (serve)',
            'POST /getAudience': '{settings, externalId} → {externalId}, or 400 {ok, error} (serve)'
          }
        : {}),
      'POST /<action>':
        '{payload, settings, mapping, auth, features, subscriptionMetadata} → [{request, response}] of each request made (serve)',
      ...(hasHooks(definition)
        ? { 'POST /<action>/hooks/<hook>': '{settings, hookInputs, hookOutputs, payload} → the hook result (serve)' }
        : {}),
      ...(hasDynamicFields(definition)
        ? { 'POST /<action>/<dynamicField>': '{settings, payload, page, auth} → the field choices (serve)' }
        : {})
    }
  }

  /** The audience call a path names, when this destination has audience functions. */
  private audienceCall(path: string): AudienceCall | undefined {
    if (!this.audiences) return undefined
    return path === '/createAudience' ? 'createAudience' : path === '/getAudience' ? 'getAudience' : undefined
  }

  /** Whether `path` is one of these routes (so the server can answer 404 for anything else). */
  handles(path: string): boolean {
    return (
      path === '/manifest' ||
      path === '/authenticate' ||
      path === '/refreshAccessToken' ||
      this.audienceCall(path) !== undefined ||
      this.calls.hasAction(path.slice(1).split('/')[0])
    )
  }

  async answer(method: string, path: string, body: unknown, caller: Caller): Promise<CliAnswer> {
    if (path === '/manifest') {
      if (method !== 'GET') throw new InputError('/manifest takes GET', 405)
      return { status: 200, body: this.calls.redact({ ...this.definition, directoryName: this.directoryName }) }
    }
    if (method !== 'POST') throw new InputError(`${path} takes POST`, 405)
    if (!isRecord(body)) throw new InputError(`the body of POST ${path} must be a JSON object`)
    if (path === '/authenticate') return this.authenticate(body, caller)
    if (path === '/refreshAccessToken') return this.refreshAccessToken(body, caller)
    const audienceCall = this.audienceCall(path)
    if (audienceCall) return this.audience(audienceCall, body, caller)

    const [slug, second, hook, ...rest] = path.slice(1).split('/')
    if (!this.calls.hasAction(slug)) throw new InputError(`no such route: POST ${path}; GET / lists the routes`, 404)
    if (second === undefined) return this.runAction(slug, body, caller)
    if (second === 'hooks' && hook && rest.length === 0) return this.runHook(slug, hook, body, caller)
    if (hook === undefined && second !== 'hooks') return this.dynamicField(slug, second, body, caller)
    throw new InputError(`no such route: POST ${path}; GET / lists the routes`, 404)
  }

  /** testAuthentication's requests are not recorded by actions-core, so none are shown. */
  private async authenticate(body: Record<string, unknown>, caller: Caller): Promise<CliAnswer> {
    const settings = this.calls.settingsFrom(body, caller)
    try {
      await this.calls.newDestination().testAuthentication(settings)
      return { status: 200, body: { ok: true } }
    } catch (error) {
      const answer = { ok: false, error: messageOf(error), fields: schemaFields(error) ?? {} }
      return { status: 200, body: this.calls.redact(answer, settings) }
    }
  }

  private async refreshAccessToken(body: Record<string, unknown>, caller: Caller): Promise<CliAnswer> {
    const settings = this.calls.settingsFrom(body.settings, caller)
    if (body.oauth !== undefined && !isRecord(body.oauth)) {
      throw new InputError('"oauth" must be an object: {clientId, clientSecret, accessToken, refreshToken}')
    }
    try {
      const oauth = (body.oauth ?? {}) as unknown as OAuth2ClientCredentials
      const data = await this.calls.newDestination().refreshAccessToken(settings, oauth)
      return { status: 200, body: this.calls.redact({ ok: true, data }, settings) }
    } catch (error) {
      return { status: 400, body: this.calls.redact({ ok: false, error: messageOf(error) }, settings) }
    }
  }

  /** The body is the audience input itself: {settings, audienceName | externalId, audienceSettings, …}. */
  private async audience(call: AudienceCall, body: Record<string, unknown>, caller: Caller): Promise<CliAnswer> {
    const settings = this.calls.settingsFrom(body.settings, caller)
    const destination = this.calls.newDestination()
    try {
      const input = { ...body, settings }
      const result =
        call === 'createAudience'
          ? await destination.createAudience(input as Parameters<typeof destination.createAudience>[0])
          : await destination.getAudience(input as Parameters<typeof destination.getAudience>[0])
      return { status: 200, body: this.calls.redact(result, settings) }
    } catch (error) {
      return { status: 400, body: this.calls.redact({ ok: false, error: messageOf(error) }, settings) }
    }
  }

  private async runAction(slug: string, body: Record<string, unknown>, caller: Caller): Promise<CliAnswer> {
    const run = await this.calls.runAction(slug, body, caller)
    const answer = run.outcome.ok ? run.exchanges : [thrownError(run.outcome.error)]
    return { status: 200, body: this.calls.redact(answer, run.settings) }
  }

  private async runHook(slug: string, hook: string, body: Record<string, unknown>, caller: Caller): Promise<CliAnswer> {
    const hooks = this.definition.actions[slug].hooks ?? {}
    if (!Object.hasOwn(hooks, hook)) throw new InputError(`${slug} has no hook "${hook}"`, 404)
    if (body.hookInputs !== undefined && !isRecord(body.hookInputs)) {
      throw new InputError(
        '"hookInputs" must be an object of the hook\'s input fields, such as {"audience_name": "VIP"}'
      )
    }
    const settings = this.calls.settingsFrom(body.settings, caller)
    const input = {
      settings,
      payload: body.payload,
      hookInputs: body.hookInputs ?? {},
      hookOutputs: optionalObject(body, 'hookOutputs')
    }
    try {
      const result = await this.calls.newDestination().actions[slug].executeHook(hook as HookName, input)
      if (result.error) return { status: 500, body: this.calls.redact([failure(result.error)], settings) }
      return { status: 200, body: this.calls.redact(result, settings) }
    } catch (error) {
      return { status: 500, body: this.calls.redact([failure(error)], settings) }
    }
  }

  /** Fields marked `dynamic` get their choices from the action's dynamicFields. */
  private async dynamicField(
    slug: string,
    field: string,
    body: Record<string, unknown>,
    caller: Caller
  ): Promise<CliAnswer> {
    const fields = this.definition.actions[slug].fields
    if (!Object.hasOwn(fields, field) || !fields[field].dynamic) {
      throw new InputError(`no such route: POST /${slug}/${field} (${slug} has no dynamic field "${field}")`, 404)
    }
    const settings = this.calls.settingsFrom(body.settings, caller)
    const input = {
      settings,
      payload: body.payload ?? {},
      page: typeof body.page === 'string' ? body.page : undefined,
      auth: optionalObject(body, 'auth') as AuthTokens | undefined
    }
    try {
      const result = await this.calls.newDestination().actions[slug].executeDynamicField(field, input)
      if (result.error) return { status: 500, body: this.calls.redact([result.error], settings) }
      return { status: 200, body: this.calls.redact(result, settings) }
    } catch (error) {
      return { status: 500, body: this.calls.redact([failure(error)], settings) }
    }
  }
}
