/**
 * A stats client that records every metric, as Segment's would send it, and a way to run events
 * through `testAction` / `testBatchAction` with it. Inside the folder, with only jest and
 * actions-core, so the tests travel with it to Segment's repository.
 */
import { createTestIntegration } from '@segment/actions-core'
import type { DestinationDefinition, JSONObject, SegmentEvent, StatsContext } from '@segment/actions-core'

export interface Incr {
  name: string
  value: number
  tags: string[]
}

/** The tags Segment's runtime passes in `statsContext.tags` in these tests. */
export const RUNTIME_TAGS = ['destination_config_id:test-config', 'source_id:test-source']

/** A statsContext whose client records every `incr` (and ignores the other kinds of metric). */
export function recordingStats(tags: string[] = [...RUNTIME_TAGS]): { statsContext: StatsContext; calls: Incr[] } {
  const calls: Incr[] = []
  const statsClient: StatsContext['statsClient'] = {
    incr: (name: string, value = 1, callTags: string[] = []) => void calls.push({ name, value, tags: [...callTags] }),
    observe: () => undefined,
    _name: (name: string) => name,
    _tags: (callTags: string[] = []) => callTags,
    set: () => undefined,
    histogram: () => undefined
  }
  return { statsContext: { statsClient, tags }, calls }
}

/**
 * The calls this destination made (actions-core reports a few metrics of its own, such as
 * `action.multistatus_discard`), each as `name value tag,tag,…` without the runtime's tags and
 * without `slug:` and `action:` (checked apart), sorted: what a dashboard would show.
 */
export function figuresOf(calls: Incr[], slug: string, action: string): string[] {
  const base = [...RUNTIME_TAGS, `slug:${slug}`, `action:${action}`]
  return calls
    .filter((call) => call.tags.includes(`slug:${slug}`))
    .map((call) => {
      const startsRight = base.every((tag, i) => call.tags[i] === tag)
      const own = startsRight ? call.tags.slice(base.length) : ['(tags do not start with the runtime’s, slug, action)']
      return `${call.name} ${call.value}${own.length > 0 ? ` ${own.join(',')}` : ''}`
    })
    .sort()
}

/** What one run returned: statuses per event (a thrown error's status in single mode). */
export interface StatsRun {
  statuses: number[]
  calls: Incr[]
}

/**
 * Events through the action `slug`, by `testAction` one at a time (single) or `testBatchAction`
 * (batch), with a recording stats client.
 */
export async function runWithStats<S>(
  definition: DestinationDefinition<S>,
  mode: 'single' | 'batch',
  slug: string,
  events: SegmentEvent[],
  options: { mapping: JSONObject; settings: S; statsContext?: StatsContext }
): Promise<StatsRun> {
  const recording = recordingStats()
  const statsContext = options.statsContext ?? recording.statsContext
  const integration = createTestIntegration(definition)
  const statuses: number[] = []
  if (mode === 'batch') {
    await integration.testBatchAction(slug, {
      events,
      mapping: options.mapping,
      settings: options.settings,
      statsContext
    })
    const results = (integration.results[0] as { multistatus: Array<{ status: number }> }).multistatus
    statuses.push(...results.map((result) => result.status))
  } else {
    for (const event of events) {
      try {
        await integration.testAction(slug, {
          event,
          mapping: options.mapping,
          settings: options.settings,
          statsContext
        })
        statuses.push(200)
      } catch (error) {
        statuses.push((error as { status?: number }).status ?? 500)
      }
    }
  }
  return { statuses, calls: recording.calls }
}
