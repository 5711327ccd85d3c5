/**
 * Reading Segment's HTTP Tracking API bodies: ids as Segment's API takes them, nothing altered or
 * dropped without a reason, and events no delivery could carry refused at the door.
 */
import { MAX_EVENT_DEPTH, parseBatch, parseEvent } from '../segment-events'
import type { ParsedEvent } from '../segment-events'

const eventOf = (parsed: ParsedEvent) => {
  if (!parsed.ok) throw new Error(`expected an event, got: ${parsed.reason}`)
  return parsed.event
}
const reasonOf = (parsed: ParsedEvent) => {
  if (parsed.ok) throw new Error('expected the call to be refused')
  return parsed.reason
}

/** A value nested `depth` levels: arrays or objects. */
function nested(depth: number, kind: 'array' | 'object'): unknown {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { a: value }
  return value
}

describe('ids', () => {
  it.each([
    [0, '0'],
    [42, '42'],
    [-7, '-7'],
    [1.5, '1.5'],
    ['ada', 'ada']
  ])('takes userId %j as %j, as Segment’s API does', (userId, taken) => {
    expect(eventOf(parseEvent({ userId }, 'identify')).userId).toBe(taken)
  })

  it('takes a numeric anonymousId and messageId as their decimal strings', () => {
    const event = eventOf(parseEvent({ anonymousId: 0, messageId: 123 }, 'identify'))
    expect(event).toMatchObject({ anonymousId: '0', messageId: '123' })
  })

  it.each([
    [{ userId: true }, '"userId" must be a string or a number (got boolean true)'],
    [{ userId: 'a', anonymousId: { id: 1 } }, '"anonymousId" must be a string or a number (got object {"id":1})'],
    [{ userId: 'a', messageId: ['m'] }, '"messageId" must be a string or a number (got an array)']
  ])('refuses %j with the reason', (body, reason) => {
    expect(reasonOf(parseEvent(body, 'identify'))).toBe(reason)
  })

  it('still needs one id', () => {
    expect(reasonOf(parseEvent({ userId: ' ', anonymousId: null }, 'identify'))).toBe(
      'an identify call needs a userId or an anonymousId'
    )
  })
})

describe('timestamps', () => {
  it('keeps a string timestamp as sent and fills one in only when none was sent', () => {
    expect(eventOf(parseEvent({ userId: 'a', timestamp: '2024-05-06T07:08:09' }, 'identify')).timestamp).toBe(
      '2024-05-06T07:08:09'
    )
    for (const timestamp of [undefined, null, '']) {
      // "Now" is the time of the call: between a reading of the clock before it and one after.
      const before = Date.now()
      const filled = eventOf(parseEvent({ userId: 'a', timestamp }, 'identify')).timestamp
      const after = Date.now()
      expect(Date.parse(String(filled))).toBeGreaterThanOrEqual(before)
      expect(Date.parse(String(filled))).toBeLessThanOrEqual(after)
    }
  })

  it.each([1714979289000, true, { at: 1 }])('refuses a timestamp of %j rather than replace it', (timestamp) => {
    expect(reasonOf(parseEvent({ userId: 'a', timestamp }, 'identify'))).toMatch(
      /^"timestamp" must be an ISO 8601 string such as "2024-05-06T07:08:09.000Z" \(got /
    )
  })
})

describe('what no delivery could carry', () => {
  it.each(['array', 'object'] as const)(
    'takes an event of nested %ss up to the depth limit and refuses one level more',
    (kind) => {
      // The event is level 1 and traits level 2, so a value nested N deep inside traits sits at N + 2.
      const deepest = MAX_EVENT_DEPTH - 2
      expect(parseEvent({ userId: 'a', traits: { deep: nested(deepest, kind) } }, 'identify').ok).toBe(true)
      const reason = reasonOf(parseEvent({ userId: 'a', traits: { deep: nested(deepest + 1, kind) } }, 'identify'))
      expect(reason).toMatch(
        new RegExp(`^the event is nested more than ${MAX_EVENT_DEPTH} levels deep \\(at traits\\.deep[.\\[]`)
      )
      expect(reason).toMatch(/flatten its traits, properties or context$/)
    }
  )

  it('measures a 3,000-deep event without overflowing the stack', () => {
    expect(reasonOf(parseEvent({ userId: 'a', traits: { deep: nested(3_000, 'array') } }, 'identify'))).toMatch(
      /nested more than 100 levels deep/
    )
  })

  it.each([
    ['{"userId": "a", "traits": {"__proto__": {"admin": true}}}', 'traits.__proto__'],
    ['{"userId": "a", "properties": {"cart": [{"__proto__": 1}]}}', 'properties.cart[0].__proto__'],
    ['{"userId": "a", "context": {"traits": {"address": {"__proto__": "x"}}}}', 'context.traits.address.__proto__']
  ])('refuses %s naming where the "__proto__" key is', (json, where) => {
    const reason = reasonOf(parseEvent(JSON.parse(json), 'identify'))
    expect(reason).toBe(
      `${where} is a key named "__proto__", which Segment's action runtime drops when it maps the event; rename it`
    )
  })

  it('takes "__proto__" as a value, and keys such as "constructor"', () => {
    const event = eventOf(parseEvent({ userId: 'a', traits: { note: '__proto__', constructor: 'c' } }, 'identify'))
    expect(event.traits).toEqual({ note: '__proto__', constructor: 'c' })
  })

  it('refuses only the offending call of a batch', () => {
    const { events, rejected } = parseBatch({
      batch: [
        { type: 'identify', userId: 'ok-1' },
        { type: 'identify', userId: 'deep', traits: { deep: nested(3_000, 'array') } },
        { type: 'track', userId: 0, event: 'Paid' }
      ]
    })
    expect(events.map((e) => e.userId)).toEqual(['ok-1', '0'])
    expect(rejected).toEqual([{ index: 1, reason: expect.stringMatching(/nested more than 100 levels/) as unknown }])
  })
})
