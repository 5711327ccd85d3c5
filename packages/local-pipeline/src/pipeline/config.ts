/**
 * `npm start`'s configuration, from the environment. Anything wrong stops the start with one
 * line that says which variable and what it should be.
 */
import { randomBytes } from 'node:crypto'
import { isWellFormedApiKey, localOrigin, LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import { DEFAULT_DEAD_LETTER_FILE } from './dead-letter'
import { DEFAULT_MAX_IN_FLIGHT, DEFAULT_STOP_GRACE_MS } from './delivery'
import { DEFAULT_REQUESTS_PER_SECOND } from './delivery/rate-limit'
import { DEFAULT_SPOOL_DIR } from './delivery/spool/spool'
import { PIPELINE_DESTINATIONS } from './destinations'

/** How long a client may take to send one request (CLIENT_TIMEOUT_MS) before it gets 408. */
export const DEFAULT_CLIENT_TIMEOUT_MS = 30_000

/**
 * A key for the embedded sandbox or a stand-in, new at every start: the embedded sandbox takes only
 * this one, so nothing but this pipeline can deliver into it through its own port.
 */
export const newSandboxApiKey = (): string => `pau-${randomBytes(18).toString('base64url')}`

export type Target =
  | {
      kind: 'sandbox'
      port: number
      dataFile?: string
      /** The one key the sandbox takes and the pipeline delivers with; new at each start when unset (tests pin it). */
      apiKey?: string
    }
  | { kind: 'endpoint'; url: string }
  | { kind: 'ortto'; apiKey: string }

export interface PipelineConfig {
  port: number
  target: Target
  mappingsFile?: string
  /** What callers must show as the basic-auth user name; generated at start when unset. */
  writeKey?: string
  flushIntervalMs: number
  maxAttempts: number
  /** Deadline per delivery call to Ortto (DELIVERY_TIMEOUT_MS); actions-core's 10 s per request when unset. */
  deliveryTimeoutMs?: number
  /** How long a client may take to send one request (CLIENT_TIMEOUT_MS); DEFAULT_CLIENT_TIMEOUT_MS when unset. */
  clientTimeoutMs?: number
  /** Retry back-off bounds (DeliveryOptions); tests shorten them. */
  baseBackoffMs?: number
  maxBackoffMs?: number
  /** Deliveries held before calls are answered 503 (DeliveryOptions.maxPending); tests lower it. */
  maxPending?: number
  /** Where every event that ends failed is written (DEAD_LETTER_FILE); none when unset (tests). */
  deadLetterFile?: string
  /** Where accepted events are kept until delivered (SPOOL_DIR); in memory only when unset (tests). */
  spoolDir?: string
  /** onBatch calls at once (MAX_IN_FLIGHT), requests per second per API key (ORTTO_REQUESTS_PER_SECOND). */
  maxInFlight?: number
  requestsPerSecond?: number
  /** How long a stop lets calls in flight finish (STOP_GRACE_MS). */
  stopGraceMs?: number
  /**
   * The folder of the destination the root CLI routes serve (SERVE_DESTINATION, as serve's
   * --destination); the other is served under /<its folder>/. Ortto (Actions)' when unset.
   */
  serveDestination?: string
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new ConfigError(`${name} must be a port number from 0 to 65535 (got "${raw}").`)
  }
  return value
}

/** A whole number above 0, or `fallback` when the variable is unset or empty. */
function positive<T extends number | undefined>(env: NodeJS.ProcessEnv, name: string, fallback: T): number | T {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value < 1)
    throw new ConfigError(`${name} must be a whole number above 0 (got "${raw}").`)
  return value
}

/** A number above 0 (a rate may be a fraction), or `fallback` when the variable is unset or empty. */
function rate(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${name} must be a number above 0 (got "${raw}").`)
  return value
}

function writeKey(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.SEGMENT_WRITE_KEY
  if (raw === undefined || raw === '') return undefined
  // Sent as the basic-auth user name, which ends at the first colon.
  if (raw.includes(':') || /\s/.test(raw)) {
    throw new ConfigError('SEGMENT_WRITE_KEY cannot hold a colon or spaces: it is sent as the basic-auth user name.')
  }
  return raw
}

function serveDestination(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.SERVE_DESTINATION
  if (raw === undefined || raw === '') return undefined
  const folders = PIPELINE_DESTINATIONS.map((destination) => destination.folder)
  if (!folders.includes(raw)) {
    throw new ConfigError(
      `SERVE_DESTINATION must be the folder of one of the destinations, as serve's --destination takes it: ${folders.join(' or ')} (got "${raw}").`
    )
  }
  return raw
}

export function readConfig(env: NodeJS.ProcessEnv): PipelineConfig {
  const listenPort = port(env, 'PORT', 3000)
  const apiKey = env.ORTTO_API_KEY || undefined
  const endpoint = env[LOCAL_ENDPOINT_ENV] || undefined
  if (apiKey && endpoint) {
    throw new ConfigError(
      `Set ORTTO_API_KEY (deliver to real Ortto) or ${LOCAL_ENDPOINT_ENV} (deliver to your own stand-in), not both.`
    )
  }
  let target: Target
  if (apiKey) {
    if (!isWellFormedApiKey(apiKey)) {
      throw new ConfigError(
        'ORTTO_API_KEY is not an Ortto key: it looks like "pau-…" (p or s, a two-letter region, a hyphen, the secret).'
      )
    }
    target = { kind: 'ortto', apiKey }
  } else if (endpoint) {
    try {
      target = { kind: 'endpoint', url: localOrigin(endpoint) }
    } catch (error) {
      throw new ConfigError((error as Error).message)
    }
  } else {
    if (listenPort === 65535 && !env.SANDBOX_PORT) {
      throw new ConfigError('PORT is 65535, so the sandbox has no PORT+1 to take; set SANDBOX_PORT.')
    }
    const sandboxPort = port(env, 'SANDBOX_PORT', listenPort === 0 ? 0 : listenPort + 1)
    target = { kind: 'sandbox', port: sandboxPort, dataFile: env.SANDBOX_DATA || undefined }
  }
  return {
    port: listenPort,
    target,
    mappingsFile: env.ORTTO_MAPPINGS || undefined,
    writeKey: writeKey(env),
    flushIntervalMs: positive(env, 'FLUSH_INTERVAL_MS', 250),
    maxAttempts: positive(env, 'RETRY_ATTEMPTS', 8),
    deliveryTimeoutMs: positive(env, 'DELIVERY_TIMEOUT_MS', undefined),
    clientTimeoutMs: positive(env, 'CLIENT_TIMEOUT_MS', DEFAULT_CLIENT_TIMEOUT_MS),
    deadLetterFile: env.DEAD_LETTER_FILE || DEFAULT_DEAD_LETTER_FILE,
    spoolDir: env.SPOOL_DIR || DEFAULT_SPOOL_DIR,
    maxInFlight: positive(env, 'MAX_IN_FLIGHT', DEFAULT_MAX_IN_FLIGHT),
    requestsPerSecond: rate(env, 'ORTTO_REQUESTS_PER_SECOND', DEFAULT_REQUESTS_PER_SECOND),
    stopGraceMs: positive(env, 'STOP_GRACE_MS', DEFAULT_STOP_GRACE_MS),
    serveDestination: serveDestination(env)
  }
}
