/**
 * The console's views as trees (static/dom.js's h()), checked without a browser: the Mappings view
 * against /status's `mappings` contract (and the older bare list), the event tester's reading of
 * a pasted event and of /dry-run's answer, the Failures view.
 */
import { findAll, textOf } from '../static/dom.js'
import { failuresView, deadLetterText } from '../static/views/failures.js'
import { mappingsView, normalizeMappings, problemPlace } from '../static/views/mappings.js'
import { dryRunView, readEvent } from '../static/views/tester.js'

/** `GET /status`'s `mappings` as the shared contract gives it. */
const CONTRACT_MAPPINGS = {
  file: 'mappings.json',
  version: 'sha256:0123456789ab',
  loadedAt: '2026-03-01T10:00:00.000Z',
  checkedAt: '2026-03-01T10:05:00.000Z',
  problems: [
    {
      file: 'mappings.json',
      index: 1,
      name: 'Purchases',
      path: ['mapping', 'evnt'],
      field: 'evnt',
      message: 'trackActivity has no field "evnt": did you mean "event"?'
    },
    {
      file: 'mappings.json',
      index: 0,
      path: ['subscribe'],
      column: 12,
      message: 'the parenthesis opened here is never closed'
    }
  ],
  subscriptions: [
    {
      destination: 'Ortto (Actions)',
      name: 'Customers',
      partnerAction: 'upsertContact',
      subscribe: 'type = "identify"',
      mapping: { email: { '@path': '$.traits.email' } }
    },
    { destination: 'Ortto (Actions)', partnerAction: 'trackActivity', subscribe: 'type = "track"', mapping: {} }
  ]
}

type Node = Parameters<typeof textOf>[0]
const byClass = (tree: Node, name: string) =>
  findAll(tree, (node) => typeof node.attrs.class === 'string' && node.attrs.class.split(' ').includes(name))

describe('Mappings view', () => {
  it("shows the contract's file, version, times, each problem with its place, and each subscription with its trigger and fields", () => {
    const tree = mappingsView(CONTRACT_MAPPINGS)
    const text = textOf(tree)
    expect(text).toContain('Mapping filemappings.json')
    expect(text).toContain('Version in forcesha256:0123456789ab')
    const [problems] = byClass(tree, 'problems')
    expect(problems.attrs).toMatchObject({ role: 'alert', 'data-problems': 2 })
    expect(problems.children.map(textOf)).toEqual([
      'entry 1 "Purchases", mapping.evnt: trackActivity has no field "evnt": did you mean "event"?',
      'entry 0, subscribe at column 12: the parenthesis opened here is never closed'
    ])
    const cards = findAll(tree, (node) => node.attrs['data-subscription'] !== undefined)
    expect(cards.map((card) => card.attrs['data-subscription'])).toEqual(['Customers', 'entry 1'])
    expect(textOf(cards[0])).toContain('Trigger: type = "identify"')
    expect(textOf(cards[0])).toContain('email{\n  "@path": "$.traits.email"\n}')
    expect(textOf(cards[1])).toContain('Fields: the action’s defaults.')
  })

  it('says the last check passed when it found nothing, and that the presets are in force without a file', () => {
    const text = textOf(mappingsView({ ...CONTRACT_MAPPINGS, file: null, version: 'presets', problems: [] }))
    expect(text).toContain('Mapping filenone: the presets are in force')
    expect(text).toContain('None: the last check passed.')
  })

  it("shows a pipeline's older /status (a bare list of subscriptions) with what it has", () => {
    const older = [
      {
        name: 'Upsert Contact',
        destination: 'Ortto (Actions)',
        partnerAction: 'upsertContact',
        subscribe: 'type = "identify"'
      }
    ]
    expect(normalizeMappings(older)).toMatchObject({ version: null, problems: [], reportsVersion: false })
    const text = textOf(mappingsView(older))
    expect(text).toContain('Version in forcenot reported by this pipeline')
    expect(text).toContain('Trigger: type = "identify"')
    expect(text).toContain('Fields: not reported by this pipeline.')
  })

  it('places a problem of the whole file with no entry', () => {
    expect(problemPlace({ file: 'm.json', path: [], message: 'x' })).toBe('')
  })
})

describe('Event tester', () => {
  it('says what is wrong with a pasted event, and what to do', () => {
    expect(readEvent('{"type": "identify",')).toEqual({
      error: expect.stringMatching(/^The event is not valid JSON: .+\. Paste one Segment event/)
    })
    expect(readEvent('[1]').error).toBe(
      'Paste one Segment event: a JSON object such as {"type": "identify", "userId": "ada"}.'
    )
    expect(readEvent('{"userId": "ada"}').error).toBe(
      'The event has no "type": give it one of identify, track, page, screen, group or alias.'
    )
    expect(readEvent('{"type": "track", "event": "x"}')).toEqual({ event: { type: 'track', event: 'x' } })
  })

  it("shows /dry-run's answer: the matching subscriptions, each payload and request, and why one would fail", () => {
    const tree = dryRunView({
      dryRun: true,
      sent: 0,
      rejected: [],
      events: [
        {
          index: 0,
          messageId: 'm1',
          type: 'identify',
          subscriptions: [
            {
              subscription: 'Upsert Contact',
              partnerAction: 'upsertContact',
              payload: { user_id: 'ada' },
              valid: true,
              requests: [
                {
                  method: 'POST',
                  url: 'https://api.example/v1/identify',
                  headers: { authorization: '<redacted>' },
                  body: '[{"user_id":"ada"}]'
                }
              ]
            },
            {
              subscription: 'Other',
              partnerAction: 'trackActivity',
              valid: false,
              failure: { status: 400, reason: 'event is required' },
              requests: []
            }
          ]
        }
      ]
    })
    const text = textOf(tree)
    expect(text).toContain('2 matching: Upsert Contact, Other')
    expect(text).toContain('Would be sent: 1 request.')
    expect(text).toContain(
      'POST https://api.example/v1/identify\nauthorization: <redacted>\n\n[\n  {\n    "user_id": "ada"\n  }\n]'
    )
    expect(text).toContain('Would fail: 400 event is required')
    expect(textOf(dryRunView({ events: [{ subscriptions: [], unsubscribed: 'matches no subscription of X' }] }))).toBe(
      'No subscription matches this event: it matches no subscription of X.'
    )
  })
})

describe('Failures view', () => {
  it('shows each failed delivery with its reason, and each attempt with its request and answer', () => {
    const tree = failuresView({
      failed: 1,
      deadLetter: { file: 'ortto-dead-letter.ndjson', written: 1 },
      recentFailures: [
        { messageId: 'm1', subscription: 'Track Activity', status: 400, reason: 'event is blank', attempts: 1 }
      ],
      attempts: {
        recorded: 1,
        latest: [
          {
            sequence: 1,
            at: '2026-03-01T10:00:00.000Z',
            subscription: 'Track Activity',
            partnerAction: 'trackActivity',
            status: 400,
            reason: 'event is blank',
            failed: 1,
            retrying: 0,
            delivered: 2,
            messageIds: ['m1'],
            moreMessageIds: 0,
            exchanges: [
              {
                request: { method: 'POST', url: 'http://127.0.0.1:1/v1/track', headers: {}, body: '[]' },
                response: { statusCode: 207, statusMessage: 'Multi-Status', headers: {}, body: { errors: [] } }
              }
            ],
            moreExchanges: 0
          }
        ]
      }
    })
    const text = textOf(tree)
    expect(text).toContain('Dead-letter file1 event written by this run to ortto-dead-letter.ndjson')
    expect(text).toContain('m1Track Activity400event is blank1')
    expect(text).toContain('1 failed, 2 delivered. Events: m1')
    expect(text).toContain('Request 1: POST http://127.0.0.1:1/v1/track → 207')
    expect(text).toContain('207 Multi-Status')
    expect(deadLetterText(null)).toMatch(/^none: DEAD_LETTER_FILE is not set/)
  })
})
