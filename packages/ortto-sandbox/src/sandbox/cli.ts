import { parseArgs } from 'node:util'
import { LOCAL_ENDPOINT_ENV } from './contract'
import { messageOf } from './errors'
import { salvageDataFile, type SalvageResult } from './data-file/salvage'
import {
  SandboxDataError,
  startSandbox,
  type FaultOptions,
  type Sandbox,
  type SandboxOptions,
  type SandboxState
} from './index'

/**
 * `npm run sandbox -- [flags]` (node dist/src/sandbox/cli.js in this package): runs the Ortto sandbox on its own until Ctrl+C.
 * The flag parsing and start-up are functions so tests can run them without a child process.
 */

/** 4318 so it never collides with the pipeline server's usual ports; any free port works. */
export const DEFAULT_CLI_PORT = 4318

export const USAGE = `Usage: npm run sandbox -- [options]

Runs a local stand-in for Ortto's Segment (Actions) API.

Options:
  --port N             port to listen on (default ${DEFAULT_CLI_PORT}; 0 picks a free port)
  --host HOST          address to listen on (default 127.0.0.1)
  --data FILE          load state from FILE at start; each change is saved there before it is answered
  --rate-limit N       answer 429 once more than N requests (all but /v1/me) arrive in one second
  --retry-after S      the try-in-seconds value of those 429 answers (default 1; needs --rate-limit)
  --fail-rate F        fraction 0..1 of requests answered 500/502/503 without applying anything
  --slow-rate F        fraction 0..1 of requests applied at once but answered only after --slow-ms
  --slow-ms MS         delay of slow answers in milliseconds (default 1000; needs --slow-rate)
  --drop-rate F        fraction 0..1 of requests whose connection is closed without an answer
  --malformed-rate F   fraction 0..1 of requests applied, then answered with a body no client can use
  --seed N             seed of the fault PRNG, so a run can be repeated (default fixed)
  --help               show this help

  --salvage FILE       does not start the sandbox: repairs the damaged data file FILE, keeping the
                       records before the first damaged line and moving that line and the rest to
                       FILE.damaged-<time> (run it while no sandbox uses FILE)`

export type CliCommand =
  | { kind: 'help' }
  | { kind: 'error'; message: string }
  | { kind: 'run'; options: SandboxOptions }
  | { kind: 'salvage'; file: string }

class FlagError extends Error {}

function wholeNumber(flag: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const number = /^-?\d+$/.test(value.trim()) ? Number(value) : NaN
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new FlagError(`${flag} must be a whole number from ${min} to ${max}, not "${value}"`)
  }
  return number
}

function decimal(flag: string, value: string, min: number, max: number): number {
  const number = value.trim() === '' ? NaN : Number(value)
  if (!Number.isFinite(number) || number < min || number > max) {
    throw new FlagError(`${flag} must be a number from ${min} to ${max}, not "${value}"`)
  }
  return number
}

/** Reads argv (without node and the script) into sandbox options, or says what is wrong. */
export function parseCliArgs(argv: string[]): CliCommand {
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        data: { type: 'string' },
        'rate-limit': { type: 'string' },
        'retry-after': { type: 'string' },
        'fail-rate': { type: 'string' },
        'slow-rate': { type: 'string' },
        'slow-ms': { type: 'string' },
        'drop-rate': { type: 'string' },
        'malformed-rate': { type: 'string' },
        seed: { type: 'string' },
        salvage: { type: 'string' },
        help: { type: 'boolean' }
      }
    }).values
  } catch (error) {
    // parseArgs explains some mistakes over several lines; one line reads better in a terminal.
    return { kind: 'error', message: messageOf(error).replace(/\s*\n\s*/g, ' ') }
  }
  if (values.help) return { kind: 'help' }
  if (values.salvage !== undefined) {
    const others = Object.keys(values).filter((name) => name !== 'salvage')
    if (others.length > 0) {
      return {
        kind: 'error',
        message: `--salvage runs on its own; leave out ${others.map((o) => `--${o}`).join(', ')}`
      }
    }
    if (typeof values.salvage !== 'string' || values.salvage.trim() === '') {
      return { kind: 'error', message: '--salvage must name the data file' }
    }
    return { kind: 'salvage', file: values.salvage }
  }

  const text = (name: string): string | undefined => {
    const value = values[name]
    return typeof value === 'string' ? value : undefined
  }
  try {
    const options: SandboxOptions = { port: DEFAULT_CLI_PORT }
    const faults: FaultOptions = {}
    const port = text('port')
    if (port !== undefined) options.port = wholeNumber('--port', port, 0, 65535)
    const host = text('host')
    if (host !== undefined) {
      if (host.trim() === '') throw new FlagError('--host must not be empty')
      options.host = host
    }
    const data = text('data')
    if (data !== undefined) {
      if (data.trim() === '') throw new FlagError('--data must name a file')
      options.dataFile = data
    }
    const rateLimit = text('rate-limit')
    if (rateLimit !== undefined) faults.rateLimitPerSecond = wholeNumber('--rate-limit', rateLimit, 0)
    const retryAfter = text('retry-after')
    if (retryAfter !== undefined) {
      if (rateLimit === undefined) throw new FlagError('--retry-after only makes sense with --rate-limit')
      faults.retryAfterSeconds = decimal('--retry-after', retryAfter, 0, 86_400)
    }
    const fractions = [
      ['fail-rate', 'failRate'],
      ['slow-rate', 'slowRate'],
      ['drop-rate', 'dropRate'],
      ['malformed-rate', 'malformedRate']
    ] as const
    for (const [flag, key] of fractions) {
      const value = text(flag)
      if (value !== undefined) faults[key] = decimal(`--${flag}`, value, 0, 1)
    }
    const slowMs = text('slow-ms')
    if (slowMs !== undefined) {
      if (faults.slowRate === undefined) throw new FlagError('--slow-ms only makes sense with --slow-rate')
      faults.slowMs = wholeNumber('--slow-ms', slowMs, 0, 600_000)
    }
    const seed = text('seed')
    if (seed !== undefined) faults.seed = wholeNumber('--seed', seed, 0, 0xffffffff)
    options.faults = faults
    return { kind: 'run', options }
  } catch (error) {
    if (error instanceof FlagError) return { kind: 'error', message: error.message }
    throw error
  }
}

export interface CliOutput {
  out: (line: string) => void
  err: (line: string) => void
}

function describeFaults(faults: FaultOptions | undefined): string {
  const entries = Object.entries(faults ?? {}).filter(([key]) => key !== 'seed')
  if (entries.length === 0) return 'off (turn on with POST /sandbox/faults)'
  return Object.entries(faults ?? {})
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(', ')
}

/** One line on what went wrong at start, without a stack trace. */
function describeStartError(error: unknown, options: SandboxOptions): string {
  if (error instanceof SandboxDataError) return error.message
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  const where = `${options.host ?? '127.0.0.1'}:${options.port ?? DEFAULT_CLI_PORT}`
  if (code === 'EADDRINUSE') return `Port ${where} is already in use; choose another with --port (0 picks a free one).`
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return `Cannot listen on ${where} (${code}); use an address of this machine with --host, such as 127.0.0.1.`
  }
  if (code === 'EACCES') return `Not allowed to listen on ${where}; use a port above 1023 with --port.`
  return `Could not start: ${messageOf(error)}`
}

const counts = (state: SandboxState): string =>
  `${state.contacts.length} contacts, ${state.activities.length} activities, ${state.audiences.length} audiences, ` +
  `${state.membership_history.length} membership changes`

/** Parses the flags and starts the sandbox; resolves with it, or with the exit code to use. */
export async function runCli(argv: string[], output: CliOutput): Promise<{ sandbox: Sandbox } | { exitCode: number }> {
  const command = parseCliArgs(argv)
  if (command.kind === 'help') {
    output.out(USAGE)
    return { exitCode: 0 }
  }
  if (command.kind === 'error') {
    output.err(`ortto sandbox: ${command.message}`)
    output.err('Run with --help to see the options.')
    return { exitCode: 2 }
  }
  if (command.kind === 'salvage') return { exitCode: await runSalvage(command.file, output) }
  const { options } = command
  let sandbox: Sandbox
  try {
    sandbox = await startSandbox(options)
  } catch (error) {
    output.err(`ortto sandbox: ${describeStartError(error, options)}`)
    return { exitCode: 1 }
  }
  const { url } = sandbox
  const state = sandbox.snapshot()
  output.out(`Ortto sandbox listening on ${url}`)
  output.out(`Point the destination at it with ${LOCAL_ENDPOINT_ENV}=${url}`)
  output.out('Inspection routes (no API key needed):')
  output.out(`  GET  ${url}/sandbox/contacts     (?user_id=... or ?anonymous_id=...)`)
  output.out(`  GET  ${url}/sandbox/activities   (?contact_id=...)`)
  output.out(`  GET  ${url}/sandbox/audiences    (?id=... or ?name=...; with the membership history)`)
  output.out(`  GET  ${url}/sandbox/stats`)
  output.out(`  POST ${url}/sandbox/reset`)
  output.out(`  POST ${url}/sandbox/faults       body like {"failRate": 0.1}; {} turns faults off`)
  output.out(
    options.dataFile === undefined
      ? 'Data file: none (state is kept in memory only)'
      : `Data file: ${options.dataFile} (${counts(state)} loaded)`
  )
  output.out(`Faults: ${describeFaults(options.faults)}`)
  output.out('Press Ctrl+C to stop.')
  return { sandbox }
}

/** `--salvage FILE`: repairs a damaged data file (data-file/salvage.ts); the exit code. */
async function runSalvage(file: string, output: CliOutput): Promise<number> {
  let result: SalvageResult
  try {
    result = await salvageDataFile(file)
  } catch (error) {
    output.err(`ortto sandbox: ${messageOf(error)}`)
    return 1
  }
  if (result.kind === 'intact') {
    const torn =
      result.tornBytes > 0
        ? ` (but for a last change of ${result.tornBytes} bytes cut short by a kill, ignored at start)`
        : ''
    output.out(`${file} is not damaged${torn}: nothing to salvage. It holds ${counts(result.state)}.`)
    return 0
  }
  const { site, sideFile, movedBytes } = result
  output.out(`${file} was damaged at line ${site.line} (byte offset ${site.offset}): ${site.why}.`)
  output.out(
    site.line === 1
      ? `Kept nothing: line 1, the snapshot, was damaged. ${file} now holds an empty sandbox.`
      : `Kept lines 1 to ${site.line - 1}: ${file} now holds ${counts(result.state)}.`
  )
  output.out(`Moved line ${site.line} and everything after it (${movedBytes} bytes) to ${sideFile}.`)
  return 0
}

/** Stops on SIGINT/SIGTERM, compacting the data file first; exits 1 only if that save fails. */
function stopOnSignals(sandbox: Sandbox, output: CliOutput): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    output.out(`Received ${signal}; stopping.`)
    sandbox.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        output.err(`ortto sandbox: ${messageOf(error)}`)
        process.exit(1)
      }
    )
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
}

if (require.main === module) {
  const output: CliOutput = {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`)
  }
  runCli(process.argv.slice(2), output).then(
    (result) => {
      if ('sandbox' in result) stopOnSignals(result.sandbox, output)
      else process.exitCode = result.exitCode
    },
    (error: unknown) => {
      output.err(`ortto sandbox: ${messageOf(error)}`)
      process.exitCode = 1
    }
  )
}
