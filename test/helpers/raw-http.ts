/**
 * Requests over node:http for what fetch will not send: a chosen Host header (or none), a body
 * sent as raw bytes under any Content-Encoding, or headers without the body that should follow.
 */
import * as http from 'node:http'
import { parseJson } from './http-client'

interface RawAnswer {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
  json: unknown
}

export interface RawRequest {
  method?: string
  headers?: Record<string, string>
  /** `null` sends no Host header at all; undefined sends node's own (`127.0.0.1:<port>`). */
  host?: string | null
  body?: Buffer | string
  /**
   * Send the headers (with this content-length) and never the body: the answer must come without
   * waiting for it. The socket is closed once the answer is in.
   */
  withholdBody?: number
}

export function rawRequest(url: string, path: string, options: RawRequest = {}): Promise<RawAnswer> {
  const headers: Record<string, string> = { ...options.headers }
  if (typeof options.host === 'string') headers.host = options.host
  const body = typeof options.body === 'string' ? Buffer.from(options.body) : options.body
  if (options.withholdBody !== undefined) headers['content-length'] = String(options.withholdBody)
  else if (body !== undefined) headers['content-length'] = String(body.length)
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}${path}`,
      { method: options.method ?? 'GET', headers, setHost: options.host !== null, agent: false },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: parseJson(text) })
          if (options.withholdBody !== undefined) req.destroy()
        })
        res.on('error', reject)
      }
    )
    req.on('error', reject)
    if (options.withholdBody !== undefined) req.flushHeaders()
    else req.end(body)
  })
}
