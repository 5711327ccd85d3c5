/**
 * What one /v1/batch call costs the pipeline when its `context` is shared by many calls: the
 * issue's body (3,000 calls sharing 8,000 context keys, refused call by call as over 32 kB), one
 * within the limits whose calls share the batch's context (no copy), and one whose calls each
 * bring a context of their own (copies, up to the per-batch bound). Each body is posted to a real
 * pipeline in this process; the figure is the time to its answer and the heap it left behind.
 */
import { LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import { startPipeline } from '../src/pipeline'
import { collectGarbage } from './compare'

export interface IngestCase {
  name: string
  bodyBytes: number
  status: number
  accepted: number
  rejected: number
  /** Median over the rounds of the time from sending to the whole answer. */
  medianMs: number
  maxMs: number
  /** Most heap any round left in use after its answer (after a GC when --expose-gc is on). */
  maxHeapGrowthBytes: number
}

const WRITE_KEY = 'bench-ingest-key'

const wideContext = (keys: number): Record<string, number> => {
  const context: Record<string, number> = {}
  for (let i = 0; i < keys; i++) context[i.toString(36)] = 0
  return context
}

/** Just under 32 kB of context keys, as wide as the limit lets a shared context be. */
function contextUnder32kB(): Record<string, number> {
  const context: Record<string, number> = {}
  for (let i = 0; JSON.stringify(context).length < 31_500; i++) context[`k${i}`] = i
  return context
}

const call = (i: number, extra: Record<string, unknown> = {}) => ({
  type: 'track',
  userId: String(i),
  event: 'e',
  ...extra
})

const CASES: Array<{ name: string; body: () => unknown }> = [
  {
    name: "the issue's body: 3,000 calls sharing 8,000 context keys",
    body: () => ({ context: wideContext(8_000), batch: Array.from({ length: 3_000 }, (_, i) => call(i)) })
  },
  {
    name: '2,500 calls sharing a 31 kB context, none of their own',
    body: () => ({ context: contextUnder32kB(), batch: Array.from({ length: 2_500 }, (_, i) => call(i)) })
  },
  {
    name: '2,500 calls each with a context of its own, sharing a 31 kB one',
    body: () => ({
      context: contextUnder32kB(),
      batch: Array.from({ length: 2_500 }, (_, i) => call(i, { context: { i } }))
    })
  }
]

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

export async function runIngestBench(rounds = 5): Promise<IngestCase[]> {
  const pipeline = await startPipeline(
    // Deliveries wait (a long flush interval): the figure is ingest's, not delivery's.
    {
      port: 0,
      target: { kind: 'sandbox', port: 0 },
      writeKey: WRITE_KEY,
      flushIntervalMs: 3_600_000,
      maxPending: 1e9,
      maxAttempts: 1
    },
    () => undefined
  )
  const results: IngestCase[] = []
  try {
    for (const { name, body } of CASES) {
      const text = JSON.stringify(body())
      const times: number[] = []
      let heapGrowth = 0
      let answer: { status: number; json: { accepted?: number; rejected?: unknown[] } } = { status: 0, json: {} }
      for (let round = 0; round < rounds; round++) {
        collectGarbage()
        const heapBefore = process.memoryUsage().heapUsed
        const started = process.hrtime.bigint()
        const response = await fetch(`${pipeline.url}/v1/batch`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`
          },
          body: text
        })
        const json = (await response.json()) as { accepted?: number; rejected?: unknown[] }
        times.push(Number(process.hrtime.bigint() - started) / 1e6)
        answer = { status: response.status, json }
        collectGarbage()
        heapGrowth = Math.max(heapGrowth, process.memoryUsage().heapUsed - heapBefore)
      }
      results.push({
        name,
        bodyBytes: Buffer.byteLength(text),
        status: answer.status,
        accepted: answer.json.accepted ?? 0,
        rejected: answer.json.rejected?.length ?? (answer.status === 400 ? Number.NaN : 0),
        medianMs: median(times),
        maxMs: Math.max(...times),
        maxHeapGrowthBytes: heapGrowth
      })
    }
  } finally {
    pipeline.abandon()
    await pipeline.stop().catch(() => undefined)
    delete process.env[LOCAL_ENDPOINT_ENV]
  }
  return results
}

export function ingestLine(result: IngestCase): string {
  const kB = (bytes: number) => `${(bytes / 1024).toFixed(0)} kB`
  const answered =
    result.status === 200 ? `200, ${result.accepted} taken, ${result.rejected} refused` : `${result.status}`
  return (
    `  ${result.name} (${kB(result.bodyBytes)}): ${answered}; answered in ${result.medianMs.toFixed(0)} ms ` +
    `(median, max ${result.maxMs.toFixed(0)} ms); heap left +${(result.maxHeapGrowthBytes / 1024 / 1024).toFixed(1)} MiB at most`
  )
}
