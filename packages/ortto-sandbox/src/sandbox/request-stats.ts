/** The counters GET /sandbox/stats shows: what the Ortto API stand-in received and answered. */
import type { SandboxStats } from './types'

const FAULT_NAMES = ['rate-limit', 'fail', 'slow', 'drop-before-apply', 'drop-after-apply', 'malformed'] as const

export function emptyStats(): SandboxStats {
  return {
    requests: 0,
    byRoute: {},
    byStatus: {},
    objectsReceived: 0,
    objectsAccepted: 0,
    objectsRejected: 0,
    duplicateActivitiesDropped: 0,
    faultsInjected: Object.fromEntries(FAULT_NAMES.map((name) => [name, 0]))
  }
}

export const increment = (counts: Record<string, number>, key: string): void => {
  counts[key] = (counts[key] ?? 0) + 1
}
