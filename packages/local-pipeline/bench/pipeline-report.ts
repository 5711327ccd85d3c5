/** Runs the full local pipeline's benchmarks (pipeline-run.ts) for `npm run bench`, prints and checks their figures. */
import { mkdtempSync, rmSync } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { mib, num, statusText } from './format'
import type { Options } from './options'
import { runPipeline, type PipelineFigures } from './pipeline-run'
import { prefillDataFile } from './sandbox-store'

export interface PipelineBench {
  pipeline?: PipelineFigures
  /** The same run with SANDBOX_DATA pre-filled (--pipeline-data-mb). */
  pipelineWithData?: { storeBytes: number; figures: PipelineFigures }
}

type PipelineBenchOptions = Pick<Options, 'pipelineEvents' | 'pipelineDataMiB' | 'seed' | 'flushAt'>

const runOptions = (options: PipelineBenchOptions) => ({
  events: options.pipelineEvents,
  seed: options.seed + 1,
  flushAt: options.flushAt,
  window: 5_000,
  timeoutMs: 10 * 60_000
})

export async function benchPipeline(options: PipelineBenchOptions): Promise<PipelineBench> {
  if (options.pipelineEvents === 0) return {}
  console.log(
    `\nfull local pipeline: ${num(options.pipelineEvents)} events via analytics-node → ingest → delivery → sandbox …`
  )
  const pipeline = await runPipeline(runOptions(options))
  console.log(
    `  ${num(pipeline.eventsPerSecond)} events/s end to end, ${num(pipeline.wallMs)} ms; CPU per event: pipeline process ` +
      `${num(pipeline.cpuMicrosPerEvent, 1)} µs, source process ${num(pipeline.clientCpuMicrosPerEvent, 1)} µs; ` +
      `delivered ${num(pipeline.delivered)}, failed ${num(pipeline.failed)}, retried ${num(pipeline.retried)}; ` +
      `sandbox ${pipeline.sandboxRequests} requests [${statusText(pipeline.sandboxByStatus)}], ` +
      `${num(pipeline.sandboxObjectsReceived)} objects`
  )
  if (options.pipelineDataMiB === 0) return { pipeline }

  const folder = mkdtempSync(path.join(os.tmpdir(), 'ortto-bench-pipeline-'))
  try {
    const dataFile = path.join(folder, 'state.json')
    const storeBytes = prefillDataFile(dataFile, options.pipelineDataMiB * 1024 * 1024)
    console.log(`
the same pipeline run with SANDBOX_DATA pre-filled to ${mib(storeBytes)} …`)
    const figures = await runPipeline({ ...runOptions(options), dataFile })
    console.log(
      `  ${num(figures.eventsPerSecond)} events/s end to end, ${num(figures.wallMs)} ms; ` +
        `delivered ${num(figures.delivered)}, failed ${num(figures.failed)}, retried ${num(figures.retried)}`
    )
    return { pipeline, pipelineWithData: { storeBytes, figures } }
  } finally {
    rmSync(folder, { recursive: true, force: true })
  }
}

function checkPipeline(figures: PipelineFigures): string[] {
  const problems: string[] = []
  if (figures.timedOut) problems.push(`pipeline: timed out with ${figures.pending} deliveries pending`)
  if (figures.received !== figures.events) problems.push(`pipeline: took in ${figures.received}/${figures.events}`)
  if (figures.delivered !== figures.events) problems.push(`pipeline: delivered ${figures.delivered}/${figures.events}`)
  if (figures.clientErrors > 0) {
    problems.push(
      `pipeline: analytics-node reported ${figures.clientErrors} errors (${figures.clientFirstError ?? '?'})`
    )
  }
  if (figures.sandboxObjectsReceived !== figures.events) {
    problems.push(`pipeline: the sandbox received ${figures.sandboxObjectsReceived} objects`)
  }
  return problems
}

export const pipelineProblems = ({ pipeline, pipelineWithData }: PipelineBench): string[] => [
  ...(pipeline ? checkPipeline(pipeline) : []),
  ...(pipelineWithData ? checkPipeline(pipelineWithData.figures).map((p) => `with SANDBOX_DATA: ${p}`) : [])
]

/** The summary table's lines. */
export function pipelineSummary({ pipeline, pipelineWithData }: PipelineBench): string[] {
  const lines: string[] = []
  if (pipeline) {
    const m = pipeline.memory
    lines.push(
      `full pipeline          ${num(pipeline.eventsPerSecond)} events/s end to end (${num(pipeline.events)} events, ` +
        `${num(pipeline.wallMs / 1000, 1)} s); pipeline process ${num(pipeline.cpuMicrosPerEvent, 1)} µs CPU/event ` +
        `(≈ ${num(1e6 / pipeline.cpuMicrosPerEvent)} events/s per core), ` +
        `analytics-node source ${num(pipeline.clientCpuMicrosPerEvent, 1)} µs CPU/event`,
      `memory                 peak RSS ${mib(m.peakRssBytes)} (baseline ${mib(m.baselineRssBytes)}), ` +
        `peak heapUsed ${mib(m.peakHeapUsedBytes)} (baseline ${mib(m.baselineHeapUsedBytes)}); ${m.samples} samples; ` +
        `pipeline backlog peaked at ${num(m.peakPending)} deliveries` +
        (m.heapAfterDeliveryBytes !== undefined && m.heapAfterSandboxResetBytes !== undefined
          ? `; sandbox store held ${mib(m.heapAfterDeliveryBytes - m.heapAfterSandboxResetBytes)} at the end`
          : '')
    )
  }
  if (pipelineWithData) {
    lines.push(
      `pipeline + data file   ${num(pipelineWithData.figures.eventsPerSecond)} events/s end to end with ` +
        `${mib(pipelineWithData.storeBytes)} stored (SANDBOX_DATA)`
    )
  }
  return lines
}
