import type * as http from 'node:http'
import type { AudienceMode, MembershipPath } from './contract'

/** Public shapes of the sandbox; see index.ts for the entry point. */

export interface FaultOptions {
  /** Answer 429 once more than N requests (all routes but /v1/me, together) arrived in the current 1-second window. */
  rateLimitPerSecond?: number
  /** The `try-in-seconds` value in the 429 body (default 1). */
  retryAfterSeconds?: number
  /** Fraction 0..1 of requests answered 500/502/503 (at random) without applying anything. */
  failRate?: number
  /** Fraction answered only after slowMs; state is applied first (models a client time-out after Ortto did the work). */
  slowRate?: number
  /** How long a slow answer is held back (default 1000). */
  slowMs?: number
  /** Fraction whose socket is destroyed with no answer (half before applying, half after, at random). */
  dropRate?: number
  /** Fraction answered with a body the client cannot use, after applying state. */
  malformedRate?: number
  /** PRNG seed so runs are reproducible (default fixed). */
  seed?: number
}

export interface SandboxOptions {
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0 (any free port). */
  port?: number
  /** The data file: loaded at start; each change is saved to it before it is answered (see data-file/format.ts). */
  dataFile?: string
  faults?: FaultOptions
  /** When set, only these exact (well-formed) keys are accepted; otherwise any well-formed key. */
  acceptedKeys?: string[]
  /**
   * Whether the sandbox's own port answers /sandbox/* (default true). The pipeline turns it off for
   * its embedded sandbox, whose inspection it serves on its own port behind the write key.
   */
  inspectionOnOwnPort?: boolean
}

export interface SandboxContact {
  id: string
  user_id: string | null
  /** The anonymous id seen most recently for this contact. */
  anonymous_id: string | null
  /** Every anonymous id that locates this contact, oldest first. */
  anonymous_ids: string[]
  traits: Record<string, unknown>
  ip: string | null
  location: Record<string, unknown> | null
  audience_ids: string[]
  created_at: string
  updated_at: string
}

export interface SandboxActivity {
  contact_id: string
  event: string
  properties: Record<string, unknown>
  namespace: string | null
  timestamp: string | null
  message_id: string | null
  received_at: string
}

export interface SandboxAudience {
  id: string
  name: string
  created_at: string
  member_ids: string[]
}

/**
 * One membership instruction the sandbox applied: an accepted object that carried
 * `audience: {mode, id}`. Repeats are listed too, with `changed: false`, so every accepted
 * instruction can be found by its message_id. A repeated activity (same message_id and timestamp)
 * is dropped whole and adds no entry; a merge of contacts moves memberships without one.
 */
export interface SandboxMembershipChange {
  /** 1 for the first entry since the start of the data (or the last reset), then 2, 3… */
  sequence: number
  /** When it was applied (ISO 8601). */
  at: string
  audience_id: string
  mode: AudienceMode
  /** False when the contact already was (add) or was not (remove) a member. */
  changed: boolean
  /** The contact it applied to (at that time: a later merge may fold it into another). */
  contact_id: string
  /** The ids as the object carried them. */
  user_id: string | null
  anonymous_id: string | null
  message_id: string | null
  /** The API path of the request that carried it. */
  via: MembershipPath
}

export interface SandboxState {
  contacts: SandboxContact[]
  activities: SandboxActivity[]
  audiences: SandboxAudience[]
  /** Every membership instruction applied, oldest first (see SandboxMembershipChange). */
  membership_history: SandboxMembershipChange[]
}

export interface SandboxStats {
  /** Requests to the Ortto API routes (/v1/...); inspection routes are not counted. */
  requests: number
  /** Keyed "METHOD /path", e.g. "POST /v1/track"; unknown routes count as "other". */
  byRoute: Record<string, number>
  /** Keyed by HTTP status; a dropped connection has no status and is only in faultsInjected. */
  byStatus: Record<string, number>
  /** Objects in every identify/track/audience-members array received, including requests refused by a fault. */
  objectsReceived: number
  /** Objects that passed validation (repeated activities included: they are answered as success). */
  objectsAccepted: number
  /** Objects listed in a 207 `errors` entry. */
  objectsRejected: number
  /** Activities dropped because their (message_id, timestamp) pair was already stored. */
  duplicateActivitiesDropped: number
  faultsInjected: Record<string, number>
}

export interface Sandbox {
  /** e.g. http://127.0.0.1:43123 (what ORTTO_LOCAL_ENDPOINT is set to). */
  url: string
  port: number
  /** The full router, so another server can forward /sandbox/* requests to it. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): void
  /** Replaces the active faults (`{}` turns them off) and reseeds the PRNG. */
  setFaults(faults: FaultOptions): void
  /**
   * Empties contacts, activities, audiences, membership history and stats; keeps the faults. Rejects with
   * SandboxDataError when the emptied data file cannot be saved.
   */
  reset(): Promise<void>
  snapshot(): SandboxState
  stats(): SandboxStats
  /**
   * Closes the server and its open sockets, then folds the data file's journal into a fresh
   * snapshot; rejects with SandboxDataError when that cannot be saved.
   */
  stop(): Promise<void>
}
