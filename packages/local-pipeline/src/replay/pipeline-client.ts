/**
 * Posts batches to the pipeline as Segment's libraries do (POST /v1/batch, the write key as the
 * basic-auth user) and says what each answer means for the batch: taken (with the calls the
 * pipeline refused), to be sent again after a wait it asked for (503 or 429 with Retry-After), to
 * be sent again after a back-off (a network error, a time-out, 408, 5xx), or a stop.
 */
import * as http from 'node:http'
import * as https from 'node:https'
import { isRecord, parseJson } from '../pipeline/json'

export interface TakenAnswer {
  accepted: number
  unsubscribed: number
  rejected: Array<{ index: number; reason: string }>
}

export type PostOutcome =
  | { kind: 'taken'; answer: TakenAnswer }
  | { kind: 'wait'; ms: number; why: string }
  | { kind: 'retry'; why: string }
  | { kind: 'stop'; why: string }

/** The longest Retry-After honoured as given (analytics-node's cap); the shortest, so a 0 is no busy loop. */
export const MAX_RETRY_AFTER_MS = 300_000
export const MIN_RETRY_AFTER_MS = 1_000

/** An answer bigger than this is not the pipeline's (its answer to 2,500 refused calls is far smaller). */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024

/** Retry-After as seconds or an HTTP date, as milliseconds from `now`, within the bounds above. */
export function retryAfterMs(header: string | undefined, now: number): number | undefined {
  if (header === undefined || header.trim() === '') return undefined
  const seconds = /^\s*\d+\s*$/.test(header) ? Number(header) * 1000 : Date.parse(header) - now
  if (!Number.isFinite(seconds)) return undefined
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(MIN_RETRY_AFTER_MS, seconds))
}

const STATUS_TEXT: Record<number, string> = { 408: 'time-out', 429: 'rate limited', 503: 'busy' }

export class PipelineClient {
  private readonly agent: http.Agent
  private readonly endpoint: URL
  private readonly authorization: string

  constructor(
    pipelineUrl: URL,
    writeKey: string,
    private readonly timeoutMs: number,
    sockets: number,
    private readonly now: () => number = Date.now
  ) {
    this.endpoint = new URL('/v1/batch', pipelineUrl)
    this.authorization = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`
    const Agent = this.endpoint.protocol === 'https:' ? https.Agent : http.Agent
    this.agent = new Agent({ keepAlive: true, maxSockets: sockets })
  }

  close(): void {
    this.agent.destroy()
  }

  post(body: string): Promise<PostOutcome> {
    const request = this.endpoint.protocol === 'https:' ? https.request : http.request
    return new Promise((resolve) => {
      const req = request(
        this.endpoint,
        {
          method: 'POST',
          agent: this.agent,
          timeout: this.timeoutMs,
          headers: {
            authorization: this.authorization,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'user-agent': 'ortto-replay'
          }
        },
        (res) => {
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (chunk: Buffer) => {
            size += chunk.length
            if (size <= MAX_ANSWER_BYTES) chunks.push(chunk)
          })
          res.on('end', () => resolve(this.outcomeOf(res, Buffer.concat(chunks).toString('utf8'))))
          res.on('error', (error) => resolve({ kind: 'retry', why: `the answer broke off (${error.message})` }))
        }
      )
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs / 1000} s`)))
      req.on('error', (error: NodeJS.ErrnoException) =>
        resolve({ kind: 'retry', why: `no answer from ${this.endpoint.origin} (${error.code ?? error.message})` })
      )
      req.end(body)
    })
  }

  private outcomeOf(res: http.IncomingMessage, text: string): PostOutcome {
    const status = res.statusCode ?? 0
    const json = parseJson(text)
    const message = isRecord(json) && isRecord(json.error) ? String(json.error.message) : text.slice(0, 300)
    if (status === 200) {
      const answer = takenAnswer(json)
      if (answer) return { kind: 'taken', answer }
      return {
        kind: 'stop',
        why: `${this.endpoint.origin} answered 200 but not as the pipeline does (${text.slice(0, 120)}); is PIPELINE_URL the pipeline?`
      }
    }
    const statusText = `${status} ${STATUS_TEXT[status] ?? ''}`.trim()
    if (status === 503 || status === 429) {
      const ms = retryAfterMs(res.headers['retry-after'], this.now())
      if (ms !== undefined) return { kind: 'wait', ms, why: `the pipeline answered ${statusText}` }
    }
    if (status === 408 || status === 429 || status >= 500) {
      return { kind: 'retry', why: `the pipeline answered ${statusText}: ${message}` }
    }
    if (status === 401 || status === 403) {
      return {
        kind: 'stop',
        why: `the pipeline refused the write key (${status}: ${message}); set SEGMENT_WRITE_KEY to the key npm start printed`
      }
    }
    return { kind: 'stop', why: `the pipeline refused the batch (${status}): ${message}` }
  }
}

function takenAnswer(json: unknown): TakenAnswer | undefined {
  if (!isRecord(json) || typeof json.accepted !== 'number' || !Array.isArray(json.rejected)) return undefined
  const rejected = json.rejected.filter(
    (entry): entry is { index: number; reason: string } =>
      isRecord(entry) && Number.isInteger(entry.index) && typeof entry.reason === 'string'
  )
  if (rejected.length !== json.rejected.length) return undefined
  return {
    accepted: json.accepted,
    unsubscribed: typeof json.unsubscribed === 'number' ? json.unsubscribed : 0,
    rejected
  }
}
