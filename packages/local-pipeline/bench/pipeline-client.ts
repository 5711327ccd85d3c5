/**
 * The Segment source for the pipeline run, in its own process (forked by pipeline-run.ts) so
 * that generating events and analytics-node's own work use the second core and their memory is
 * not counted as the pipeline's.
 *
 * argv: <pipeline url> <events> <seed> <flushAt> <window>; the pipeline's write key in BENCH_WRITE_KEY.
 * Messages: → {kind: 'ready'} once the events are generated; ← {kind: 'go'};
 * → {kind: 'done', sent, errors, cpuMicros} once analytics-node has flushed everything.
 */
import { Analytics } from '@segment/analytics-node'
import type { SegmentEvent } from '@segment/actions-core'
import { benchEvent, userCountFor } from './events'

export interface ClientDone {
  kind: 'done'
  sent: number
  errors: number
  firstError?: string
  cpuMicros: number
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Hands one generated event to analytics-node with the fields a source library would set. */
function send(analytics: Analytics, event: SegmentEvent): void {
  const identity = event.userId
    ? { userId: event.userId, anonymousId: event.anonymousId ?? undefined }
    : { anonymousId: event.anonymousId as string }
  const common = {
    ...identity,
    messageId: event.messageId,
    timestamp: event.timestamp as string,
    context: event.context as Record<string, unknown>
  }
  if (event.type === 'identify') {
    analytics.identify({ ...common, traits: event.traits as Record<string, unknown> })
  } else {
    analytics.track({ ...common, event: event.event as string, properties: event.properties })
  }
}

/** The pipeline's write key, which every call (and GET /status) shows as the basic-auth user. */
const writeKey = process.env.BENCH_WRITE_KEY ?? ''

/** Calls the pipeline has taken in so far (its GET /status). */
async function received(url: string): Promise<number> {
  const response = await fetch(`${url}/status`, {
    headers: { authorization: `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}` }
  })
  const body = (await response.json()) as { delivery?: { received?: number } }
  return body.delivery?.received ?? 0
}

/** Every event, generated before the clock starts so generating them is not part of the run. */
function generate(events: number, seed: number): SegmentEvent[] {
  const users = userCountFor(events)
  return Array.from({ length: events }, (_, i) => benchEvent(seed, i, users))
}

async function run(url: string, batch: SegmentEvent[], flushAt: number, window: number): Promise<ClientDone> {
  const events = batch.length
  const analytics = new Analytics({
    writeKey,
    host: url,
    flushAt,
    flushInterval: 100,
    httpRequestTimeout: 30_000
  })
  let errors = 0
  let firstError: string | undefined
  analytics.on('error', (error) => {
    errors++
    const reason = (error as { reason?: unknown }).reason
    firstError ??= reason instanceof Error ? `${error.code}: ${reason.message}` : error.code
  })
  const cpuBefore = process.cpuUsage()
  let taken = 0
  for (let i = 0; i < events; i++) {
    send(analytics, batch[i])
    if (i % 500 === 499) {
      // Keep this client's queue bounded: at most `window` calls not yet taken in by the pipeline.
      taken = await received(url)
      while (i + 1 - taken - errors > window) {
        await sleep(5)
        taken = await received(url)
      }
    }
  }
  await analytics.closeAndFlush({ timeout: 10 * 60_000 })
  const cpu = process.cpuUsage(cpuBefore)
  return { kind: 'done', sent: events, errors, firstError, cpuMicros: cpu.user + cpu.system }
}

if (require.main === module) {
  const [url, events, seed, flushAt, window] = process.argv.slice(2)
  const batch = generate(Number(events), Number(seed))
  process.once('message', () => {
    run(url, batch, Number(flushAt), Number(window))
      .then((done) => process.send!(done, () => process.exit(0)))
      .catch((error: unknown) => {
        console.error(error)
        process.exit(1)
      })
  })
  process.send!({ kind: 'ready' })
}
