/**
 * A loopback Ortto stand-in that echoes secrets back: every answer carries the request's
 * Authorization header, and every one it has seen so far, in its JSON body and in `x-echo` and
 * `set-cookie` headers. Tests point a pipeline at it (`{target: {kind: 'endpoint', url}}`) to
 * check that no answer of ours repeats an API key Ortto echoed.
 */
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { readBody, sendText } from '../../src/http/http-io'

export interface EchoStandIn {
  url: string
  close(): Promise<void>
}

export async function echoStandIn(): Promise<EchoStandIn> {
  const seen: string[] = []
  const server = http.createServer((req, res) => {
    void readBody(req, 4 * 1024 * 1024).then(() => {
      const authorization = req.headers.authorization ?? ''
      if (!seen.includes(authorization)) seen.push(authorization)
      // GET /v1/me (testAuthentication) is refused, so the echo also lands in an error message.
      const status = req.url === '/v1/me' ? 401 : 200
      sendText(res, status, JSON.stringify({ echo: authorization, seen }), {
        'x-echo': authorization,
        'set-cookie': `session=${authorization}`
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}
