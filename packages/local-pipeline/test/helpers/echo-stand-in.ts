/**
 * A loopback Ortto stand-in that echoes secrets back: every answer carries the request's
 * Authorization header, and every one it has seen so far, in its JSON body and in `x-echo` and
 * `set-cookie` headers. Tests point a pipeline at it (`{target: {kind: 'endpoint', url}}`) to
 * check that no answer of ours repeats an API key Ortto echoed.
 */
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { readBody, sendText } from 'ortto-sandbox'

/** A request the stand-in received, as it arrived. */
interface ReceivedRequest {
  method: string
  path: string
  headers: Record<string, string | string[] | undefined>
  body: string
}

export interface EchoStandIn {
  url: string
  /** Every request received, in order. */
  received: ReceivedRequest[]
  close(): Promise<void>
}

/** How the stand-in answers a request (it always adds the echo headers). */
type EchoReply = (authorization: string, seen: string[], path: string) => { status: number; body: unknown }

/** By default: 401 for GET /v1/me (so the echo also lands in an error message), 200 otherwise. */
const echoEverything: EchoReply = (authorization, seen, path) => ({
  status: path === '/v1/me' ? 401 : 200,
  body: { echo: authorization, seen }
})

export async function echoStandIn(reply: EchoReply = echoEverything): Promise<EchoStandIn> {
  const seen: string[] = []
  const received: ReceivedRequest[] = []
  const server = http.createServer((req, res) => {
    void readBody(req, 4 * 1024 * 1024).then((read) => {
      const text = read.kind === 'ok' ? read.text : `<${read.kind}>`
      received.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers, body: text })
      const authorization = req.headers.authorization ?? ''
      if (!seen.includes(authorization)) seen.push(authorization)
      const { status, body } = reply(authorization, seen, req.url ?? '/')
      sendText(res, status, JSON.stringify(body), {
        'x-echo': authorization,
        'set-cookie': `session=${authorization}`
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}
