/**
 * Starts the local pipeline: Segment calls in, delivery through `Destination.onBatch` of Ortto
 * (Actions) and Ortto (Audiences) (destinations.ts says which events go to which), Ortto (or the
 * embedded sandbox) out. Used by `npm start` and by tests.
 */
import { Destination, type JSONObject } from '@segment/actions-core'
import { redactApiKey, LOCAL_ENDPOINT_ENV, orttoAudiences, type Settings } from 'actions-ortto'
import { startSandbox, type Sandbox } from 'ortto-sandbox'
import { audienceIdsFileFor } from './audience-ids-file'
import { CliRoutes } from './cli-routes'
import { ConsoleRoutes } from './console'
import { ConfigError, DEFAULT_CLIENT_TIMEOUT_MS, newSandboxApiKey, type PipelineConfig } from './config'
import { DeliveryPipeline, type DeliveryOptions, type DeliveryTotals } from './delivery'
import { SpoolDamagedError } from './delivery/spool/recovery'
import { DiskSpool, SpoolError } from './delivery/spool/spool'
import { ORTTO, ORTTO_AUDIENCES, PIPELINE_DESTINATIONS, type PipelineDestination } from './destinations'
import { EngageAudiences } from './engage-audiences'
import { OwnRoutes } from './own-routes'
import { DeadLetterFile } from './dead-letter'
import { DryRun } from './dry-run'
import { PrefixedRoutes } from './prefixed-routes'
import { PipelineServer } from './server'
import { WriteKeyGate, generateWriteKey } from './write-key'
import { allPresetSubscriptions, loadMappingFile, type MatchableSubscription } from './subscriptions'

export interface Pipeline {
  url: string
  /**
   * The write key every route but GET /, /manifest and /metadata (also under /<folder>/) asks for, as the basic-auth user:
   * SEGMENT_WRITE_KEY, or one generated at start (print it: nobody can call in without it).
   */
  writeKey: string
  /** True when writeKey was generated at start (no SEGMENT_WRITE_KEY). */
  writeKeyGenerated: boolean
  /**
   * The key the destination delivers with: ORTTO_API_KEY, or one generated at start for the
   * sandbox or stand-in. Never printed; tests use it to check that no answer carries it.
   */
  apiKey: string
  /** Where deliveries go, in words (printed at start, shown by /status). */
  destinationLabel: string
  sandbox?: Sandbox
  subscriptions: MatchableSubscription[]
  delivery: DeliveryPipeline
  /** The Ortto audience of each Engage audience, created as their events arrive. */
  audiences: EngageAudiences
  /** Where the Ortto audience ids are kept across restarts (beside SANDBOX_DATA); in memory only when unset. */
  audienceIdsFile?: string
  /** Where events that end failed are written, when the configuration names a file. */
  deadLetter?: DeadLetterFile
  /** Where accepted events are kept until they are delivered (SPOOL_DIR); in memory only when the configuration names none. */
  spoolDir?: string
  /**
   * Stops taking calls, delivers what it can within the stop grace, stops the sandbox; what is not
   * delivered stays in the spool. Rejects with PipelineStopError, which still carries the totals,
   * when the sandbox could not save its data file.
   */
  stop(): Promise<DeliveryTotals>
  /**
   * Stops at once (a second Ctrl+C). What is held stays in the spool for the next start; without a
   * spool it ends failed, each event in the dead-letter file with why. Returns how many deliveries that is.
   */
  abandon(): number
}

/** Delivery finished, but stopping the sandbox failed (e.g. its data file could not be saved). */
export class PipelineStopError extends Error {
  constructor(
    readonly totals: DeliveryTotals,
    cause: unknown
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause })
    this.name = 'PipelineStopError'
  }
}

interface HookOutputs {
  inputs?: { audience_name?: unknown }
  outputs?: { audience_id?: unknown }
}

/**
 * A mapping saved in Segment's UI carries the Associate Audience hook's outputs. A mapping file may
 * carry only its inputs (`onMappingSave.inputs.audience_name`); the hook then runs here, as it
 * would when the mapping is saved, and its outputs are kept with the mapping.
 */
async function runMappingHooks(
  runners: ReadonlyMap<PipelineDestination, Destination<Settings>>,
  settings: Settings,
  subscriptions: MatchableSubscription[]
) {
  for (const subscription of subscriptions) {
    const saved = subscription.mapping.onMappingSave as HookOutputs | undefined
    const action = runners.get(subscription.destination)?.actions[subscription.partnerAction]
    if (!action || !saved?.inputs?.audience_name || saved.outputs?.audience_id) continue
    const result = await action.executeHook('onMappingSave', {
      settings,
      payload: undefined,
      hookInputs: saved.inputs
    })
    if (result.error || !result.savedData) {
      throw new ConfigError(
        `Mapping "${subscription.name}": ${result.error?.message ?? 'the audience hook saved nothing'}`
      )
    }
    subscription.mapping = {
      ...subscription.mapping,
      onMappingSave: { ...saved, outputs: result.savedData as JSONObject } as JSONObject
    }
  }
}

/**
 * The CLI routes: those of `serveFolder`'s destination at the root, as `./bin/run serve
 * --destination=<folder>` serves one destination, and every other one's under /<its folder>/.
 * Ours first in each, so /results/… and /metadata stay ours even if an action were ever named so.
 */
function cliRouteSets(serveFolder: string, settings: Settings, gate: WriteKeyGate) {
  const setsOf = ({ definition, folder, metadata }: PipelineDestination) => [
    new OwnRoutes(definition, settings, metadata, gate),
    new CliRoutes(definition, settings, folder, gate)
  ]
  const root = PIPELINE_DESTINATIONS.find((destination) => destination.folder === serveFolder) ?? ORTTO
  const others = PIPELINE_DESTINATIONS.filter((destination) => destination !== root)
  return [
    ...setsOf(root),
    ...others.flatMap((other) => setsOf(other).map((set) => new PrefixedRoutes(`/${other.folder}`, set)))
  ]
}

/** Pipelines running in this process that point ORTTO_LOCAL_ENDPOINT at their own target. */
let pipelinesWithEndpoint = 0

interface PipelineHooks {
  /** Every delivery that ends failed, with its reason (see DeliveryOptions.onFailure). */
  onFailure?: DeliveryOptions['onFailure']
}

export async function startPipeline(
  config: PipelineConfig,
  log: (line: string) => void = console.log,
  options: PipelineHooks = {}
): Promise<Pipeline> {
  let sandbox: Sandbox | undefined
  const target = config.target
  let apiKey = (target.kind === 'sandbox' && target.apiKey) || newSandboxApiKey()
  let destinationLabel: string
  // ORTTO_LOCAL_ENDPOINT is the only way to point the destination elsewhere, and it is process-wide:
  // one pipeline with its own endpoint per process.
  const endpointBefore = process.env[LOCAL_ENDPOINT_ENV]
  if (target.kind === 'ortto' && endpointBefore) {
    throw new ConfigError(
      `${LOCAL_ENDPOINT_ENV} is set, so events would not reach Ortto; unset it to use ORTTO_API_KEY.`
    )
  }
  if (target.kind !== 'ortto' && pipelinesWithEndpoint > 0) {
    throw new ConfigError(`Another pipeline in this process already owns ${LOCAL_ENDPOINT_ENV}; stop it first.`)
  }
  if (target.kind === 'sandbox') {
    sandbox = await startSandbox({
      port: target.port,
      dataFile: target.dataFile,
      acceptedKeys: [apiKey],
      inspectionOnOwnPort: false
    })
    destinationLabel = `the embedded Ortto sandbox at ${sandbox.url}`
  } else if (target.kind === 'endpoint') {
    destinationLabel = `the Ortto stand-in at ${target.url} (${LOCAL_ENDPOINT_ENV})`
  } else {
    apiKey = target.apiKey
    const region = apiKey.slice(1, 3)
    destinationLabel = `Ortto (${apiKey[0] === 'p' ? 'production' : 'staging'}, region ${region})`
  }
  const endpoint = sandbox?.url ?? (target.kind === 'endpoint' ? target.url : undefined)
  const restoreEndpoint = () => {
    if (endpoint === undefined) return
    pipelinesWithEndpoint--
    if (endpointBefore === undefined) delete process.env[LOCAL_ENDPOINT_ENV]
    else process.env[LOCAL_ENDPOINT_ENV] = endpointBefore
  }
  if (endpoint !== undefined) {
    pipelinesWithEndpoint++
    // The destination reads no key from the environment; this only says where requests go.
    process.env[LOCAL_ENDPOINT_ENV] = endpoint
  }

  try {
    const writeKeyGenerated = config.writeKey === undefined
    const writeKey = config.writeKey ?? generateWriteKey()
    const gate = new WriteKeyGate(writeKey, target.kind === 'ortto')
    const settings: Settings = { api_key: apiKey }
    const deadLetter = config.deadLetterFile ? new DeadLetterFile(config.deadLetterFile, apiKey) : undefined
    try {
      deadLetter?.checkWritable()
    } catch (error) {
      throw new ConfigError((error as Error).message)
    }
    const runners = new Map(PIPELINE_DESTINATIONS.map((d) => [d, new Destination<Settings>(d.definition)]))
    const subscriptions = config.mappingsFile
      ? loadMappingFile(config.mappingsFile, PIPELINE_DESTINATIONS)
      : allPresetSubscriptions(PIPELINE_DESTINATIONS)
    await runMappingHooks(runners, settings, subscriptions)
    const audienceIdsFile =
      target.kind === 'sandbox' && target.dataFile ? audienceIdsFileFor(target.dataFile) : undefined
    let audiences: EngageAudiences
    try {
      // As delivery's lines, never with the key, whatever a line comes to quote.
      const audienceLog = (line: string) => log(redactApiKey(line, apiKey))
      audiences = new EngageAudiences(orttoAudiences, settings, audienceLog, audienceIdsFile)
    } catch (error) {
      throw new ConfigError((error as Error).message)
    }
    const ofAudiences = (subscription: { destination: PipelineDestination }) =>
      subscription.destination === ORTTO_AUDIENCES
    const spool = config.spoolDir ? new DiskSpool({ dir: config.spoolDir, log }) : undefined
    let delivery: DeliveryPipeline
    try {
      delivery = new DeliveryPipeline({
        destinations: runners,
        settings,
        subscriptions,
        prepare: async (subscription, events) =>
          ofAudiences(subscription) ? audiences.prepare(events) : events.map((event) => ({ event })),
        flushIntervalMs: config.flushIntervalMs,
        maxAttempts: config.maxAttempts,
        requestTimeoutMs: config.deliveryTimeoutMs,
        baseBackoffMs: config.baseBackoffMs,
        maxBackoffMs: config.maxBackoffMs,
        maxPending: config.maxPending,
        maxInFlight: config.maxInFlight,
        requestsPerSecond: config.requestsPerSecond,
        stopGraceMs: config.stopGraceMs,
        spool,
        log,
        onFailure: options.onFailure,
        deadLetter
      })
    } catch (error) {
      // The spool's folder, lock or files: said as a start-up problem, with its remedy.
      const spoolProblem = error instanceof SpoolError || error instanceof SpoolDamagedError
      throw spoolProblem ? new ConfigError(error.message) : error
    }
    const consoleRoutes = new ConsoleRoutes({ delivery, sandbox, destination: destinationLabel })
    const server = new PipelineServer({
      delivery,
      console: consoleRoutes,
      dryRun: new DryRun(PIPELINE_DESTINATIONS, settings, subscriptions, gate, (subscription, event) =>
        ofAudiences(subscription) ? audiences.preview(event) : { event }
      ),
      cli: cliRouteSets(config.serveDestination ?? ORTTO.folder, settings, gate),
      sandbox,
      // An emptied sandbox has none of the audiences: each is checked again before its next use.
      onSandboxReset: () => audiences.recheck(),
      gate,
      requestTimeoutMs: config.clientTimeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS,
      log,
      describe: () => ({
        destination: destinationLabel,
        mappings: subscriptions.map(({ name, destination, partnerAction, subscribe }) => ({
          name,
          destination: destination.definition.name,
          partnerAction,
          subscribe
        }))
      })
    })
    let url: string
    try {
      url = await server.listen(config.port)
    } catch (error) {
      // Nothing was taken in: what the spool held stays there, and its folder is let go.
      delivery.abandon('the pipeline could not listen')
      await spool?.close()
      throw error
    }
    let stopping: Promise<DeliveryTotals> | undefined
    return {
      url,
      writeKey,
      writeKeyGenerated,
      apiKey,
      destinationLabel,
      sandbox,
      subscriptions,
      delivery,
      audiences,
      audienceIdsFile,
      deadLetter,
      spoolDir: spool?.dir,
      abandon: () => delivery.abandon('abandoned: the pipeline was stopped at once (a second Ctrl+C)'),
      stop: () =>
        (stopping ??= (async () => {
          try {
            // Open console pages hold streams: they end first, so the server's close does not wait for them.
            consoleRoutes.close()
            await server.close()
            const totals = await delivery.stop()
            try {
              await sandbox?.stop()
            } catch (error) {
              throw new PipelineStopError(totals, error)
            }
            return totals
          } finally {
            restoreEndpoint()
          }
        })())
    }
  } catch (error) {
    await sandbox?.stop()
    restoreEndpoint()
    throw error
  }
}
