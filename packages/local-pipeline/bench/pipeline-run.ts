/**
 * The full local pipeline end to end: analytics-node → HTTP ingest → delivery through
 * `Destination.onBatch` → the embedded sandbox. The pipeline and its sandbox run in this
 * process; the source (event generation + analytics-node) runs in a child process, as a real
 * source would run elsewhere. Measures events/s from the first call to the last delivery, and
 * samples this process's memory every ~50 ms.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import { startPipeline } from '../src/pipeline'
import { collectGarbage } from './compare'
import type { ClientDone } from './pipeline-client'

export interface MemoryFigures {
  baselineRssBytes: number
  baselineHeapUsedBytes: number
  peakRssBytes: number
  peakHeapUsedBytes: number
  samples: number
  /** Most deliveries the pipeline held at once: its backlog, the main thing its heap grows with. */
  peakPending: number
  /** heapUsed after delivery (after a GC), then again after emptying the sandbox's store. */
  heapAfterDeliveryBytes?: number
  heapAfterSandboxResetBytes?: number
}

export interface PipelineFigures {
  events: number
  wallMs: number
  eventsPerSecond: number
  /** CPU of this process (ingest, delivery, destination, sandbox) per event; the source is not in it. */
  cpuMicrosPerEvent: number
  /** Ingest totals from pipeline.delivery.status(). */
  received: number
  delivered: number
  failed: number
  retried: number
  pending: number
  /** Calls analytics-node (in its own process) reported as not sent, and its CPU per event. */
  clientErrors: number
  clientFirstError?: string
  clientCpuMicrosPerEvent: number
  sandboxRequests: number
  sandboxObjectsReceived: number
  sandboxObjectsAccepted: number
  sandboxByStatus: Record<string, number>
  memory: MemoryFigures
  timedOut: boolean
}

export interface PipelineOptions {
  events: number
  seed: number
  /** analytics-node's flushAt (events per /v1/batch call). */
  flushAt: number
  /** At most this many calls handed to analytics-node but not yet taken in by the pipeline. */
  window: number
  timeoutMs: number
  /** SANDBOX_DATA for the embedded sandbox (e.g. one pre-filled with prefillDataFile). */
  dataFile?: string
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

class MemorySampler {
  peakRss = 0
  peakHeapUsed = 0
  /** Most deliveries the pipeline held at once (queued, in flight or waiting to retry). */
  peakPending = 0
  samples = 0
  /** Set once the pipeline is up. */
  pending: () => number = () => 0
  private timer: NodeJS.Timeout | undefined

  start(intervalMs: number): void {
    this.sample()
    this.timer = setInterval(() => this.sample(), intervalMs)
  }

  sample(): void {
    const { rss, heapUsed } = process.memoryUsage()
    this.samples++
    if (rss > this.peakRss) this.peakRss = rss
    if (heapUsed > this.peakHeapUsed) this.peakHeapUsed = heapUsed
    this.peakPending = Math.max(this.peakPending, this.pending())
  }

  stop(): void {
    this.sample()
    if (this.timer) clearInterval(this.timer)
  }
}

interface ClientHandle {
  child: ChildProcess
  done: Promise<ClientDone>
}

/** Forks the source process and resolves once it has loaded and is waiting for "go". */
async function forkClient(url: string, writeKey: string, options: PipelineOptions): Promise<ClientHandle> {
  const child = fork(
    join(__dirname, 'pipeline-client.js'),
    [url, options.events, options.seed, options.flushAt, options.window].map(String),
    // In the environment rather than argv, which any local user can read in the process list.
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, BENCH_WRITE_KEY: writeKey } }
  )
  let ready: () => void = () => undefined
  const isReady = new Promise<void>((resolve) => (ready = resolve))
  const done = new Promise<ClientDone>((resolve, reject) => {
    child.on('message', (message: { kind: string }) => {
      if (message.kind === 'ready') ready()
      if (message.kind === 'done') resolve(message as ClientDone)
    })
    child.on('exit', (code) => reject(new Error(`the pipeline client exited with ${code} before it was done`)))
  })
  done.catch(() => undefined)
  await Promise.race([isReady, done])
  return { child, done }
}

export async function runPipeline(options: PipelineOptions): Promise<PipelineFigures> {
  const savedEndpoint = process.env[LOCAL_ENDPOINT_ENV]
  collectGarbage()
  await sleep(100)
  const baseline = process.memoryUsage()
  const sampler = new MemorySampler()
  sampler.start(50)

  const pipeline = await startPipeline(
    {
      port: 0,
      target: { kind: 'sandbox', port: 0, dataFile: options.dataFile },
      flushIntervalMs: 50,
      maxAttempts: 8,
      // The local sandbox has no plan rate: this run measures the pipeline, not Ortto's request cap.
      requestsPerSecond: 1_000
    },
    () => undefined
  )
  let client: ClientHandle | undefined
  try {
    const status = () => pipeline.delivery.status()
    sampler.pending = () => status().pending
    client = await forkClient(pipeline.url, pipeline.writeKey, options)
    const cpuBefore = process.cpuUsage()
    const start = performance.now()
    const deadline = Date.now() + options.timeoutMs
    client.child.send({ kind: 'go' })
    let timer: NodeJS.Timeout | undefined
    const sent = await Promise.race([
      client.done,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('the pipeline client did not finish in time')), options.timeoutMs)
      })
    ]).finally(() => clearTimeout(timer))
    let totals = status()
    while (totals.delivered + totals.failed < sent.sent - sent.errors || totals.pending > 0) {
      if (Date.now() > deadline) break
      await sleep(5)
      totals = status()
    }
    const timedOut = totals.delivered + totals.failed < options.events || totals.pending > 0
    const wallMs = performance.now() - start
    const cpu = process.cpuUsage(cpuBefore)
    sampler.stop()

    const stats = pipeline.sandbox!.stats()
    collectGarbage()
    const heapAfterDelivery = process.memoryUsage().heapUsed
    await pipeline.sandbox!.reset()
    collectGarbage()
    const heapAfterReset = process.memoryUsage().heapUsed
    const memory: MemoryFigures = {
      baselineRssBytes: baseline.rss,
      baselineHeapUsedBytes: baseline.heapUsed,
      peakRssBytes: sampler.peakRss,
      peakHeapUsedBytes: sampler.peakHeapUsed,
      samples: sampler.samples,
      peakPending: sampler.peakPending,
      heapAfterDeliveryBytes: heapAfterDelivery,
      heapAfterSandboxResetBytes: heapAfterReset
    }
    return {
      events: options.events,
      wallMs,
      eventsPerSecond: totals.delivered / (wallMs / 1000),
      cpuMicrosPerEvent: (cpu.user + cpu.system) / options.events,
      received: totals.received,
      delivered: totals.delivered,
      failed: totals.failed,
      retried: totals.retried,
      pending: totals.pending,
      clientErrors: sent.errors,
      clientFirstError: sent.firstError,
      clientCpuMicrosPerEvent: sent.cpuMicros / options.events,
      sandboxRequests: stats.requests,
      sandboxObjectsReceived: stats.objectsReceived,
      sandboxObjectsAccepted: stats.objectsAccepted,
      sandboxByStatus: stats.byStatus,
      memory,
      timedOut
    }
  } finally {
    sampler.stop()
    // Only our own child, by its handle, and only if it is still running.
    if (client && client.child.exitCode === null && client.child.signalCode === null) client.child.kill()
    await pipeline.stop()
    if (savedEndpoint === undefined) delete process.env[LOCAL_ENDPOINT_ENV]
    else process.env[LOCAL_ENDPOINT_ENV] = savedEndpoint
  }
}
