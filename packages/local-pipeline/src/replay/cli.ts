/**
 * `npm run replay -- [options] FILE…`: sends files of Segment events (Segment's S3 archive files,
 * the pipeline's dead-letter file) to the local pipeline as Segment's batch API does. Progress goes
 * to stderr, the summary to stdout.
 */
import { statSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { messageOf } from '../pipeline/error-message'
import { DEFAULTS, replay } from './index'

const USAGE = `Usage: npm run replay -- [options] FILE…
  FILE                a file of Segment events, one JSON event per line, gzip or plain (told by its
                      first bytes): a Segment S3 archive file, or the pipeline's dead-letter file
                      (ortto-dead-letter.ndjson), whose lines' "event" is sent
  --checkpoint PATH   where the checkpoint is kept (one FILE only); default: FILE.replay-checkpoint
  --restart           forget the checkpoints and send the files from their start
  --in-flight N       batches sent at once, 1–16 (default ${DEFAULTS.inFlight}); 1 keeps the file's order
  --batch-events N    events per batch, 1–2500 (default ${DEFAULTS.batchEvents}); a batch also stays within 500 kB
  --max-retries N     attempts after a network error, time-out or 5xx before stopping (default ${DEFAULTS.maxRetries});
                      waits the pipeline asks for (503 + Retry-After) are not counted
  --progress-every S  seconds between progress lines when stderr is not a terminal (default ${DEFAULTS.progressEveryMs / 1000})
  --help              this text
Environment: SEGMENT_WRITE_KEY (the pipeline's write key, required), PIPELINE_URL (default http://127.0.0.1:3000)
Exit code: 0 every line sent, 2 every line done but some refused, 1 stopped by an error, 130 interrupted.`

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`)
  process.exit(1)
}

function whole(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(`--${name} must be a whole number from ${min} to ${max} (got "${raw}")`)
  }
  return value
}

function readArguments() {
  let parsed
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        checkpoint: { type: 'string' },
        restart: { type: 'boolean' },
        'in-flight': { type: 'string' },
        'batch-events': { type: 'string' },
        'max-retries': { type: 'string' },
        'progress-every': { type: 'string' },
        help: { type: 'boolean' }
      }
    })
  } catch (error) {
    fail((error as Error).message)
  }
  const { values, positionals: files } = parsed
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  if (files.length === 0) fail('Name at least one FILE to replay.')
  if (values.checkpoint !== undefined && files.length > 1) {
    fail(
      `--checkpoint names one checkpoint, so it takes one FILE (got ${files.length}); without it each file has its own.`
    )
  }
  for (const file of files) {
    let isFile = false
    try {
      isFile = statSync(file).isFile()
    } catch (error) {
      fail(`${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`)
    }
    if (!isFile) fail(`${file} is not a file.`)
  }
  const writeKey = process.env.SEGMENT_WRITE_KEY ?? ''
  if (writeKey.trim() === '') {
    fail(
      'SEGMENT_WRITE_KEY is not set: replay sends with the pipeline\'s write key, which npm start prints ("Write key …").'
    )
  }
  const rawUrl = process.env.PIPELINE_URL ?? 'http://127.0.0.1:3000'
  let pipelineUrl: URL | undefined
  try {
    pipelineUrl = new URL(rawUrl)
  } catch {
    pipelineUrl = undefined
  }
  if (!pipelineUrl || !['http:', 'https:'].includes(pipelineUrl.protocol)) {
    fail(`PIPELINE_URL must be an http:// or https:// URL such as http://127.0.0.1:3000 (got "${rawUrl}").`)
  }
  return {
    files,
    checkpoint: values.checkpoint,
    restart: values.restart ?? false,
    inFlight: whole('in-flight', values['in-flight'], DEFAULTS.inFlight, 1, 16),
    batchEvents: whole('batch-events', values['batch-events'], DEFAULTS.batchEvents, 1, 2_500),
    maxRetries: whole('max-retries', values['max-retries'], DEFAULTS.maxRetries, 0, 1_000),
    progressEveryMs:
      whole('progress-every', values['progress-every'], DEFAULTS.progressEveryMs / 1000, 1, 3_600) * 1000,
    writeKey,
    pipelineUrl
  }
}

async function main(): Promise<void> {
  const options = readArguments()
  const interrupt = new AbortController()
  process.on('SIGINT', () => {
    // A second Ctrl+C stops at once: the checkpoint holds what was acknowledged either way.
    if (interrupt.signal.aborted) process.exit(130)
    process.stderr.write('\nStopping: waiting for the batches in flight (Ctrl+C again to stop at once) …\n')
    interrupt.abort()
  })
  const result = await replay({ ...options, progressTo: process.stderr, signal: interrupt.signal })
  console.log(result.summary.join('\n'))
  process.exitCode = result.exitCode
}

main().catch((error: unknown) => {
  console.error(messageOf(error))
  process.exit(1)
})
