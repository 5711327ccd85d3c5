/**
 * `npm run replay` in-process against a stand-in pipeline on 127.0.0.1 (and, last, the real one):
 * what it sends and how (batches within Segment's limits, the write key), what it refuses and says,
 * how it waits when the pipeline asks (503 + Retry-After, on a manual clock), backs off and stops,
 * and how its checkpoint makes a rerun send only what is left.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { Writable } from 'node:stream'
import { LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import { startPipeline } from '../../pipeline/index'
import { MAX_BATCH_BYTES, MAX_EVENT_BYTES } from '../../pipeline/ingest-limits'
import type { Sandbox } from 'ortto-sandbox'
import { TEST_WRITE_KEY, post, tempDir, waitFor } from '../../../test/helpers/pipeline-helpers'
import { docFrom } from '../../../../../test/helpers/docs'
import {
  replayStandIn,
  takenAnswer,
  type BatchRequest,
  type ReplayStandIn,
  type StandInAnswer
} from '../../../test/helpers/replay-stand-in'
import { checkpointPathFor } from '../checkpoint'
import { replay, type ReplayOptions } from '../index'
import { retryAfterMs } from '../pipeline-client'
import { barText } from '../progress'
import { emptyTally, fileSummary, refuse } from '../tally'
import { ReplayInterrupted, type Clock } from '../sending'

const WRITE_KEY = 'replay-test-key'

let folder: ReturnType<typeof tempDir>
let standIn: ReplayStandIn | undefined
beforeEach(() => {
  folder = tempDir('replay-')
})
afterEach(async () => {
  await standIn?.close()
  standIn = undefined
  folder.remove()
})

/** Event n of a file: identify for even n, track for odd, with the message id m-n. */
const event = (n: number, extra: Record<string, unknown> = {}) => ({
  type: n % 2 === 0 ? 'identify' : 'track',
  userId: `user-${n}`,
  ...(n % 2 === 1 && { event: 'Viewed' }),
  messageId: `m-${n}`,
  timestamp: '2024-03-01T10:00:00.000Z',
  ...extra
})
const ndjson = (values: unknown[]) => values.map((value) => JSON.stringify(value)).join('\n') + '\n'
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)

/** A clock that moves only when the replay waits: every wait is recorded, none takes time. */
function manualClock(): Clock & { waits: number[]; at: number } {
  const clock = {
    at: 0,
    waits: [] as number[],
    now: () => clock.at,
    wait: (ms: number, signal: AbortSignal) => {
      if (signal.aborted) return Promise.reject(new ReplayInterrupted())
      clock.waits.push(ms)
      clock.at += ms
      return Promise.resolve()
    }
  }
  return clock
}

/** Collects what is written (progress). */
function sink(tty = false): Writable & { text: string; isTTY?: boolean; columns?: number } {
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      out.text += chunk.toString()
      done()
    }
  }) as Writable & { text: string; isTTY?: boolean; columns?: number }
  out.text = ''
  if (tty) Object.assign(out, { isTTY: true, columns: 72 })
  return out
}

async function start(answer?: (request: BatchRequest) => StandInAnswer) {
  standIn = await replayStandIn(WRITE_KEY, answer)
  return standIn
}

const run = (files: string[], options: Partial<ReplayOptions> = {}) =>
  replay({
    files,
    pipelineUrl: new URL(standIn!.url),
    writeKey: WRITE_KEY,
    progressTo: sink(),
    inFlight: 1,
    random: () => 0.5,
    ...options
  })

describe('sending', () => {
  it.each([
    ['plain', (text: string) => Buffer.from(text)],
    ['gzip', (text: string) => gzipSync(text)]
  ])('sends a %s file as batches, every event once and in order, with the write key', async (_, encode) => {
    const s = await start()
    const file = folder.file('archive')
    writeFileSync(file, encode(ndjson(range(0, 7).map((n) => event(n)))))
    const result = await run([file], { batchEvents: 3 })
    expect(s.requests.map((r) => r.events.length)).toEqual([3, 3, 1])
    expect(s.requests[0].events[1]).toEqual(event(1))
    expect(s.acknowledged).toEqual(range(0, 7).map((n) => `m-${n}`))
    expect(result.summary).toEqual([
      `${file}: 7 events sent, 0 lines refused`,
      'In all: 7 events sent, 0 lines refused, from 1 file.'
    ])
    expect(result.exitCode).toBe(0)
  })

  it('keeps every batch within 500 kB and each event within 32 kB', async () => {
    const s = await start()
    const file = folder.file('large.ndjson')
    const big = (n: number) => event(n, { properties: { note: 'x'.repeat(30_000) } })
    writeFileSync(file, ndjson(range(0, 40).map(big)))
    const result = await run([file], { batchEvents: 2_500, inFlight: 2 })
    expect(result.exitCode).toBe(0)
    expect(new Set(s.acknowledged)).toEqual(new Set(range(0, 40).map((n) => `m-${n}`)))
    expect(s.acknowledged).toHaveLength(40)
    for (const request of s.requests) {
      expect(Buffer.byteLength(JSON.stringify({ batch: request.events }))).toBeLessThanOrEqual(MAX_BATCH_BYTES)
    }
    expect(s.requests.length).toBe(3)
  })

  it('sends a dead-letter file’s events, each once though it failed for two mappings', async () => {
    const s = await start()
    const file = folder.file('ortto-dead-letter.ndjson')
    const letter = (n: number, partnerAction: string) => ({
      failedAt: '2024-03-01T10:05:00.000Z',
      subscription: partnerAction,
      partnerAction,
      status: 503,
      reason: 'Ortto answered 503',
      attempts: 8,
      event: event(n)
    })
    writeFileSync(file, ndjson([letter(0, 'upsertContact'), letter(0, 'syncAudience'), letter(1, 'trackActivity')]))
    const result = await run([file])
    expect(s.acknowledged).toEqual(['m-0', 'm-1'])
    expect(s.requests[0].events).toEqual([event(0), event(1)])
    expect(result.summary[0]).toBe(
      `${file}: 2 events sent, 1 dead-letter repeat of an event already sent, skipped, 0 lines refused`
    )
  })

  it('refuses lines that are not events with their numbers and reasons, and counts the pipeline’s refusals', async () => {
    const s = await start((request) =>
      takenAnswer(request.events.length, [{ index: 1, reason: 'the pipeline says no' }])
    )
    const file = folder.file('mixed.ndjson')
    const lines = [
      JSON.stringify(event(0)),
      'not json {',
      '',
      '[1, 2]',
      JSON.stringify({ type: 'track', userId: 'u' }),
      JSON.stringify(event(5, { properties: { note: 'x'.repeat(MAX_EVENT_BYTES) } })),
      JSON.stringify(event(6)),
      'not json either',
      JSON.stringify(event(8))
    ]
    writeFileSync(file, lines.join('\n') + '\n')
    const result = await run([file])
    expect(s.requests.flatMap((r) => r.events.map((e) => e.messageId))).toEqual(['m-0', 'm-6', 'm-8'])
    expect(result.summary).toEqual([
      `${file}: 2 events sent, 7 lines refused:`,
      '  2 × not valid JSON (lines 2, 8)',
      '  1 × a blank line (line 3)',
      '  1 × not a JSON object, so not a Segment event (line 4)',
      '  1 × a track call needs a non-empty "event" name (line 5)',
      "  1 × an event over 32,768 bytes (32 kB), Segment's limit per event (line 6)",
      '  1 × the pipeline says no (line 7)',
      'In all: 2 events sent, 7 lines refused, from 1 file.'
    ])
    expect(result.exitCode).toBe(2)
  })
})

describe('when the pipeline asks to wait, fails or refuses', () => {
  it('waits as long as a 503’s Retry-After says, holding every batch, then sends the batch again', async () => {
    const clock = manualClock()
    const arrivals: number[] = []
    const s = await start((request) => {
      arrivals.push(clock.now())
      if (request.number === 2) return { status: 503, headers: { 'retry-after': '3' }, body: { error: {} } }
      return takenAnswer(request.events.length)
    })
    const file = folder.file('events.ndjson')
    writeFileSync(file, ndjson(range(0, 4).map((n) => event(n))))
    const result = await run([file], { batchEvents: 1, clock })
    expect(result.exitCode).toBe(0)
    expect(clock.waits).toEqual([3_000])
    // Request 3 is batch 2 again: nothing went out before the three seconds had passed.
    expect(arrivals).toEqual([0, 0, 3_000, 3_000, 3_000])
    expect(s.requests.map((r) => r.events[0].messageId)).toEqual(['m-0', 'm-1', 'm-1', 'm-2', 'm-3'])
    expect(s.acknowledged).toEqual(['m-0', 'm-1', 'm-2', 'm-3'])
  })

  it.each([
    ['7', 7_000],
    ['0', 1_000],
    ['86400', 300_000],
    ['Thu, 01 Jan 1970 00:00:20 GMT', 20_000],
    ['soon', undefined]
  ])('reads Retry-After: %s as %s ms', (header, ms) => {
    expect(retryAfterMs(header, 0)).toBe(ms)
  })

  it('backs off on 5xx, stops after --max-retries saying why, and a rerun sends only the rest', async () => {
    const clock = manualClock()
    let failing = true
    const s = await start((request) =>
      failing && request.number > 1
        ? { status: 500, body: { error: { code: 'internal', message: 'broken' } } }
        : takenAnswer(request.events.length)
    )
    const file = folder.file('events.ndjson')
    writeFileSync(file, ndjson(range(0, 6).map((n) => event(n))))
    const stopped = await run([file], { batchEvents: 3, clock, maxRetries: 3 })
    expect(clock.waits).toEqual([500, 1_000, 2_000])
    expect(stopped.exitCode).toBe(1)
    expect(stopped.summary.slice(-2)).toEqual([
      `Stopped in ${file}: the pipeline answered 500: broken; gave up sending lines 4–6 after 4 attempts`,
      'Rerun the same command to resume: nothing the pipeline acknowledged is sent again.'
    ])
    failing = false
    const resumed = await run([file], { batchEvents: 3, clock })
    expect(resumed.exitCode).toBe(0)
    expect(s.acknowledged).toEqual(range(0, 6).map((n) => `m-${n}`))
    expect(resumed.summary[0]).toBe(`${file}: 6 events sent (3 in this run), 0 lines refused`)
  })

  it('backs off when nothing answers, naming the address', async () => {
    const s = await start()
    const url = s.url
    await s.close()
    standIn = undefined
    const file = folder.file('events.ndjson')
    writeFileSync(file, ndjson([event(0)]))
    const clock = manualClock()
    const result = await replay({
      files: [file],
      pipelineUrl: new URL(url),
      writeKey: WRITE_KEY,
      progressTo: sink(),
      clock,
      maxRetries: 1,
      random: () => 0.5
    })
    expect(clock.waits).toEqual([500])
    expect(result.summary).toContain(
      `Stopped in ${file}: no answer from ${url} (ECONNREFUSED); gave up sending line 1 after 2 attempts`
    )
  })

  it('stops at once when the write key is refused, saying what to do', async () => {
    await start()
    const file = folder.file('events.ndjson')
    writeFileSync(file, ndjson([event(0)]))
    const result = await run([file], { writeKey: 'wrong' })
    expect(result.exitCode).toBe(1)
    expect(result.summary).toContain(
      `Stopped in ${file}: the pipeline refused the write key (401: wrong write key); ` +
        'set SEGMENT_WRITE_KEY to the key npm start printed (sending line 1)'
    )
    expect(existsSync(checkpointPathFor(file))).toBe(false)
  })
})

describe('stopping', () => {
  it('stops at Ctrl+C while it waits, keeping what was acknowledged for the rerun', async () => {
    const interrupt = new AbortController()
    const waitAsClock = (ms: number, signal: AbortSignal) => manual.wait(ms, signal)
    const manual = manualClock()
    const clock: Clock = {
      now: () => manual.now(),
      // Ctrl+C comes while the replay waits for the pipeline.
      wait: (ms, signal) => {
        interrupt.abort()
        return waitAsClock(ms, signal)
      }
    }
    const s = await start((request) =>
      request.number === 2
        ? { status: 503, headers: { 'retry-after': '10' }, body: {} }
        : takenAnswer(request.events.length)
    )
    const file = folder.file('events.ndjson')
    writeFileSync(file, ndjson(range(0, 4).map((n) => event(n))))
    const result = await run([file], { batchEvents: 2, clock, signal: interrupt.signal })
    expect(result.exitCode).toBe(130)
    expect(result.summary.slice(-2)).toEqual([
      `Interrupted in ${file}; what the pipeline acknowledged is in ${file}.replay-checkpoint.`,
      'Rerun the same command to resume: nothing the pipeline acknowledged is sent again.'
    ])
    await run([file], { batchEvents: 2 })
    expect(s.acknowledged).toEqual(['m-0', 'm-1', 'm-2', 'm-3'])
  })

  it('stops with the reason at a gzip file cut short, having sent the batches before', async () => {
    const s = await start()
    const file = folder.file('archive.gz')
    const whole = gzipSync(
      ndjson(range(0, 2_000).map((n) => event(n, { properties: { hash: (n * 2_654_435_761) % 4_294_967_296 } })))
    )
    writeFileSync(file, whole.subarray(0, Math.floor(whole.length * 0.6)))
    const result = await run([file], { batchEvents: 100 })
    expect(result.exitCode).toBe(1)
    expect(result.summary.slice(-2)).toEqual([
      `Stopped in ${file}: ${file} could not be read to its end: unexpected end of file`,
      'Rerun the same command to resume: nothing the pipeline acknowledged is sent again.'
    ])
    expect(s.acknowledged.length).toBeGreaterThan(0)
    expect(s.acknowledged).toEqual(range(0, s.acknowledged.length).map((n) => `m-${n}`))
  })
})

describe('the checkpoint', () => {
  it('makes a rerun send nothing again, and then only the lines appended since', async () => {
    const s = await start()
    const file = folder.file('ortto-dead-letter.ndjson')
    writeFileSync(file, ndjson([event(0), event(1)]))
    await run([file])
    const again = await run([file])
    expect(again.summary[0]).toBe(`${file}: 2 events sent (0 in this run), 0 lines refused`)
    appendFileSync(file, ndjson([event(2)]))
    await run([file])
    expect(s.acknowledged).toEqual(['m-0', 'm-1', 'm-2'])
    const saved = JSON.parse(readFileSync(checkpointPathFor(file), 'utf8')) as { acknowledged: unknown }
    expect(saved.acknowledged).toEqual({ offset: readFileSync(file).length, line: 4 })
  })

  it('leaves a last line without its newline that is not whole JSON yet for the next run', async () => {
    const s = await start()
    const file = folder.file('ortto-dead-letter.ndjson')
    writeFileSync(file, ndjson([event(0)]) + JSON.stringify(event(1)).slice(0, 20))
    const first = await run([file])
    expect(first.summary[1]).toBe(
      '  line 2 has no newline and is not complete JSON yet (a writer may be appending it): left for the next run'
    )
    writeFileSync(file, ndjson([event(0), event(1)]))
    await run([file])
    expect(s.acknowledged).toEqual(['m-0', 'm-1'])
  })

  it.each([
    [
      'its first bytes changed',
      (file: string) => writeFileSync(file, ndjson([event(9), event(1)])),
      'its first 204 bytes are not those it had'
    ],
    [
      'it was cut short',
      (file: string) => writeFileSync(file, ndjson([event(0)])),
      'it is shorter than the 204 bytes already sent from it'
    ],
    [
      'it was compressed',
      (file: string) => writeFileSync(file, gzipSync(ndjson([event(0), event(1)]))),
      'it was plain text and is now gzip'
    ]
  ])('refuses to resume when %s, saying how to start over; --restart does', async (_, change, why) => {
    const s = await start()
    const file = folder.file('events.ndjson')
    writeFileSync(file, ndjson([event(0), event(1)]))
    await run([file])
    change(file)
    const refused = await run([file])
    expect(refused.exitCode).toBe(1)
    expect(refused.summary.slice(-1)).toEqual([
      `Stopped: ${file} is not the file ${file}.replay-checkpoint was written for: ${why}. The checkpoint no longer ` +
        `says what was sent. To send ${file} from its start (again), delete the checkpoint or rerun with --restart.`
    ])
    expect(s.acknowledged).toHaveLength(2)
    const restarted = await run([file], { restart: true })
    expect(restarted.exitCode).toBe(0)
    expect(s.acknowledged.length).toBeGreaterThan(2)
  })

  it('refuses a checkpoint file it cannot read', async () => {
    await start()
    const file = folder.file('events.ndjson')
    writeFileSync(file, ndjson([event(0)]))
    writeFileSync(checkpointPathFor(file), '{"half": ')
    const result = await run([file])
    expect(result.summary.slice(-1)).toEqual([
      `Stopped: ${file}.replay-checkpoint is not a replay checkpoint this version can read; delete it (or pass --restart) to start the file over`
    ])
  })

  it('is kept where --checkpoint says', async () => {
    await start()
    const file = folder.file('events.ndjson')
    writeFileSync(file, ndjson([event(0)]))
    const elsewhere = folder.file('elsewhere.json')
    await run([file], { checkpoint: elsewhere })
    expect(existsSync(elsewhere)).toBe(true)
    expect(existsSync(checkpointPathFor(file))).toBe(false)
  })
})

describe('progress', () => {
  it('writes plain lines when not on a terminal', async () => {
    await start()
    const file = folder.file('events.ndjson')
    writeFileSync(file, ndjson(range(0, 4).map((n) => event(n))))
    const progressTo = sink()
    const clock = manualClock()
    await run([file], { batchEvents: 2, progressTo, progressEveryMs: 0, clock })
    expect(progressTo.text).not.toContain('\r')
    expect(progressTo.text.trim().split('\n').slice(-1)).toEqual([
      `replay: ${file}: 100%, 4/4 lines, 4 events sent (0/s), 0 lines refused`
    ])
  })

  it('draws a bar in place on a terminal, cut to its width', async () => {
    await start()
    const file = folder.file('events.ndjson')
    writeFileSync(file, ndjson(range(0, 4).map((n) => event(n))))
    const progressTo = sink(true)
    await run([file], { progressTo })
    const frames = progressTo.text.split('\r').filter(Boolean)
    for (const frame of frames) expect(frame.replace('\x1b[K', '').replace(/\n$/, '').length).toBeLessThanOrEqual(72)
    expect(progressTo.text.endsWith('\n')).toBe(true)
  })

  it('shows done/total, events/s, ETA and refused', () => {
    const figures = {
      file: 'archive.ndjson.gz',
      fileNumber: 2,
      files: 3,
      linesDone: 45_000,
      sent: 44_990,
      eventsPerSecond: 12_345.4,
      refused: 10,
      fraction: 0.5,
      etaSeconds: 65
    }
    expect(barText(figures, 200)).toBe(
      'archive.ndjson.gz (2/3) [████████████░░░░░░░░░░░░] 50% 45,000 lines · 12,345 events/s · ETA 1:05 · refused 10'
    )
    expect(barText({ ...figures, linesTotal: 90_000 }, 40)).toBe('archive.ndjson.gz (2/3) [████████████░░…')
  })
})

describe('docs/operating.md', () => {
  it('shows a summary as replay writes it', () => {
    const section = docFrom('docs/operating.md', '## Replay: `npm run replay -- FILE…`')
    const shown = /```\n(ortto-dead-letter[\s\S]*?)```/.exec(section)?.[1].trim().split('\n')
    const tally = emptyTally()
    tally.sent = 1_204
    tally.repeats = 3
    refuse(tally, 'not valid JSON', 87)
    refuse(tally, 'a track call needs a non-empty "event" name', 342)
    expect(shown?.slice(0, 3)).toEqual(fileSummary('ortto-dead-letter.ndjson', tally, 1_204))
  })
})

describe('against the real pipeline', () => {
  afterEach(() => {
    delete process.env[LOCAL_ENDPOINT_ENV]
  })

  it('sends the events of its dead-letter file again, once Ortto takes them', async () => {
    const deadLetterFile = folder.file('ortto-dead-letter.ndjson')
    const pipeline = await startPipeline(
      {
        port: 0,
        target: { kind: 'sandbox', port: 0 },
        flushIntervalMs: 20,
        maxAttempts: 1,
        writeKey: TEST_WRITE_KEY,
        deadLetterFile
      },
      () => undefined
    )
    try {
      const sandbox = pipeline.sandbox as Sandbox
      sandbox.setFaults({ failRate: 1 })
      const batch = range(0, 6).map((n) => event(n))
      expect((await post(pipeline.url, '/v1/batch', { batch })).status).toBe(200)
      await waitFor('dead letters', () => pipeline.delivery.status().failed === 6)
      sandbox.setFaults({})

      const result = await replay({
        files: [deadLetterFile],
        pipelineUrl: new URL(pipeline.url),
        writeKey: TEST_WRITE_KEY,
        progressTo: sink()
      })
      expect(result.summary[0]).toBe(`${deadLetterFile}: 6 events sent, 0 lines refused`)
      await waitFor('delivery', () => pipeline.delivery.status().delivered === 6)
      const snapshot = sandbox.snapshot()
      expect(snapshot.contacts.map((c) => c.user_id).sort()).toEqual(range(0, 6).map((n) => `user-${n}`))
      expect(snapshot.activities.map((a) => a.event)).toEqual(['Viewed', 'Viewed', 'Viewed'])
    } finally {
      await pipeline.stop()
    }
  })
})
