/**
 * A destination's route sets served under its folder (`/ortto-audiences/manifest`,
 * `/ortto-audiences/createAudience`…). `./bin/run serve --destination=<folder>` serves one
 * destination at the root; the pipeline does the same for SERVE_DESTINATION's, and serves the
 * other one here, in the same answer shapes, so both can be tried without a restart.
 */
import { InputError } from './http/errors'
import type { CliAnswer, CliRouteSet } from './action-calls'
import type { Caller } from './write-key'

/** "POST /createAudience" → "POST /<folder>/createAudience". */
const prefixedRoute = (route: string, prefix: string) => route.replace(' /', ` ${prefix}/`)

export class PrefixedRoutes implements CliRouteSet {
  readonly routes: Record<string, string>
  readonly openPaths: readonly string[]

  constructor(
    /** `/<folder>` */
    private readonly prefix: string,
    private readonly inner: CliRouteSet
  ) {
    this.routes = Object.fromEntries(
      Object.entries(inner.routes).map(([route, what]) => [prefixedRoute(route, prefix), what])
    )
    this.openPaths = inner.openPaths.map((path) => `${prefix}${path}`)
  }

  handles(path: string): boolean {
    return path.startsWith(`${this.prefix}/`) && this.inner.handles(path.slice(this.prefix.length))
  }

  async answer(method: string, path: string, body: unknown, caller: Caller): Promise<CliAnswer> {
    const innerPath = path.slice(this.prefix.length)
    try {
      return await this.inner.answer(method, innerPath, body, caller)
    } catch (error) {
      // The route's own messages name the path without the prefix; the caller sent it with one.
      if (error instanceof InputError) throw new InputError(error.message.replace(innerPath, path), error.status)
      throw error
    }
  }
}
