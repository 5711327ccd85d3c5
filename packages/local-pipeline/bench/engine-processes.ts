/**
 * The processes the engine benchmark runs and watches: the pipeline (`dist/src/pipeline/start.js`,
 * with the Node flags `npm start` gives it)
 * and the Ortto sandbox (its package's `dist/src/sandbox/cli.js`), each in a process of its own, their output
 * lines kept with the time each came; their CPU time and peak RSS read from /proc (Linux); and a
 * sender that posts events to the pipeline as a Segment library would, waiting when it answers 503.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import * as path from 'node:path'
import { npmStartNodeFlags } from './npm-start'

const DIST = path.join(__dirname, '..')
/** The repository's root, where `npm start` is defined (packages/local-pipeline/dist is three folders below it). */
const ROOT = path.join(DIST, '..', '..', '..')
/** The sandbox's command, beside the compiled entry of its package. */
const SANDBOX_CLI = path.join(path.dirname(require.resolve('ortto-sandbox')), 'sandbox', 'cli.js')

export interface Watched {
  child: ChildProcess
  /** stdout lines, with when each arrived (performance.now()). */
  lines: Array<{ at: number; text: string }>
  /** Resolves once `found` gives something for the lines so far (checked at each new line); rejects if the process exits first. */
  when<T>(what: string, found: (lines: Array<{ at: number; text: string }>) => T | undefined): Promise<T>
  /** The first stdout line matching `pattern` (waits for it; rejects if the process exits first). */
  line(pattern: RegExp): Promise<string>
  /** Ends the process (by its handle) and waits for it to be gone. */
  end(signal?: NodeJS.Signals): Promise<void>
}

function watch(script: string, args: string[], env: NodeJS.ProcessEnv, nodeFlags: string[] = []): Watched {
  const child = spawn(process.execPath, [...nodeFlags, path.resolve(DIST, script), ...args], {
    env,
    stdio: ['pipe', 'pipe', 'inherit']
  })
  const lines: Watched['lines'] = []
  const listeners = new Set<() => void>()
  let rest = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString('utf8')).split('\n')
    rest = parts.pop() ?? ''
    const at = performance.now()
    for (const text of parts) lines.push({ at, text })
    for (const listener of listeners) listener()
  })
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      for (const listener of listeners) listener()
      resolve()
    })
  )
  const when = <T>(what: string, found: (seen: Watched['lines']) => T | undefined): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const result = found(lines)
        if (result !== undefined) {
          listeners.delete(check)
          resolve(result)
        } else if (child.exitCode !== null || child.signalCode !== null) {
          listeners.delete(check)
          reject(new Error(`${script} exited before ${what}`))
        }
      }
      listeners.add(check)
      check()
    })
  return {
    child,
    lines,
    when,
    line: (pattern) => when(String(pattern), (seen) => seen.find((l) => pattern.test(l.text))?.text),
    end: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    }
  }
}

export async function startSandboxProcess(flags: string[] = []): Promise<{ url: string; process: Watched }> {
  const sandbox = watch(SANDBOX_CLI, ['--port', '0', ...flags], process.env)
  const url = (await sandbox.line(/^Ortto sandbox listening on /)).split(' ').pop() as string
  return { url, process: sandbox }
}

/**
 * The pipeline as `npm start` runs it, with its Node flags; `nodeFlags` go to node after those
 * (`--cpu-prof`, which NODE_OPTIONS does not take).
 */
export async function startPipelineProcess(
  env: NodeJS.ProcessEnv,
  nodeFlags: string[] = []
): Promise<{ url: string; process: Watched }> {
  const clean = { ...process.env }
  delete clean.ORTTO_API_KEY
  const flags = [...npmStartNodeFlags(ROOT), ...nodeFlags]
  const pipeline = watch(path.join('src', 'pipeline', 'start.js'), [], { ...clean, PORT: '0', ...env }, flags)
  const url = (await pipeline.line(/^ {2}Listening on {4}http/)).split(/\s+/)[3]
  return { url, process: pipeline }
}

/**
 * `Destination.executeBatch` alone in a process of its own (execute-batch-process.ts), on the bench's
 * events against the sandbox at `sandboxUrl`: `pass(from, to)` runs one pass over those of them and
 * resolves with the results delivered.
 */
export async function startExecuteBatchProcess(
  sandboxUrl: string,
  events: number,
  seed: number,
  nodeFlags: string[] = []
): Promise<{ process: Watched; pass: (from: number, to: number) => Promise<number> }> {
  const env = { ...process.env, ORTTO_LOCAL_ENDPOINT: sandboxUrl }
  const watched = watch(path.join('bench', 'execute-batch-process.js'), [String(events), String(seed)], env, nodeFlags)
  await watched.line(/^ready$/)
  let passes = 0
  const pass = (from: number, to: number) => {
    const nth = ++passes
    watched.child.stdin?.write(`pass ${from} ${to}\n`)
    return watched.when(`pass ${nth} ended`, (lines) => {
      const done = lines.filter((l) => l.text.startsWith('done '))[nth - 1]
      return done && Number(done.text.slice('done '.length))
    })
  }
  return { process: watched, pass }
}

/**
 * CPU time of a process so far, in µs, all its threads (GC helpers and the file system's threads
 * too): from each thread's schedstat, in nanoseconds, or else from /proc/<pid>/stat, in ticks of
 * 10 ms. Undefined where /proc is not there.
 */
export function cpuMicrosOf(pid: number): number | undefined {
  try {
    let nanos = 0
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      nanos += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0])
    }
    if (Number.isFinite(nanos) && nanos > 0) return nanos / 1000
  } catch {
    // No schedstat (a kernel without it): the coarser figure below.
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // After the command name in parentheses: field 3 onwards; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[11]) + Number(fields[12])
    // Linux counts in USER_HZ, 100 per second on every architecture it reports to user space.
    return (ticks / 100) * 1e6
  } catch {
    return undefined
  }
}

/** The process's peak resident memory so far (VmHWM), in bytes. */
export function peakRssOf(pid: number): number | undefined {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb === undefined ? undefined : Number(kb) * 1024
  } catch {
    return undefined
  }
}

export const authorization = (writeKey: string) => `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`

/** GET /status of a pipeline: its delivery totals. */
export async function deliveryOf(url: string, writeKey: string): Promise<Record<string, number>> {
  const response = await fetch(`${url}/status`, { headers: { authorization: authorization(writeKey) } })
  return ((await response.json()) as { delivery: Record<string, number> }).delivery
}

/**
 * Posts events to /v1/batch, `callSize` a call, `concurrency` calls at once; a 503 (pipeline full)
 * is tried again after a short wait, as Segment's libraries do. Returns how many calls got a 503.
 */
export async function sendEvents(
  url: string,
  writeKey: string,
  events: readonly object[],
  { callSize, concurrency }: { callSize: number; concurrency: number }
): Promise<{ busy: number }> {
  let next = 0
  let busy = 0
  const headers = { authorization: authorization(writeKey), 'content-type': 'application/json' }
  const worker = async () => {
    for (let start = next; start < events.length; start = next) {
      next += callSize
      const body = JSON.stringify({ batch: events.slice(start, start + callSize) })
      for (;;) {
        const response = await fetch(`${url}/v1/batch`, { method: 'POST', headers, body })
        await response.arrayBuffer()
        if (response.status === 200) break
        if (response.status !== 503) throw new Error(`the pipeline answered ${response.status} to a call`)
        busy++
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { busy }
}

/** Polls until `check` holds (every 20 ms), or fails after `timeoutMs`. */
export async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
