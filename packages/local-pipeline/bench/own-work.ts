/**
 * This destination's own work, apart from actions-core's and the network's: Track Activity's
 * `performBatch` (the delivery path: the per-event rules, building the objects, the `ip` check,
 * one JSON.stringify per request, reading the answer, the per-event results) with a request stub
 * that answers 200 at once, in CPU time per event, with and without the stats client. It shows
 * how small a share of an event's cost the code under test is, next to the noise of the
 * end-to-end rows.
 */
import { ortto } from 'actions-ortto'
import type { TrackActivityPayload } from 'actions-ortto'
import type { RequestClient, SegmentEvent } from '@segment/actions-core'
import { collectGarbage } from './compare'
import { median } from './ratios'
import { benchStats } from './stats-client'

export interface OwnWork {
  /** CPU µs per event through Track Activity's performBatch, with this destination's stats and without. */
  withStats: number
  withoutStats: number
  eventsPerCall: number
}

/** What the trackActivity mapping makes of a track event, near enough for this measure. */
const payloadOf = (event: SegmentEvent): TrackActivityPayload => ({
  user_id: event.userId ?? undefined,
  anonymous_id: event.anonymousId ?? undefined,
  ip: (event.context as { ip?: string } | undefined)?.ip,
  traits: (event.context as { traits?: Record<string, unknown> } | undefined)?.traits,
  timestamp: typeof event.timestamp === 'string' ? event.timestamp : undefined,
  message_id: event.messageId,
  event: event.event ?? '',
  properties: event.properties,
  audience_update_mode: 'add'
})

const answered200 = (() =>
  Promise.resolve({ status: 200, content: '{}', text: () => Promise.resolve('{}') })) as unknown as RequestClient

export async function measureOwnWork(trackEvents: SegmentEvent[], calls = 200, runs = 9): Promise<OwnWork> {
  const payloads = trackEvents.slice(0, 500).map(payloadOf)
  const { performBatch } = ortto.actions.trackActivity
  if (!performBatch) throw new Error('Track Activity has no performBatch')
  const settings = { api_key: 'pau-bench-key' }
  const stats = benchStats()
  const cpuPerEvent = async (withStats: boolean): Promise<number> => {
    collectGarbage()
    const before = process.cpuUsage()
    for (let i = 0; i < calls; i++) {
      const statsContext = withStats ? stats.statsContext : undefined
      await performBatch(answered200, { payload: payloads, settings, statsContext })
    }
    const cpu = process.cpuUsage(before)
    return (cpu.user + cpu.system) / (calls * payloads.length)
  }
  // The first runs warm the JIT up; then the two alternate, so load that comes and goes hits both.
  await cpuPerEvent(true)
  await cpuPerEvent(false)
  const withStats: number[] = []
  const withoutStats: number[] = []
  for (let i = 0; i < runs; i++) {
    withStats.push(await cpuPerEvent(true))
    withoutStats.push(await cpuPerEvent(false))
  }
  return { withStats: median(withStats), withoutStats: median(withoutStats), eventsPerCall: payloads.length }
}
