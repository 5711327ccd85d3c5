import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { isOrttoApiKey } from './contract'
import { errorBody, sendText } from '../http/http-io'
import { GUARDED_SERVER_OPTIONS, guarded } from '../http/request-guard'
import { FaultInjector } from './faults'
import { openDataFile } from './data-file/open'
import { DataFileWriter } from './data-file/writer'
import { SandboxApp } from './server'
import { SandboxStore } from './store'
import type { Sandbox, SandboxOptions } from './types'

/**
 * The Ortto sandbox: a real HTTP server on loopback that speaks Ortto's API (docs/ortto-api.md), keeps what it
 * receives, can inject faults, and lets tests and people look inside through /sandbox/*.
 */

export { SandboxDataError } from './errors'
export { FaultOptionsError } from './faults'
export type {
  FaultOptions,
  Sandbox,
  SandboxActivity,
  SandboxAudience,
  SandboxContact,
  SandboxMembershipChange,
  SandboxOptions,
  SandboxState,
  SandboxStats
} from './types'

export const DEFAULT_HOST = '127.0.0.1'

function checkOptions(options: SandboxOptions): void {
  const { port, acceptedKeys } = options
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new RangeError('port must be a whole number from 0 to 65535 (0 picks a free port)')
  }
  acceptedKeys?.forEach((key, i) => {
    // The key itself is never quoted, not even in this message.
    if (!isOrttoApiKey(key)) throw new TypeError(`acceptedKeys[${i}] is not a well-formed Ortto API key`)
  })
}

/** The sandbox's own port with only Ortto's API: inspection is served elsewhere, behind a key. */
function withoutInspection(handle: http.RequestListener): http.RequestListener {
  return (req, res) => {
    if (!(req.url ?? '/').startsWith('/sandbox')) return handle(req, res)
    sendText(
      res,
      404,
      errorBody('not-found', "this sandbox is inspected on the pipeline's port, with its write key: /sandbox/… there")
    )
  }
}

const hostForUrl = (host: string): string => (host.includes(':') ? `[${host}]` : host)

const logToStderr = (line: string): void => {
  process.stderr.write(`${line}\n`)
}

/**
 * Starts the sandbox and resolves once it listens. Rejects with SandboxDataError when the
 * data file cannot be used, FaultOptionsError for bad fault options, and the listen error
 * (e.g. EADDRINUSE) when the port cannot be taken.
 */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  checkOptions(options)
  const host = options.host ?? DEFAULT_HOST
  const faults = new FaultInjector(options.faults ?? {})
  const store = new SandboxStore({ trackChanges: options.dataFile !== undefined })
  let writer: DataFileWriter | undefined
  if (options.dataFile !== undefined) {
    const loaded = await openDataFile(options.dataFile, logToStderr)
    store.load(loaded.state)
    writer = new DataFileWriter(
      loaded,
      () => store.view(),
      (error) => logToStderr(`ortto sandbox: ${error.message}`)
    )
  }
  const app = new SandboxApp({
    store,
    faults,
    writer,
    acceptedKeys: options.acceptedKeys && new Set(options.acceptedKeys),
    log: logToStderr
  })

  const ownPort = options.inspectionOnOwnPort === false ? withoutInspection(app.handle) : app.handle
  // The shared request guard (Host, Origin: none allowed, content-type) runs before any route.
  const server = http.createServer(GUARDED_SERVER_OPTIONS, guarded(ownPort, { allowedOrigins: new Set() }))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo

  let stopping: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    app.cancelPendingAnswers()
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeAllConnections()
    await closed
    await writer?.close()
  }

  return {
    url: `http://${hostForUrl(host)}:${port}`,
    port,
    handle: app.handle,
    setFaults: (next) => app.setFaults(next),
    reset: () => app.reset(),
    snapshot: () => structuredClone(store.view()),
    stats: () => app.stats(),
    stop: () => (stopping ??= stop())
  }
}
