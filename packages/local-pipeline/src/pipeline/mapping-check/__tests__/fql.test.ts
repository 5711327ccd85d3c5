/**
 * The check of a subscription's trigger: each classic mistake is named with its column and what
 * to write instead, and each is one the matcher (@segment/destination-subscriptions) would get
 * wrong: a bare TypeError, or, worse, a trigger that silently matches something else.
 */
import { parseFql, validate } from '@segment/destination-subscriptions'
import { checkFql } from '../fql'

const EXAMPLE = 'e.g. type = "track" and event = "Order Completed"'
const FIELDS =
  'the matcher reads only type, event, name, userId, properties.<key>, traits.<key> and context.<key>, and drops any other condition'

/** What the matcher makes of `fql` for `event`: whether it matches, or the error parseFql reports. */
function matcherSays(fql: string, event: object): boolean | string {
  const parsed = parseFql(fql)
  if ('error' in parsed && parsed.error) return parsed.error.message
  return validate(parsed, event)
}

describe('checkFql: the classic mistakes, with their column and what to write', () => {
  it.each([
    [
      'type = "track" and (event = "A"',
      20,
      'unclosed parenthesis: "(" has no matching ")"; add one where its group ends'
    ],
    ['event = "Order Completed', 9, 'unclosed quote: "Order Completed has no closing "; add one where the string ends'],
    ['type == "track"', 6, '== is not an FQL operator: write ='],
    ['type =', 6, 'type = has no value: write e.g. type = "…"'],
    ['type = = "track"', 8, 'expected a value after type =, found =: write e.g. type = "…"'],
    ['= "track"', 1, `expected a condition, found =: a condition is <field> <operator> <value>, ${EXAMPLE}`],
    ['type "track"', 6, 'no operator between type and "track": write type = "track"'],
    [
      'event startsWith "Order"',
      7,
      'unknown operator startsWith: use =, !=, <, <=, > or >=, or the functions contains(field, "text") and match(field, "pattern*")'
    ],
    ['event contains "Order"', 7, 'contains is a function, not an operator: write contains(event, "…")'],
    ['type ~ "track"', 6, `unexpected character "~": a condition is <field> <operator> <value>, ${EXAMPLE}`],
    ['type = "track" and', 16, 'ends with and: add a condition after it, or remove it'],
    ['type = "track" or', 16, 'ends with or: add a condition after it, or remove it'],
    ['and type = "track"', 1, 'and with no condition before it: remove it, or add a condition'],
    ['type = "track")', 15, '")" closes no "(": remove it, or add the "(" it closes'],
    ['()', 2, `empty parentheses: put a condition inside, ${EXAMPLE}`],
    ['event = "A" && type = "track"', 13, '&& is not FQL: write and'],
    ['type = "track" || type = "page"', 16, '|| is not FQL: write or'],
    ['type = "track" OR event = "x"', 16, 'OR is not read as a conjunction: write or'],
    ['type = "a" event = "b"', 12, 'missing and/or before event: join conditions with and or or'],
    [
      "event = 'A'",
      9,
      `'A' is in single quotes: the matcher compares with the quotes included, so it never matches; write "A"`
    ],
    ['type = track', 8, 'the value track is not in quotes: write "track"'],
    ['anonymousId != null', 1, `unknown field anonymousId: ${FIELDS}`],
    ['tpye = "track"', 1, `unknown field tpye (did you mean type?): ${FIELDS}`],
    ['propertes.total > 3', 1, `unknown field propertes.total (did you mean properties.total?): ${FIELDS}`],
    ['properties > 3', 1, 'properties needs a key: write properties.<key>, e.g. properties.plan'],
    [
      'properties.total > "10"',
      20,
      '> compares numbers, and "10" is a string: write a number, e.g. properties.total > 10'
    ],
    [
      'type = "track" and event = "A" or event = "B"',
      32,
      'or after and without parentheses: the matcher applies one of them to every condition of a group, ' +
        'so put parentheses around the part that goes together, e.g. a and (b or c)'
    ],
    [
      '!(type = "track")',
      1,
      '"!" negates only contains() and match(); the matcher ignores it anywhere else: use != to negate a condition'
    ],
    [
      '(type = "track" and (event = "A" or event = "B"))',
      21,
      '"(" inside parentheses: the matcher reads a group only up to its first ")", so groups cannot nest; rewrite without nesting'
    ],
    [
      'type = "a" and (contains(event, "x") or type = "y")',
      17,
      'contains() inside parentheses: the matcher reads a group only up to its first ")", ' +
        "which would be contains()'s own; move it out of the parentheses"
    ],
    [
      'match(event, "Order")',
      14,
      'match() takes a pattern that starts or ends with *, such as "Order*" or "*Completed"'
    ],
    ['contains(event "x")', 16, 'contains() expects ",", found "x": write contains(event, "Order")'],
    [
      'contains(event, "x"',
      1,
      'unclosed parenthesis: contains() has no ")" after its arguments; write contains(event, "Order")'
    ]
  ])('%s → column %d: %s', (fql, column, message) => {
    expect(checkFql(fql)).toEqual([{ column, message }])
  })

  it.each(['', '   '])('says an empty trigger %j is empty, with no column', (fql) => {
    expect(checkFql(fql)).toEqual([{ message: `is empty: write a condition, ${EXAMPLE}` }])
  })

  it('lists every condition the matcher would drop, and the syntax mistake that stops the reading last', () => {
    expect(checkFql('tpye = "track" and anonymousId = "a" and event = ')).toEqual([
      { column: 1, message: `unknown field tpye (did you mean type?): ${FIELDS}` },
      { column: 20, message: `unknown field anonymousId: ${FIELDS}` },
      { column: 48, message: 'event = has no value: write e.g. event = "…"' }
    ])
  })
})

describe('checkFql: triggers the matcher evaluates as written', () => {
  it.each([
    'type = "identify"',
    'type = "identify" or type = "track"',
    'type = "track" and event != "Heartbeat"',
    'type = "track" and (event = "A" or event = "B")',
    '(type = "track") and (event = "A" or event = "B")',
    'type = "identify" and traits.email != null',
    'context.personas.computation_class = "audience"',
    'properties.total >= 10.5 and properties.count < -2',
    'traits.vip = true and userId != null',
    'contains(event, "Order") and !contains(name, "test")',
    'match(event, "Order*") or match(event, "*Completed")',
    'properties.first-name = "Ada"'
  ])('%s', (fql) => {
    expect(checkFql(fql)).toEqual([])
    expect(matcherSays(fql, { type: 'track', event: 'x' })).toEqual(expect.any(Boolean))
  })
})

describe('why: the matcher gets each of these wrong without checking', () => {
  const track = { type: 'track', event: 'A', anonymousId: 'other' } as const

  it.each(['type = "track" and (event = "A"', 'event = "unterminated', '(type = "track"', '', 'typo "x"'])(
    '%j: parseFql fails with a bare TypeError that names no place',
    (fql) => {
      expect(matcherSays(fql, track)).toBe("Cannot read properties of undefined (reading 'type')")
    }
  )

  it.each([
    ['type == "track"', true, false],
    ["event = 'A'", true, false],
    ['event startsWith "A"', true, false],
    ['anonymousId = "mine" and type = "track"', false, true],
    ['!(type = "track")', false, true],
    ['type = "page" OR event = "A"', true, false],
    ['event = "A" or type = "page" and event = "B"', true, false],
    ['(type = "track" and (event = "B" or event = "A"))', true, "Cannot read properties of undefined (reading 'type')"]
  ])('%j means %j for a track "A" from another anonymous id; the matcher says %j', (fql, means, says) => {
    expect(says).not.toBe(means)
    expect(matcherSays(fql, track)).toBe(says)
    expect(checkFql(fql)).not.toEqual([])
  })
})
