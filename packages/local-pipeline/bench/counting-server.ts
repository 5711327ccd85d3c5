/**
 * Counts what the targets send without touching them: the sandbox's own router
 * (`sandbox.handle`, which the sandbox exposes for mounting in another server) runs in a plain
 * node:http server that notes each request's body size and the bytes read off its sockets.
 * No proxy hop, no wrapper around any target's request client.
 */
import * as http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'

export interface ByteCounts {
  requests: number
  /** Request body bytes, from Content-Length (or counted, for a chunked body). */
  bodyBytes: number
  /** Everything read off the sockets: request lines, headers and bodies. */
  wireBytes: number
}

export interface CountingServer {
  url: string
  counts(): ByteCounts
  close(): Promise<void>
}

export async function startCountingServer(
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => void
): Promise<CountingServer> {
  const sockets = new Set<Socket>()
  let closedSocketBytes = 0
  let requests = 0
  let bodyBytes = 0

  const server = http.createServer((req, res) => {
    requests++
    const length = req.headers['content-length']
    if (length !== undefined) {
      bodyBytes += Number(length)
    } else {
      // Only a chunked body gets here; the router reads the same stream, so nothing is lost.
      req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length))
    }
    handle(req, res)
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => {
      closedSocketBytes += socket.bytesRead
      sockets.delete(socket)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => {
      let wireBytes = closedSocketBytes
      for (const socket of sockets) wireBytes += socket.bytesRead
      return { requests, bodyBytes, wireBytes }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}

export const difference = (after: ByteCounts, before: ByteCounts): ByteCounts => ({
  requests: after.requests - before.requests,
  bodyBytes: after.bodyBytes - before.bodyBytes,
  wireBytes: after.wireBytes - before.wireBytes
})
