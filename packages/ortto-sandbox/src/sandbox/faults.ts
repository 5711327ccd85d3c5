import type { FaultOptions } from './types'

/**
 * Fault injection for every Ortto route but /v1/me: the batch routes (identify, track, audience
 * members) and the audience routes (create, get). The rate limit is deterministic; the
 * other faults come from one draw of a seeded PRNG per request, split by the rates in the
 * fixed order fail, drop, malformed, slow. So the faults are mutually exclusive, each rate is
 * the fraction of requests that get that fault (when the rates add up to 1 or less; past 1,
 * the later ones in that order get what is left), and the same seed and request order give
 * the same faults.
 */

/** Thrown for fault options that are out of range or unknown; the message says which and why. */
export class FaultOptionsError extends RangeError {
  constructor(message: string) {
    super(message)
    this.name = 'FaultOptionsError'
  }
}

/** Any fixed value works; this one just makes runs without a seed repeatable. */
export const DEFAULT_SEED = 0x5eed

/** The `try-in-seconds` a 429 carries when the fault options do not say otherwise. */
export const DEFAULT_RETRY_AFTER_SECONDS = 1

/** How long a "slow" answer is held back when the fault options do not say. */
export const DEFAULT_SLOW_MS = 1_000

/** The rate-limit fault counts requests in fixed windows of this length. */
export const RATE_LIMIT_WINDOW_MS = 1_000

/** Longest a slow answer may be held: longer only hides a mistake (e.g. seconds given as ms). */
const MAX_SLOW_MS = 600_000

export type MalformedVariant = 'not-json' | 'errors-not-a-list' | 'null-entries' | 'index-out-of-range'
const MALFORMED_VARIANTS: readonly MalformedVariant[] = [
  'not-json',
  'errors-not-a-list',
  'null-entries',
  'index-out-of-range'
]
const FAIL_STATUSES = [500, 502, 503] as const

export type FaultDecision =
  | { kind: 'none' }
  | { kind: 'rate-limit'; retryAfterSeconds: number }
  | { kind: 'fail'; status: (typeof FAIL_STATUSES)[number] }
  | { kind: 'drop'; beforeApply: boolean }
  | { kind: 'slow'; ms: number }
  | { kind: 'malformed'; variant: MalformedVariant }

/** mulberry32: tiny, fast and good enough to spread faults evenly; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type FaultKey = keyof FaultOptions

interface Rule {
  check: (value: number) => boolean
  expected: string
}

const fraction: Rule = { check: (v) => v >= 0 && v <= 1, expected: 'a number from 0 to 1' }
const RULES: Record<FaultKey, Rule> = {
  rateLimitPerSecond: { check: (v) => Number.isInteger(v) && v >= 0, expected: 'a whole number of 0 or more' },
  retryAfterSeconds: { check: (v) => v >= 0, expected: 'a number of seconds, 0 or more' },
  failRate: fraction,
  slowRate: fraction,
  slowMs: {
    check: (v) => Number.isInteger(v) && v >= 0 && v <= MAX_SLOW_MS,
    expected: `a whole number of milliseconds from 0 to ${MAX_SLOW_MS}`
  },
  dropRate: fraction,
  malformedRate: fraction,
  seed: { check: (v) => Number.isInteger(v), expected: 'a whole number' }
}

/**
 * Checks fault options from code or from a JSON body. `null` or a missing key means "off";
 * an unknown key is refused, so a misspelt option cannot silently do nothing.
 */
export function parseFaultOptions(input: unknown): FaultOptions {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FaultOptionsError('fault options must be a JSON object such as {"failRate": 0.1}; {} turns faults off')
  }
  const result: FaultOptions = {}
  for (const [key, value] of Object.entries(input)) {
    if (!Object.hasOwn(RULES, key)) {
      throw new FaultOptionsError(`unknown fault option "${key}"; known options: ${Object.keys(RULES).join(', ')}`)
    }
    if (value === null || value === undefined) continue
    const rule = RULES[key as FaultKey]
    if (typeof value !== 'number' || !Number.isFinite(value) || !rule.check(value)) {
      throw new FaultOptionsError(`fault option ${key} must be ${rule.expected}`)
    }
    result[key as FaultKey] = value
  }
  return result
}

export class FaultInjector {
  private options: FaultOptions = {}
  private random: () => number = mulberry32(DEFAULT_SEED)
  private windowStartedAt = -Infinity
  private requestsInWindow = 0

  constructor(options: FaultOptions = {}) {
    this.set(options)
  }

  /** Replaces every fault option and reseeds, so a run is reproducible from this call on. */
  set(options: FaultOptions): void {
    this.options = parseFaultOptions(options)
    this.random = mulberry32(this.options.seed ?? DEFAULT_SEED)
    this.resetWindow()
  }

  get active(): FaultOptions {
    return { ...this.options }
  }

  resetWindow(): void {
    this.windowStartedAt = -Infinity
    this.requestsInWindow = 0
  }

  /** Decides the fate of one request that arrived at `nowMs`; every route it covers counts against one rate window. */
  decide(nowMs: number): FaultDecision {
    const { rateLimitPerSecond } = this.options
    if (rateLimitPerSecond !== undefined) {
      // The window opens with the first request after the last one closed, so a burst is
      // never split across two windows by where the clock's second happens to tick over.
      if (nowMs - this.windowStartedAt >= RATE_LIMIT_WINDOW_MS) {
        this.windowStartedAt = nowMs
        this.requestsInWindow = 0
      }
      this.requestsInWindow++
      if (this.requestsInWindow > rateLimitPerSecond) {
        return { kind: 'rate-limit', retryAfterSeconds: this.options.retryAfterSeconds ?? DEFAULT_RETRY_AFTER_SECONDS }
      }
    }

    const { failRate = 0, dropRate = 0, malformedRate = 0, slowRate = 0 } = this.options
    if (failRate + dropRate + malformedRate + slowRate === 0) return { kind: 'none' }
    let draw = this.random()
    if (draw < failRate) return { kind: 'fail', status: this.pick(FAIL_STATUSES) }
    draw -= failRate
    if (draw < dropRate) return { kind: 'drop', beforeApply: this.random() < 0.5 }
    draw -= dropRate
    if (draw < malformedRate) return { kind: 'malformed', variant: this.pick(MALFORMED_VARIANTS) }
    draw -= malformedRate
    if (draw < slowRate) return { kind: 'slow', ms: this.options.slowMs ?? DEFAULT_SLOW_MS }
    return { kind: 'none' }
  }

  private pick<T>(choices: readonly T[]): T {
    return choices[Math.floor(this.random() * choices.length)]
  }
}

/** A 207 body for a batch of `objectCount` objects that no client can read as an answer. */
export function malformedBatchBody(variant: MalformedVariant, objectCount: number): string {
  switch (variant) {
    case 'not-json':
      return '{"errors": [{"index": 0, "status": 4'
    case 'errors-not-a-list':
      return JSON.stringify({ errors: { index: 0, status: 400, message: 'errors is an object, not a list' } })
    case 'null-entries':
      return JSON.stringify({ errors: [null] })
    case 'index-out-of-range':
      return JSON.stringify({ errors: [{ index: objectCount, status: 400, message: 'index past the last object' }] })
  }
}
