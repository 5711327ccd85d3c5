/**
 * What keeps the benchmark from being fooled by order (bench/compare.ts), and how it reads its
 * rounds (bench/ratios.ts). No timing is asserted: only who runs when, on what heap, and the
 * arithmetic of the paired ratios.
 */
import type { SegmentEvent, StatsContext } from '@segment/actions-core'
import { runRound, type Batch, type Lane } from '../../bench/compare'
import { pairedRatios, quantile, spreadOf } from '../../bench/ratios'
import type { Sandbox } from 'ortto-sandbox'

/** A lane whose destination and sandbox only note, in `log`, what happens to them and when. */
function fakeLane(name: string, log: string[]): Lane {
  const executeBatch = (slug: string, input: { events: SegmentEvent[]; statsContext?: StatsContext }) => {
    log.push(`${name} ${slug} ${input.statsContext?.tags.join(',') ?? 'no stats'}`)
    return Promise.resolve(input.events.map(() => ({ status: 200 })))
  }
  const sandbox = {
    reset: () => Promise.resolve(void log.push(`${name} reset`)),
    stats: () => ({ requests: 0, byStatus: {}, objectsReceived: 0, objectsAccepted: 0, objectsRejected: 0 })
  }
  return {
    target: { name, label: name, destination: { executeBatch, responses: [] } as never, mappings: { a: {} } },
    sandbox: sandbox as unknown as Sandbox,
    counter: {
      url: 'http://127.0.0.1:9',
      counts: () => ({ requests: 0, bodyBytes: 0, wireBytes: 0 }),
      close: () => Promise.resolve()
    },
    beforePass: () => void log.push(`${name} before its pass`)
  }
}

const batches: Batch[] = [
  { slug: 'a', events: [{ type: 'track' }] as SegmentEvent[] },
  { slug: 'a', events: [{ type: 'track' }] as SegmentEvent[] }
]
const statsContext = { statsClient: {} as StatsContext['statsClient'], tags: ['bench:true'] }

describe('runRound', () => {
  const saved = (globalThis as { gc?: () => void }).gc
  afterEach(() => {
    ;(globalThis as { gc?: () => void }).gc = saved
  })

  it('runs each target in a pass of its own, on a collected heap, the order rotating from round to round', async () => {
    const log: string[] = []
    ;(globalThis as { gc?: () => void }).gc = () => void log.push('gc')
    const lanes = ['this', 'floor', 'naive'].map((name) => fakeLane(name, log))
    const firsts: string[] = []
    for (let round = 0; round < 3; round++) {
      log.length = 0
      await runRound(lanes, batches, { api_key: 'pau-x' }, round, statsContext)
      const pass = (name: string) => [`${name} before its pass`, 'gc', `${name} a bench:true`, `${name} a bench:true`]
      expect(log.slice(0, 3)).toEqual(['this reset', 'floor reset', 'naive reset'])
      const order = log.filter((line) => line.endsWith('before its pass')).map((line) => line.split(' ')[0])
      expect(log.slice(3)).toEqual(order.flatMap(pass))
      firsts.push(order.join(' '))
    }
    expect(firsts).toEqual(['this floor naive', 'floor naive this', 'naive this floor'])
  })

  it('figures every target over the same events, one result per event', async () => {
    const log: string[] = []
    const figures = await runRound([fakeLane('this', log), fakeLane('floor', log)], batches, { api_key: 'pau-x' }, 1)
    expect(figures.map((run) => [run.target, run.round, run.events, run.delivered, run.callMs.length])).toEqual([
      ['this', 1, 2, 2, 2],
      ['floor', 1, 2, 2, 2]
    ])
    expect(log.filter((line) => line.includes(' a '))).toEqual([
      'floor a no stats',
      'floor a no stats',
      'this a no stats',
      'this a no stats'
    ])
  })
})

describe('paired ratios', () => {
  const run = (target: string, round: number, eventsPerSecond: number) => ({ target, round, eventsPerSecond })

  it('pairs this destination with the floor round by round, never across rounds', () => {
    const runs = [run('this', 1, 90), run('floor', 1, 100), run('floor', 2, 50), run('this', 2, 55), run('this', 3, 70)]
    expect(pairedRatios(runs, 'this', 'floor', (r) => r.eventsPerSecond)).toEqual([0.9, 1.1])
  })

  it('gives the median, the extremes and the interquartile range', () => {
    expect(spreadOf([1.0, 0.9, 1.2, 0.95, 1.05])).toEqual({
      median: 1.0,
      min: 0.9,
      max: 1.2,
      q1: 0.95,
      q3: 1.05,
      values: [1.0, 0.9, 1.2, 0.95, 1.05]
    })
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5)
    expect(quantile([1, 2, 3, 4], 0.25)).toBe(1.75)
    expect(quantile([7], 0.75)).toBe(7)
  })
})
