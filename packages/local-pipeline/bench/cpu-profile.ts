/**
 * Reads a V8 CPU profile (`node --cpu-prof`) of the pipeline process and says where its busy time
 * went: self time by area of the code (ingest, spool, delivery engine, actions-core, the
 * destination, Node's own, garbage collection) and by function. Idle time is left out.
 */
import { readFileSync, readdirSync } from 'node:fs'
import * as path from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
}

interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface ProfileSummary {
  file: string
  busyMs: number
  /** Share of the busy time, by area and by function (the largest first). */
  areas: Array<{ area: string; share: number }>
  functions: Array<{ name: string; share: number }>
}

/** Areas by the file a function is in (the first that matches), then by the names V8 gives its own work. */
const AREAS: Array<[area: string, test: (url: string, name: string) => boolean]> = [
  ['garbage collection', (_, name) => name === '(garbage collector)'],
  ['spool', (url) => url.includes('/pipeline/delivery/spool/')],
  ['delivery engine', (url) => url.includes('/pipeline/delivery/') || url.includes('/pipeline/outcomes')],
  [
    'ingest (reading and checking calls)',
    (url) => /\/(pipeline\/(server|segment-events|batch-context|event-structure|ingest-limits)|http\/)/.test(url)
  ],
  ['the destination (src/destinations)', (url) => url.includes('/src/destinations/')],
  ['actions-core', (url) => url.includes('@segment/actions-core')],
  ['FQL (destination-subscriptions)', (url) => url.includes('@segment/destination-subscriptions')],
  ['other node_modules', (url) => url.includes('node_modules')],
  ['the rest of the pipeline', (url) => url.includes('/src/pipeline/')],
  ['Node (http, streams, buffers, fs) and native', () => true]
]

const shortUrl = (url: string) => url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/')

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
  const selfMicros = new Map<number, number>()
  profile.samples.forEach((id, i) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))
  const byArea = new Map<string, number>()
  const byFunction = new Map<string, number>()
  let busy = 0
  for (const [id, micros] of selfMicros) {
    const { functionName, url, lineNumber } = (nodes.get(id) as ProfileNode).callFrame
    if (functionName === '(idle)') continue
    busy += micros
    const area = (AREAS.find(([, test]) => test(url, functionName)) as (typeof AREAS)[number])[0]
    byArea.set(area, (byArea.get(area) ?? 0) + micros)
    const name = url ? `${functionName || '(anonymous)'} ${shortUrl(url)}:${lineNumber + 1}` : functionName
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros)
  }
  const shares = (map: Map<string, number>) =>
    [...map].sort((a, b) => b[1] - a[1]).map(([name, micros]) => ({ name, share: micros / busy }))
  return {
    file,
    busyMs: busy / 1000,
    areas: shares(byArea).map(({ name, share }) => ({ area: name, share })),
    functions: shares(byFunction).slice(0, top)
  }
}

/** The profiles `--cpu-prof-dir` left in a folder. */
export const profilesIn = (dir: string): string[] =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => path.join(dir, name))
