/**
 * Starts the local pipeline: Segment calls in, delivery through `Destination.onBatch` of Ortto
 * (Actions) and Ortto (Audiences) (destinations.ts says which events go to which), Ortto (or the
 * embedded sandbox) out. Used by `npm start` and by tests.
 */
import { Destination } from '@segment/actions-core'
import { redactApiKey, redactDeep, LOCAL_ENDPOINT_ENV, orttoAudiences, type Settings } from 'actions-ortto'
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
import { messageOf } from './error-message'
import { OwnRoutes } from './own-routes'
import { DeadLetterFile } from './dead-letter'
import { DryRun } from './dry-run'
import { PrefixedRoutes } from './prefixed-routes'
import { PipelineServer } from './http/server'
import { WriteKeyGate, generateWriteKey } from './write-key'
import { allPresetSubscriptions, readCheckedMappingFile, type MatchableSubscription } from './subscriptions'
import { MappingHooks } from './mapping-hooks'
import { MappingsInForce, PRESETS_VERSION, versionOf } from './mappings-in-force'
import { watchMappingFile } from './mapping-watch'
import { MappingReloader, inForceLine, type ReloadResult } from './reload'

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
  /** The subscriptions in force (a reload replaces them). */
  readonly subscriptions: MatchableSubscription[]
  /** Which mappings are in force, their version and the last check (GET /status's `mappings`). */
  mappings: MappingsInForce
  /** Reads ORTTO_MAPPINGS again, as SIGHUP does; a change to the file does it by itself. */
  reloadMappings(): Promise<ReloadResult>
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
    super(messageOf(cause), { cause })
    this.name = 'PipelineStopError'
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
    // Every line, and /status, without the key, whatever a line or a mapping comes to quote.
    const redactedLog = (line: string) => log(redactApiKey(line, apiKey))
    const file = config.mappingsFile ? readCheckedMappingFile(config.mappingsFile, PIPELINE_DESTINATIONS) : undefined
    const subscriptions = file?.subscriptions ?? allPresetSubscriptions(PIPELINE_DESTINATIONS)
    const hooks = new MappingHooks(runners, settings)
    const [failed] = await hooks.complete(subscriptions)
    if (failed) throw new ConfigError(`Mapping "${failed.subscription.name}": ${failed.message}`)
    const version = file ? versionOf(file.bytes) : PRESETS_VERSION
    const mappings = new MappingsInForce(config.mappingsFile, { version, subscriptions }, new Date())
    const audienceIdsFile =
      target.kind === 'sandbox' && target.dataFile ? audienceIdsFileFor(target.dataFile) : undefined
    let audiences: EngageAudiences
    try {
      audiences = new EngageAudiences(orttoAudiences, settings, redactedLog, audienceIdsFile)
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
        prepare: async (subscription, events, charge) =>
          ofAudiences(subscription) ? audiences.prepare(events, charge) : events.map((event) => ({ event })),
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
      dryRun: new DryRun(
        PIPELINE_DESTINATIONS,
        settings,
        () => mappings.subscriptions,
        gate,
        (subscription, event) => (ofAudiences(subscription) ? audiences.preview(event) : { event })
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
        mappings: redactDeep(mappings.status(), (text) => redactApiKey(text, apiKey))
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
    const reloader = new MappingReloader({
      destinations: PIPELINE_DESTINATIONS,
      inForce: mappings,
      hooks,
      apply: (next) => delivery.replaceSubscriptions(next),
      log: redactedLog
    })
    const watch = config.mappingsFile
      ? watchMappingFile(config.mappingsFile, () => void reloader.reload('change'), redactedLog)
      : undefined
    redactedLog(inForceLine(mappings))
    let stopping: Promise<DeliveryTotals> | undefined
    return {
      url,
      writeKey,
      writeKeyGenerated,
      apiKey,
      destinationLabel,
      sandbox,
      get subscriptions() {
        return mappings.subscriptions
      },
      mappings,
      reloadMappings: () => reloader.reload('SIGHUP'),
      delivery,
      audiences,
      audienceIdsFile,
      deadLetter,
      spoolDir: spool?.dir,
      abandon: () => delivery.abandon('abandoned: the pipeline was stopped at once (a second Ctrl+C)'),
      stop: () =>
        (stopping ??= (async () => {
          try {
            watch?.close()
            reloader.close()
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
