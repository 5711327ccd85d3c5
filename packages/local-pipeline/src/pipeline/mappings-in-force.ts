/**
 * Which mappings the pipeline delivers with right now, and what the last check of the mapping file
 * said: what `GET /status` shows as `mappings` (a browser console reads it) and the log tells at
 * each reload. The version is the hash of the file's bytes, so the same file always has the same
 * version, whoever looks at it.
 */
import { createHash } from 'node:crypto'
import type { JSONObject } from '@segment/actions-core'
import type { MappingProblem } from './mapping-check'
import type { MatchableSubscription } from './subscriptions'

/** The version in force when no mapping file is given. */
export const PRESETS_VERSION = 'presets'

/** A mapping file's version: "sha256:" and the first 12 hex digits of the hash of its bytes. */
export const versionOf = (bytes: Buffer): string =>
  `sha256:${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`

/** `GET /status`'s `mappings` (the contract the console reads). */
export interface MappingsStatus {
  /** ORTTO_MAPPINGS as given; null when the presets are in force. */
  file: string | null
  version: string
  /** When the mappings in force were loaded (ISO). */
  loadedAt: string
  /** When the file was last checked: at start, or the last reload attempt (ISO). */
  checkedAt: string
  /** The last check's problems; [] when it passed. */
  problems: MappingProblem[]
  subscriptions: Array<{
    destination: string
    name?: string
    partnerAction: string
    subscribe: string
    mapping: JSONObject
  }>
}

export class MappingsInForce {
  private loadedAt: Date
  private checkedAt: Date
  private problems: MappingProblem[] = []

  constructor(
    /** ORTTO_MAPPINGS; undefined when the presets are in force. */
    readonly file: string | undefined,
    private inForce: { version: string; subscriptions: MatchableSubscription[] },
    at: Date
  ) {
    this.loadedAt = at
    this.checkedAt = at
  }

  get version(): string {
    return this.inForce.version
  }

  get subscriptions(): MatchableSubscription[] {
    return this.inForce.subscriptions
  }

  /** A reload put `subscriptions` in force. */
  loaded(version: string, subscriptions: MatchableSubscription[], at: Date): void {
    this.inForce = { version, subscriptions }
    this.loadedAt = at
    this.checkedAt = at
    this.problems = []
  }

  /** A reload was refused: the mappings in force stay, and the problems are shown until the next check. */
  refused(problems: MappingProblem[], at: Date): void {
    this.checkedAt = at
    this.problems = problems
  }

  status(): MappingsStatus {
    return {
      file: this.file ?? null,
      version: this.version,
      loadedAt: this.loadedAt.toISOString(),
      checkedAt: this.checkedAt.toISOString(),
      problems: this.problems,
      subscriptions: this.subscriptions.map(({ destination, name, partnerAction, subscribe, mapping }) => ({
        destination: destination.definition.name,
        name,
        partnerAction,
        subscribe,
        mapping
      }))
    }
  }
}
