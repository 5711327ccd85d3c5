import type * as http from 'node:http'

/** Reading request bodies and writing JSON answers, the two things every route does. */

export type BodyResult = { kind: 'ok'; text: string } | { kind: 'too-large'; bytes: number } | { kind: 'aborted' }

/**
 * Reads the whole body, keeping at most `limit` bytes. Past the limit the rest is still read
 * (and thrown away) so the client finishes sending and then gets a clean 413, rather than a
 * reset connection in the middle of its upload.
 */
export function readBody(req: http.IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    let chunks: Buffer[] = []
    let bytes = 0
    let settled = false
    const settle = (result: BodyResult): void => {
      if (settled) return
      settled = true
      resolve(result)
    }
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length
      if (bytes <= limit) chunks.push(chunk)
      else chunks = []
    })
    req.on('end', () => {
      if (bytes > limit) settle({ kind: 'too-large', bytes })
      else settle({ kind: 'ok', text: Buffer.concat(chunks, bytes).toString('utf8') })
    })
    req.on('error', () => settle({ kind: 'aborted' }))
    req.on('close', () => {
      if (!req.complete) settle({ kind: 'aborted' })
    })
  })
}

/** Writes a complete answer; `body` is sent as is so callers can send deliberately broken JSON. */
export function sendText(
  res: http.ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string> = {}
): void {
  if (res.headersSent || res.destroyed) return
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    ...headers
  })
  res.end(body)
}

export const errorBody = (code: string, message: string): string => JSON.stringify({ error: { code, message } })
