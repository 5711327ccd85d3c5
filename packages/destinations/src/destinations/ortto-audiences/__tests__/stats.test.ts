/**
 * What Sync Audience reports to Segment's monitoring, single (testAction) and batch
 * (testBatchAction): the core's figures, under this destination's slug and the action's key.
 */
import definition from '../index'
import { ORTTO_AUDIENCES_SLUG } from '../constants'
import { RUNTIME_TAGS, figuresOf, runWithStats } from '../../ortto/__tests__/__helpers__/stats'
import type { Incr } from '../../ortto/__tests__/__helpers__/stats'
import { MODES, engageIdentify, engageTrack, settings, stubMembers, syncMapping } from './__helpers__/audiences'
import type { SegmentEvent } from '@segment/actions-core'

const run = (mode: 'single' | 'batch', events: SegmentEvent[]) =>
  runWithStats(definition, mode, 'syncAudience', events, { mapping: syncMapping(), settings })

const expectFigures = (calls: Incr[], expected: string[]) =>
  expect(figuresOf(calls, ORTTO_AUDIENCES_SLUG, 'syncAudience')).toEqual([...expected].sort())

describe.each(MODES)('%s mode', (mode) => {
  it('counts delivered membership changes and the requests that carried them', async () => {
    stubMembers([200, {}], [200, {}])
    const { statuses, calls } = await run(mode, [engageIdentify(true), engageTrack(false)])
    expect(statuses).toEqual([200, 200])
    expectFigures(
      calls,
      mode === 'single'
        ? [
            'syncAudience.delivered 1',
            'syncAudience.delivered 1',
            'syncAudience.requests 1 status:200',
            'syncAudience.requests 1 status:200'
          ]
        : ['syncAudience.delivered 2', 'syncAudience.requests 1 status:200']
    )
  })

  it('counts a refused member, a retryable one and one with no Ortto audience id', async () => {
    stubMembers([207, { errors: [{ index: 0, status: 400, message: 'unknown audience' }] }], [503, 'down'])
    const events = [
      engageIdentify(true),
      engageIdentify(false, { userId: 'user-2' }),
      engageIdentify(true, { personas: { external_audience_id: '  ' } })
    ]
    const { statuses, calls } = await run(mode, events)
    if (mode === 'batch') {
      // One request: the 207 fails the first, the second is delivered; the third is never sent.
      expect(statuses).toEqual([400, 200, 400])
      expectFigures(calls, [
        'syncAudience.delivered 1',
        'syncAudience.not_sent 1 reason:invalid_event,status:400',
        'syncAudience.refused 1 status:400',
        'syncAudience.requests 1 status:207'
      ])
    } else {
      expect(statuses).toEqual([400, 503, 400])
      expectFigures(calls, [
        'syncAudience.not_sent 1 reason:invalid_event,status:400',
        'syncAudience.refused 1 status:400',
        'syncAudience.requests 1 status:207',
        'syncAudience.requests 1 status:503',
        'syncAudience.retryable 1 status:503'
      ])
    }
  })

  it('counts an ip left off, and tags every figure with the runtime’s tags, the slug and the action', async () => {
    stubMembers([200, {}])
    const { calls } = await run(mode, [engageIdentify(true, { traits: { ip: '2001:db8::1' } })])
    expectFigures(calls, [
      'syncAudience.delivered 1',
      'syncAudience.ip_left_off 1 reason:ipv6',
      'syncAudience.requests 1 status:200'
    ])
    const ours = calls.filter((call) => call.tags.includes(`slug:${ORTTO_AUDIENCES_SLUG}`))
    for (const call of ours) {
      expect(call.tags.slice(0, 4)).toEqual([...RUNTIME_TAGS, `slug:${ORTTO_AUDIENCES_SLUG}`, 'action:syncAudience'])
    }
  })
})
