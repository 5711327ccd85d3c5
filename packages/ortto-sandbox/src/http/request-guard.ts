/**
 * The checks every request to our loopback servers passes before any body is read or any route
 * runs, against browsers turned against them: a page on another site can send simple requests
 * (a text/plain POST needs no preflight) and, through DNS rebinding, read the answers under its
 * own host name.
 */
import type * as http from 'node:http'
import type { Socket } from 'node:net'
import { ERROR_CODES, errorBody, sendText } from './http-io'

export interface RequestGuardOptions {
  /** Browser origins that may call; a request with any other Origin header is refused. */
  allowedOrigins: ReadonlySet<string>
  /**
   * Also let through pages the server itself served: an Origin of `http://` and the Host the request
   * was checked to be addressed to (the pipeline's console, whose POSTs carry its own origin).
   */
  allowOwnOrigin?: boolean
}

export interface Refusal {
  status: 403 | 415 | 421
  message: string
}

/** For http.createServer: lets a request without Host reach the guard (and its 421) instead of node's bare 400. */
export const GUARDED_SERVER_OPTIONS: http.ServerOptions = { requireHostHeader: false }

/** Methods that read; every other one changes something and must send JSON. */
export const READING_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS'])

const isLoopback = (address: string) => address === '::1' || address.startsWith('127.')

/**
 * The Host values this connection may carry: the address and port the server bound (which the
 * connection arrived at), and `localhost:<port>` when that address is a loopback one.
 */
export function expectedHosts(socket: Socket): string[] {
  const port = socket.localPort ?? 0
  const address = (socket.localAddress ?? '').replace(/^::ffff:/, '')
  const hosts = [`${address.includes(':') ? `[${address}]` : address}:${port}`]
  if (isLoopback(address)) hosts.push(`localhost:${port}`)
  return hosts
}

/** Why the request is refused, or undefined when it may go on. */
export function refusalOf(req: http.IncomingMessage, options: RequestGuardOptions): Refusal | undefined {
  const hosts = expectedHosts(req.socket)
  const host = req.headers.host?.toLowerCase()
  if (host === undefined || !hosts.includes(host)) {
    return {
      status: 421,
      message:
        `${host === undefined ? 'no Host header' : `the Host header is "${host}"`}; this server answers only ` +
        `requests addressed to ${hosts.join(' or ')}`
    }
  }
  const origin = req.headers.origin
  const ownOrigin = options.allowOwnOrigin === true && origin === `http://${host}`
  if (origin !== undefined && !options.allowedOrigins.has(origin) && !ownOrigin) {
    const allowed = options.allowedOrigins.size === 0 ? 'none is' : `only ${[...options.allowedOrigins].join(', ')} are`
    return {
      status: 403,
      message: `requests from the web page at ${origin} are refused: ${allowed} allowed (requests without an Origin header, such as curl's, pass)`
    }
  }
  const method = req.method ?? 'GET'
  if (!READING_METHODS.has(method)) {
    const mediaType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase()
    if (mediaType !== 'application/json') {
      return {
        status: 415,
        message:
          `${method} takes a JSON body: send "content-type: application/json"` +
          (mediaType === '' ? ' (none was sent)' : ` (got "${mediaType}")`)
      }
    }
  }
  return undefined
}

/**
 * Answers a refused request and returns false, or returns true when it may go on. `headers` go on
 * the refusal (the pipeline's CORS headers, so an allowed page can read why).
 */
export function guardRequest(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  options: RequestGuardOptions,
  headers: Record<string, string> = {}
): boolean {
  const refusal = refusalOf(req, options)
  if (refusal === undefined) return true
  // Node reads and drops the unread body once the answer is sent, so the connection stays usable.
  sendText(res, refusal.status, errorBody(ERROR_CODES[refusal.status], refusal.message), headers)
  return false
}

/** `handler` behind the guard, for a server of its own (the standalone sandbox; create it with GUARDED_SERVER_OPTIONS). */
export function guarded(handler: http.RequestListener, options: RequestGuardOptions): http.RequestListener {
  return (req, res) => {
    if (guardRequest(req, res, options)) handler(req, res)
  }
}
