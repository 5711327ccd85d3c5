/**
 * `npm run replay`'s own pace and memory: a file of N Segment events (plain, then gzip) is written
 * to a temporary folder and replayed by the real command (`node dist/src/replay/cli.js`, its own
 * process) into a counting stand-in that answers as the pipeline does, here in the bench's process.
 * The stand-in checks that every event arrived exactly once. Memory is the replay process's
 * resident set, read from /proc while it runs (Linux; elsewhere it is not reported).
 *
 *   node dist/bench/replay.js [--events N]      (run.ts runs it too: --replay-events)
 */
import { mib } from './format'
import { spawn } from 'node:child_process'
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import * as http from 'node:http'
import type { AddressInfo } from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { createGzip, constants as zlibConstants } from 'node:zlib'

export interface ReplayRunFigures {
  kind: 'plain' | 'gzip'
  events: number
  fileBytes: number
  wallMs: number
  eventsPerSecond: number
  requests: number
  /** Events the stand-in received once, more than once, and not at all. */
  receivedOnce: number
  duplicates: number
  missing: number
  exitCode: number | null
  /** The replay process's peak resident set (VmHWM), and its resident set at each quarter of the events. */
  peakRssBytes?: number
  rssByQuarter: Array<number | undefined>
}

const WRITE_KEY = 'bench-replay-key'

/** An archive line much like Segment's S3 files hold: about 400 bytes, event n with message id "bench-n". */
function archiveLine(n: number): string {
  const user = `user-${n % 50_000}`
  const common =
    `"messageId":"bench-${n}","userId":"${user}","anonymousId":"anon-${n % 70_000}",` +
    `"timestamp":"2024-05-06T07:08:09.${String(n % 1000).padStart(3, '0')}Z","receivedAt":"2024-05-06T07:08:10.000Z",` +
    `"context":{"library":{"name":"analytics.js","version":"5.2.0"},"ip":"203.0.113.${n % 250}","locale":"en-AU"}`
  return n % 2 === 0
    ? `{"type":"identify",${common},"traits":{"email":"${user}@example.com","first_name":"Ada","plan":"pro"}}\n`
    : `{"type":"track",${common},"event":"Order Completed","properties":{"order_id":"o-${n}","total":${n % 997}.5,"currency":"AUD"}}\n`
}

async function writeEvents(file: string, events: number, gzip: boolean): Promise<void> {
  const out = createWriteStream(file)
  const sink = gzip ? createGzip({ level: zlibConstants.Z_BEST_SPEED }) : out
  if (gzip) (sink as ReturnType<typeof createGzip>).pipe(out)
  for (let n = 0; n < events; n++) {
    if (!sink.write(archiveLine(n))) await once(sink, 'drain')
  }
  sink.end()
  await once(out, 'close')
}

/** Answers like the pipeline's /v1/batch and marks each event's arrival. */
async function countingStandIn(events: number) {
  const seen = new Uint8Array(events)
  let requests = 0
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      requests++
      const { batch } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { batch: Array<{ messageId: string }> }
      for (const { messageId } of batch) {
        const n = Number(messageId.slice('bench-'.length))
        seen[n] = Math.min(255, seen[n] + 1)
      }
      const body = JSON.stringify({ success: true, accepted: batch.length, unsubscribed: 0, rejected: [] })
      res.writeHead(200, { 'content-type': 'application/json' }).end(body)
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    requests: () => requests,
    received: () => seen.reduce((sum, count) => sum + (count > 0 ? 1 : 0), 0),
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

/** VmHWM and VmRSS of a process, in bytes, when /proc has them. */
function memoryOf(pid: number): { peak?: number; rss?: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kB = (name: string) => {
      const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)
      return match ? Number(match[1]) * 1024 : undefined
    }
    return { peak: kB('VmHWM'), rss: kB('VmRSS') }
  } catch {
    return {}
  }
}

export async function runReplayBench(events: number, kind: 'plain' | 'gzip'): Promise<ReplayRunFigures> {
  const folder = mkdtempSync(path.join(os.tmpdir(), 'ortto-bench-replay-'))
  const file = path.join(folder, kind === 'gzip' ? 'archive.json.gz' : 'archive.ndjson')
  const standIn = await countingStandIn(events)
  try {
    await writeEvents(file, events, kind === 'gzip')
    const cli = path.join(__dirname, '..', 'src', 'replay', 'cli.js')
    const started = process.hrtime.bigint()
    const child = spawn(process.execPath, [cli, '--progress-every', '3600', file], {
      env: { ...process.env, SEGMENT_WRITE_KEY: WRITE_KEY, PIPELINE_URL: standIn.url },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const output: string[] = []
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()))
    let peak: number | undefined
    const rssByQuarter: Array<number | undefined> = [undefined, undefined, undefined, undefined]
    const sampler = setInterval(() => {
      const { peak: hwm, rss } = memoryOf(child.pid ?? 0)
      if (hwm !== undefined) peak = Math.max(peak ?? 0, hwm)
      const quarter = Math.min(3, Math.floor((standIn.received() / events) * 4))
      if (rss !== undefined) rssByQuarter[quarter] = Math.max(rssByQuarter[quarter] ?? 0, rss)
    }, 100)
    const [exitCode] = (await once(child, 'exit')) as [number | null]
    clearInterval(sampler)
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6
    if (exitCode !== 0) console.error(output.join(''))
    let duplicates = 0
    let missing = 0
    for (const count of standIn.seen) {
      if (count === 0) missing++
      else if (count > 1) duplicates++
    }
    return {
      kind,
      events,
      fileBytes: statSync(file).size,
      wallMs,
      eventsPerSecond: (events / wallMs) * 1000,
      requests: standIn.requests(),
      receivedOnce: events - missing - duplicates,
      duplicates,
      missing,
      exitCode,
      peakRssBytes: peak,
      rssByQuarter
    }
  } finally {
    await standIn.close()
    rmSync(folder, { recursive: true, force: true })
  }
}

const mibOrNone = (bytes?: number) => (bytes === undefined ? 'n/a' : mib(bytes))

export function replayLine(run: ReplayRunFigures): string {
  return (
    `  ${run.kind.padEnd(5)} ${run.events.toLocaleString('en-US')} events (${mibOrNone(run.fileBytes)} on disk): ` +
    `${Math.round(run.eventsPerSecond).toLocaleString('en-US')} events/s, ${(run.wallMs / 1000).toFixed(1)} s, ` +
    `${run.requests.toLocaleString('en-US')} requests; peak RSS ${mibOrNone(run.peakRssBytes)}, ` +
    `RSS by quarter ${run.rssByQuarter.map(mibOrNone).join(' / ')}; ` +
    `received once ${run.receivedOnce.toLocaleString('en-US')}, duplicates ${run.duplicates}, missing ${run.missing}`
  )
}

export const replayProblems = (run: ReplayRunFigures): string[] =>
  run.exitCode === 0 && run.receivedOnce === run.events
    ? []
    : [`replay ${run.kind}: exit ${run.exitCode}, ${run.missing} missing, ${run.duplicates} sent twice`]

if (require.main === module) {
  const { values } = parseArgs({ options: { events: { type: 'string' } } })
  const events = Number(values.events ?? 1_000_000)
  void (async () => {
    console.log(`replay: ${events.toLocaleString('en-US')} events per file, into a counting stand-in …`)
    for (const kind of ['plain', 'gzip'] as const) {
      const run = await runReplayBench(events, kind)
      console.log(replayLine(run))
      for (const problem of replayProblems(run)) console.log(`  ✗ ${problem}`)
    }
  })()
}
