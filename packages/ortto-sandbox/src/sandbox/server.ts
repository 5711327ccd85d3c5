import type * as http from 'node:http'
import type { FaultInjector } from './faults'
import { SandboxDataError, messageOf } from './errors'
import { errorBody, sendText } from '../http/http-io'
import type { DataFileWriter } from './data-file/writer'
import { inspect, type Inspected } from './inspection'
import { OrttoApiStandIn } from './ortto-api'
import { emptyStats } from './request-stats'
import type { SandboxStore } from './store'
import type { FaultOptions, SandboxStats } from './types'

/**
 * The router: Ortto's API under /v1 (ortto-api.ts) and the sandbox's own inspection routes under
 * /sandbox (inspection.ts). Plain `(req, res)`, so it can run in its own server or be mounted in another.
 */

export interface SandboxAppOptions {
  store: SandboxStore
  faults: FaultInjector
  writer?: DataFileWriter
  acceptedKeys?: ReadonlySet<string>
  log: (line: string) => void
}

export class SandboxApp {
  private counters = emptyStats()
  private readonly store: SandboxStore
  private readonly faults: FaultInjector
  private readonly writer: DataFileWriter | undefined
  private readonly log: (line: string) => void
  private readonly api: OrttoApiStandIn
  private readonly inspected: Inspected

  constructor(options: SandboxAppOptions) {
    this.store = options.store
    this.faults = options.faults
    this.writer = options.writer
    this.log = options.log
    const counters = () => this.counters
    this.api = new OrttoApiStandIn({
      store: this.store,
      faults: this.faults,
      acceptedKeys: options.acceptedKeys,
      counters,
      save: () => this.save()
    })
    this.inspected = { store: this.store, faults: this.faults, counters, reset: () => this.reset() }
  }

  readonly handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    this.route(req, res).catch((error: unknown) => {
      this.log(`ortto sandbox: internal error: ${messageOf(error)}`)
      if (res.headersSent) res.destroy()
      else sendText(res, 500, errorBody('internal', 'the sandbox failed to handle this request'))
    })
  }

  stats(): SandboxStats {
    return structuredClone(this.counters)
  }

  setFaults(faults: FaultOptions): void {
    this.faults.set(faults)
  }

  /** Rejects with SandboxDataError when the emptied state could not be saved. */
  async reset(): Promise<void> {
    this.store.reset()
    this.counters = emptyStats()
    // Same faults, fresh PRNG and rate window: a reset run repeats the faults of the first.
    this.faults.set(this.faults.active)
    // Everything in the file is now obsolete: write the empty state rather than journal it.
    if (this.writer) await this.writer.save(this.store.takeChanges(), { compact: true })
  }

  /**
   * Saves what the request changed before it is answered, and waits until the file holds every
   * change memory holds, so an acknowledged change survives the process being killed — also when
   * this request changed nothing but an earlier one could not be saved. Resolves with why it could
   * not be saved, or undefined.
   */
  private async save(): Promise<string | undefined> {
    if (!this.writer) return undefined
    try {
      await this.writer.save(this.store.takeChanges())
      return undefined
    } catch (error) {
      if (!(error instanceof SandboxDataError)) throw error
      return error.message
    }
  }

  /** Stops answering held-back (slow) requests; their sockets close with the server. */
  cancelPendingAnswers(): void {
    this.api.cancelPendingAnswers()
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = req.url ?? '/'
    const queryStart = url.indexOf('?')
    const path = queryStart === -1 ? url : url.slice(0, queryStart)
    const query = new URLSearchParams(queryStart === -1 ? '' : url.slice(queryStart + 1))
    const method = req.method ?? 'GET'

    if (path === '/v1' || path.startsWith('/v1/')) return this.api.handle(req, res, path, method)
    return inspect(req, res, path, method, query, this.inspected)
  }
}
