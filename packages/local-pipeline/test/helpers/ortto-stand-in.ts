/**
 * A loopback Ortto stand-in whose every answer the test chooses: per request, an answer now, or
 * `'hold'` to keep it waiting until the test releases it. It records each request (path, objects,
 * when it arrived by the test's clock) and how many were open at once, so tests can see how many
 * calls a pipeline has in flight, in which order subscriptions go and how full each batch is.
 */
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import { readBody, sendText } from 'ortto-sandbox'

export interface StandInReply {
  status: number
  body?: unknown
}

interface StandInRequest {
  path: string
  /** The request's JSON array body, and how many objects it holds. */
  body: unknown[]
  objects: number
  /** Arrival time, read from the `now` the stand-in was given. */
  at: number
}

export interface OrttoStandIn {
  url: string
  requests: StandInRequest[]
  /** Requests answered or not yet answered: now, and at most at any moment. */
  open: number
  maxOpen: number
  /** Resolves once `count` requests have arrived in all. */
  arrived(count: number): Promise<void>
  /** Answers the oldest held requests (all of them by default) with `reply` (200 by default). */
  release(count?: number, reply?: StandInReply): void
  /** From now on answers every request, held ones included, with `reply` (a test that ends lets the pipeline drain). */
  answerAllWith(reply: StandInReply): void
  close(): Promise<void>
}

export async function orttoStandIn(
  answer: (request: StandInRequest, index: number) => StandInReply | 'hold',
  now: () => number = Date.now
): Promise<OrttoStandIn> {
  const held: http.ServerResponse[] = []
  let always: StandInReply | undefined
  const waiting = new Set<() => void>()
  const send = (res: http.ServerResponse, reply: StandInReply) => {
    sendText(res, reply.status, JSON.stringify(reply.body ?? {}))
  }
  const server = http.createServer((req, res) => {
    const at = now()
    stand.open++
    stand.maxOpen = Math.max(stand.maxOpen, stand.open)
    res.on('close', () => stand.open--)
    void readBody(req, 8 * 1024 * 1024).then((read) => {
      let body: unknown[] = []
      try {
        const parsed: unknown = read.kind === 'ok' ? JSON.parse(read.text) : undefined
        if (Array.isArray(parsed)) body = parsed
      } catch {
        // not JSON: no objects
      }
      const request = { path: (req.url ?? '/').split('?')[0], body, objects: body.length, at }
      const index = stand.requests.push(request) - 1
      const reply = always ?? answer(request, index)
      if (reply === 'hold') held.push(res)
      else send(res, reply)
      for (const check of waiting) check()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const stand: OrttoStandIn = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: [],
    open: 0,
    maxOpen: 0,
    arrived: (count) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (stand.requests.length < count) return
          waiting.delete(check)
          resolve()
        }
        waiting.add(check)
        check()
      }),
    release: (count = Infinity, reply = { status: 200 }) => {
      for (const res of held.splice(0, count)) send(res, reply)
    },
    answerAllWith: (reply) => {
      always = reply
      stand.release(Infinity, reply)
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of held.splice(0)) res.destroy()
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
  return stand
}
