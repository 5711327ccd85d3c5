/** Per-subscription counts since start and per minute, in a ring of MINUTES_KEPT buckets. */
import { MINUTES_KEPT, MinuteCounts } from '../minute-counts'

const MINUTE = 60_000
/** A whole minute, well away from the epoch. */
const T0 = Date.parse('2026-03-01T10:00:00.000Z')
const upsert = { name: 'Upsert Contact', partnerAction: 'upsertContact' }
const track = { name: 'Track Activity', partnerAction: 'trackActivity' }

describe('MinuteCounts', () => {
  it('counts each kind per subscription, since start and in the minute it came', () => {
    const counts = new MinuteCounts()
    counts.add(upsert, 'delivered', T0 + 5_000, 3)
    counts.add(upsert, 'retried', T0 + 59_999)
    counts.add(upsert, 'failed', T0 + MINUTE)
    counts.add(track, 'delivered', T0)
    const shown = counts.of(upsert, T0 + MINUTE + 1)
    expect(shown).toMatchObject({ ...upsert, delivered: 3, retried: 1, failed: 1 })
    expect(shown.minutes).toHaveLength(MINUTES_KEPT)
    expect(shown.minutes.slice(-2)).toEqual([
      { minute: '2026-03-01T10:00:00.000Z', delivered: 3, retried: 1, failed: 0 },
      { minute: '2026-03-01T10:01:00.000Z', delivered: 0, retried: 0, failed: 1 }
    ])
    expect(shown.minutes[0].minute).toBe('2026-03-01T09:47:00.000Z')
    expect(counts.of(track, T0).delivered).toBe(1)
  })

  it('forgets a minute once it leaves the window, and starts its bucket over when the ring comes round', () => {
    const counts = new MinuteCounts()
    counts.add(upsert, 'delivered', T0, 7)
    const later = T0 + MINUTES_KEPT * MINUTE
    // Same bucket, a new minute: the old one's count does not carry over.
    counts.add(upsert, 'delivered', later, 2)
    const shown = counts.of(upsert, later)
    expect(shown.delivered).toBe(9)
    expect(shown.minutes.reduce((sum, m) => sum + m.delivered, 0)).toBe(2)
    expect(shown.minutes[MINUTES_KEPT - 1]).toEqual({
      minute: new Date(later).toISOString(),
      delivered: 2,
      retried: 0,
      failed: 0
    })
    // Nothing counted for a quarter of an hour: every minute shown is zero, the totals stay.
    const quiet = counts.of(upsert, later + MINUTES_KEPT * MINUTE)
    expect(quiet.minutes.every((m) => m.delivered === 0)).toBe(true)
    expect(quiet.delivered).toBe(9)
  })

  it('shows zeros for a subscription with nothing counted, and ignores counts of none', () => {
    const counts = new MinuteCounts()
    counts.add(upsert, 'failed', T0, 0)
    const shown = counts.of(upsert, T0)
    expect(shown).toMatchObject({ delivered: 0, retried: 0, failed: 0 })
    expect(shown.minutes.every((m) => m.delivered + m.retried + m.failed === 0)).toBe(true)
  })
})
