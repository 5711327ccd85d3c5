/**
 * The console's live updates: server-sent events. Each open page holds one stream; every second
 * the console's state is computed once and sent to every stream if it changed. Nothing runs while
 * no page is open, the timer never keeps the process alive, and close() ends every stream so that
 * a stopping pipeline does not wait for open pages.
 */
import type * as http from 'node:http'

/** How often the state is looked at while a page is open. */
const LIVE_EVERY_MS = 1_000
/** How long a browser waits before it opens a stream again after losing it. */
const RECONNECT_MS = 2_000

export class LiveStreams {
  private readonly streams = new Set<http.ServerResponse>()
  private timer: NodeJS.Timeout | undefined
  /** The last state sent to every stream, as sent. */
  private last = ''
  private closed = false

  constructor(
    /** The state the streams carry; called once per tick, whatever the number of streams. */
    private readonly state: () => unknown,
    private readonly everyMs = LIVE_EVERY_MS
  ) {}

  get open(): number {
    return this.streams.size
  }

  /** Answers a request with a stream that carries the state now, then each change. */
  add(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.closed) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' })
      res.end('the pipeline is stopping')
      return
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // The socket goes with the stream: once it ends, nothing is left open for a stop to wait on.
      connection: 'close'
    })
    res.write(`retry: ${RECONNECT_MS}\n\n`)
    res.write(eventOf(JSON.stringify(this.state())))
    this.streams.add(res)
    req.on('close', () => {
      this.streams.delete(res)
      if (this.streams.size === 0) this.stopTicking()
    })
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.everyMs)
      this.timer.unref()
    }
  }

  /** Ends every stream and takes no more (the pipeline is stopping). */
  close(): void {
    this.closed = true
    this.stopTicking()
    for (const res of this.streams) res.end()
    this.streams.clear()
  }

  private tick(): void {
    const text = JSON.stringify(this.state())
    if (text === this.last) return
    this.last = text
    const event = eventOf(text)
    for (const res of this.streams) res.write(event)
  }

  private stopTicking(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.last = ''
  }
}

/** One `state` event; JSON has no raw line breaks, so the data is one line. */
const eventOf = (json: string): string => `event: state\ndata: ${json}\n\n`
