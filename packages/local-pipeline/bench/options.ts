/** The options of `npm run bench`, read from the command line; a bad one prints the usage and exits 2. */
import { parseArgs } from 'node:util'

const USAGE = `Usage: npm run bench -- [options]
  --events N           events per action through each target per round (default 20000: a pass of 40 batches)
  --batch-size N       events per executeBatch call (default 500, at most 500)
  --rounds R           measured rounds after one warm-up round (default 7); medians and paired ratios over them
  --seed S             seed of the generated events (default 42)
  --audience-events N  Engage audience events through syncAudience per target per round (default: as --events; 0 skips it)
  --pipeline-events N  events through the full local pipeline (default 100000; 0 skips it)
  --flush-at N         analytics-node flushAt for the pipeline run (default 200)
  --store-events N     objects posted straight to the sandbox with a pre-filled data file (default 20000; 0 skips it)
  --store-mb N         size the data file is pre-filled to, in MiB (default 47)
  --pipeline-data-mb N also run the full pipeline with SANDBOX_DATA pre-filled to N MiB (default 0: skipped)
  --ingest-rounds N    rounds of each /v1/batch body with a wide shared context (default 5; 0 skips it)
  --replay-events N    events in the files npm run replay sends, plain then gzip (default 1000000; 0 skips it)
  --engine-events N    events through npm start's delivery engine in processes of their own (default 40000; 0 skips it):
                       CPU against executeBatch, events/s with Ortto answering in 2 s, memory at a full backlog
  --engine-rounds R    measured rounds of the engine's CPU figure, after a warm-up round of all its events (default 15)
  --engine-round-events N  events each side takes in one of those rounds (default 10000)
  --engine-profile DIR profile the pipeline process of the CPU figure (node --cpu-prof into DIR) and print where its time went
  --json FILE          also write every figure as JSON to FILE
  --help               this text

Each round, every target sends all the batches of an action in a pass of its own, on a heap just
collected (global.gc), in an order that rotates from round to round.`

export interface Options {
  events: number
  batchSize: number
  rounds: number
  seed: number
  audienceEvents: number
  pipelineEvents: number
  flushAt: number
  storeEvents: number
  storeMiB: number
  pipelineDataMiB: number
  ingestRounds: number
  replayEvents: number
  engineEvents: number
  engineRounds: number
  engineRoundEvents: number
  engineProfile?: string
  json?: string
}

const parseOptions = () =>
  parseArgs({
    options: {
      events: { type: 'string' },
      'batch-size': { type: 'string' },
      rounds: { type: 'string' },
      seed: { type: 'string' },
      'audience-events': { type: 'string' },
      'pipeline-events': { type: 'string' },
      'flush-at': { type: 'string' },
      'store-events': { type: 'string' },
      'store-mb': { type: 'string' },
      'pipeline-data-mb': { type: 'string' },
      'ingest-rounds': { type: 'string' },
      'replay-events': { type: 'string' },
      'engine-events': { type: 'string' },
      'engine-rounds': { type: 'string' },
      'engine-round-events': { type: 'string' },
      'engine-profile': { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean' }
    }
  })

export function readOptions(): Options {
  let parsed: ReturnType<typeof parseOptions>
  try {
    parsed = parseOptions()
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`)
    process.exit(2)
  }
  const { values } = parsed
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const whole = (name: string, raw: string | undefined, fallback: number, min: number, max = Infinity): number => {
    if (raw === undefined) return fallback
    const value = Number(raw)
    if (!Number.isInteger(value) || value < min || value > max) {
      const range = max === Infinity ? `at least ${min}` : `from ${min} to ${max}`
      console.error(`--${name} must be a whole number ${range} (got "${raw}")\n\n${USAGE}`)
      process.exit(2)
    }
    return value
  }

  const events = whole('events', values.events, 20_000, 1)
  return {
    events,
    // Ortto takes at most 500 objects per request; the floor and naive variants send a batch as one.
    batchSize: whole('batch-size', values['batch-size'], 500, 1, 500),
    rounds: whole('rounds', values.rounds, 7, 1),
    seed: whole('seed', values.seed, 42, 0),
    audienceEvents: whole('audience-events', values['audience-events'], events, 0),
    pipelineEvents: whole('pipeline-events', values['pipeline-events'], 100_000, 0),
    flushAt: whole('flush-at', values['flush-at'], 200, 1),
    storeEvents: whole('store-events', values['store-events'], 20_000, 0),
    storeMiB: whole('store-mb', values['store-mb'], 47, 0),
    pipelineDataMiB: whole('pipeline-data-mb', values['pipeline-data-mb'], 0, 0),
    ingestRounds: whole('ingest-rounds', values['ingest-rounds'], 5, 0),
    replayEvents: whole('replay-events', values['replay-events'], 1_000_000, 0),
    engineEvents: whole('engine-events', values['engine-events'], 40_000, 0),
    engineRounds: whole('engine-rounds', values['engine-rounds'], 15, 1),
    engineRoundEvents: whole('engine-round-events', values['engine-round-events'], 10_000, 1),
    engineProfile: values['engine-profile'],
    json: values.json
  }
}
