import type * as http from 'node:http'
import * as zlib from 'node:zlib'

/** Reading request bodies and writing JSON answers, the two things every route does. */

export type BodyResult =
  /** `bytes`: the body as received (decompressed), for whoever keeps it as it came (the pipeline's spool). */
  | { kind: 'ok'; text: string; bytes: Buffer }
  /** `size` reads after "the body is": "600000 bytes", or "over 524288 bytes once decompressed". */
  | { kind: 'too-large'; size: string }
  /** A body that cannot be read: an encoding we do not take (415), or data that does not decode (400). */
  | { kind: 'refused'; status: 400 | 415; code: string; message: string }
  | { kind: 'aborted' }

/** The encodings taken, by their Content-Encoding name (x-gzip is gzip's old name, RFC 9110). */
const INFLATERS: Record<string, { format: string; create: () => zlib.Gunzip | zlib.Inflate }> = {
  gzip: { format: 'gzip', create: () => zlib.createGunzip() },
  'x-gzip': { format: 'gzip', create: () => zlib.createGunzip() },
  deflate: { format: 'deflate (zlib)', create: () => zlib.createInflate() }
}

/**
 * Reads the whole body, decompressing gzip and deflate, and keeps at most `limit` bytes of what it
 * decodes to. Once the outcome is known to be an error (over the limit, not decodable, an encoding
 * we do not take) nothing more is kept or inflated, but the rest is still read and thrown away, so
 * the client finishes sending and gets a clean answer rather than a reset in the middle of its upload.
 */
export function readBody(req: http.IncomingMessage, limit: number): Promise<BodyResult> {
  return new Promise((resolve) => {
    const encoding = (req.headers['content-encoding'] ?? '').trim().toLowerCase()
    const identity = encoding === '' || encoding === 'identity'
    const decoder = Object.hasOwn(INFLATERS, encoding) ? INFLATERS[encoding] : undefined
    const inflater = decoder?.create()

    let chunks: Buffer[] = []
    let rawBytes = 0
    let keptBytes = 0
    let overLimit = false
    let problem: BodyResult | undefined
    if (!identity && !decoder) {
      problem = {
        kind: 'refused',
        status: 415,
        code: ERROR_CODES[415],
        message: `Content-Encoding "${encoding}" is not taken: send the body uncompressed, or compressed with gzip or deflate (one encoding)`
      }
    }
    /** Both are needed before answering: the whole request, and all the inflater will give. */
    let received = false
    let decoded = inflater === undefined
    let settled = false

    const finish = (): void => {
      if (settled || !received || !decoded) return
      settled = true
      if (problem) return resolve(problem)
      if (overLimit) {
        return resolve({
          kind: 'too-large',
          size: inflater ? `over ${limit} bytes once decompressed` : `${rawBytes} bytes`
        })
      }
      const bytes = Buffer.concat(chunks, keptBytes)
      resolve({ kind: 'ok', text: bytes.toString('utf8'), bytes })
    }
    // A small compressed body may inflate to gigabytes: once the outcome is known, inflate no further.
    const stopInflating = (): void => {
      if (decoded) return
      decoded = true
      inflater?.destroy()
      req.resume() // it may be paused, waiting for the inflater to drain
    }
    const keep = (chunk: Buffer): void => {
      if (problem || overLimit) return
      keptBytes += chunk.length
      if (keptBytes <= limit) return void chunks.push(chunk)
      overLimit = true
      chunks = []
      stopInflating()
      finish()
    }

    inflater?.on('data', keep)
    inflater?.on('end', () => {
      decoded = true
      finish()
    })
    inflater?.on('error', (error: Error) => {
      problem ??= {
        kind: 'refused',
        status: 400,
        code: ERROR_CODES[400],
        message: `the body is not valid ${decoder?.format} data (Content-Encoding: ${encoding}): ${error.message}`
      }
      chunks = []
      stopInflating()
      finish()
    })

    req.on('data', (chunk: Buffer) => {
      rawBytes += chunk.length
      if (problem || overLimit) return
      if (!inflater) return keep(chunk)
      if (!decoded && !inflater.write(chunk)) {
        req.pause()
        inflater.once('drain', () => req.resume())
      }
    })
    req.on('end', () => {
      received = true
      // Nothing sent under a Content-Encoding is nothing to decode, not a broken stream.
      if (rawBytes === 0) stopInflating()
      else if (!decoded) inflater?.end()
      finish()
    })
    const abort = (): void => {
      if (settled) return
      settled = true
      stopInflating()
      resolve({ kind: 'aborted' })
    }
    req.on('error', abort)
    req.on('close', () => {
      if (!req.complete) abort()
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

/** The `code` of an error answer, by HTTP status, for the answers both servers give alike. */
export const ERROR_CODES: Readonly<Record<number, string>> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  413: 'too-large',
  415: 'unsupported-media-type',
  421: 'misdirected-request',
  500: 'internal',
  503: 'busy'
}
