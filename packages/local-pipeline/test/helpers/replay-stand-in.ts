/**
 * A stand-in for the pipeline's /v1/batch on 127.0.0.1 (a random port), for replay's tests: it
 * answers like the pipeline (or as a test says), and records every request and which message ids
 * it acknowledged, so a test can tell exactly what was sent and taken, and how often.
 */
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { basicAuth } from '../../../../test/helpers/http-client'

export interface BatchRequest {
  /** 1 for the first request. */
  number: number
  authorization?: string
  events: Array<Record<string, unknown>>
}

/** An answer: a status, headers and a JSON body; or 'hold' to answer never (until the stand-in closes). */
export type StandInAnswer = { status: number; headers?: Record<string, string>; body?: unknown } | 'hold'

export interface ReplayStandIn {
  url: string
  requests: BatchRequest[]
  /**
   * Message ids of the events of every batch answered 200, in order, repeats included: recorded as
   * the answer is written, since the pipeline has taken them from then on, whether or not the
   * answer reaches the replay.
   */
  acknowledged: string[]
  close(): Promise<void>
}

/** The pipeline's answer: every event taken but those `rejected`. */
export const takenAnswer = (events: number, rejected: Array<{ index: number; reason: string }> = []) => ({
  status: 200,
  body: { success: true, accepted: events - rejected.length, unsubscribed: 0, rejected }
})

export async function replayStandIn(
  writeKey: string,
  answer: (request: BatchRequest) => StandInAnswer | Promise<StandInAnswer> = (request) =>
    takenAnswer(request.events.length)
): Promise<ReplayStandIn> {
  const requests: BatchRequest[] = []
  const acknowledged: string[] = []
  const held: http.ServerResponse[] = []
  const standIn: ReplayStandIn = {
    url: '',
    requests,
    acknowledged,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held) res.destroy()
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => void respond())
    const respond = async () => {
      const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { batch: Array<Record<string, unknown>> }
      const request: BatchRequest = {
        number: requests.length + 1,
        authorization: req.headers.authorization,
        events: parsed.batch
      }
      requests.push(request)
      const given =
        req.headers.authorization === basicAuth(writeKey)
          ? await answer(request)
          : { status: 401, body: { error: { code: 'unauthorized', message: 'wrong write key' } } }
      if (given === 'hold') return void held.push(res)
      if (given.status === 200) acknowledged.push(...request.events.map((event) => String(event.messageId)))
      res.writeHead(given.status, { 'content-type': 'application/json', ...given.headers })
      res.end(JSON.stringify(given.body ?? {}))
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  standIn.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return standIn
}
