import { readBatchAnswer } from '../batch-answer'
import { expectWellFormed } from '../../__tests__/__helpers__/verdicts'

type Expected = { ok: true } | { ok: false; status: number; errortype: string; message: string }

const OK: Expected = { ok: true }

const rejected = (status: number, errortype: string, reason: string): Expected => ({
  ok: false,
  status,
  errortype,
  message: `Ortto rejected this event (${status}): ${reason}`
})

const noUsableStatus = (shown: string, reason: string): Expected => ({
  ok: false,
  status: 502,
  errortype: 'BAD_GATEWAY',
  message: `Ortto rejected this event without a usable status (${shown}): ${reason}`
})

const unattributed = (count: number): Expected => ({
  ok: false,
  status: 502,
  errortype: 'BAD_GATEWAY',
  message: `Ortto reported ${count} error(s) that name no event of this request, so this event's delivery cannot be confirmed`
})

const unreadable207 = (why: 'a body that is not JSON' | 'no list of errors'): Expected => ({
  ok: false,
  status: 502,
  errortype: 'BAD_GATEWAY',
  message: `Ortto answered 207 (some events failed) with ${why}, so this event's delivery cannot be confirmed`
})

const times = <T>(count: number, value: T): T[] => Array.from({ length: count }, () => value)

/** Reads the answer, checks the invariants, and returns the verdicts without raw entries. */
function read(status: number, body: unknown, sentCount: number): Expected[] {
  const verdicts = readBatchAnswer(status, body, sentCount)
  expectWellFormed(verdicts, sentCount)
  return verdicts.map((v): Expected => (v.ok ? OK : { ok: false, ...v.failure }))
}

const entry = (index: unknown, status: unknown = 400, message: unknown = 'bad') => ({ index, status, message })

describe('readBatchAnswer: a 200 (or other non-207 2xx) answer', () => {
  it.each<[string, unknown]>([
    ['no body', undefined],
    ['an empty object', {}],
    ['an empty errors list', { errors: [] }],
    ['errors null', { errors: null }],
    ['errors an object', { errors: { index: 0 } }],
    ['a JSON string', 'OK'],
    ['a JSON array', [{ index: 0, status: 400 }]]
  ])('accepts every object when the body is %s', (_case, body) => {
    expect(read(200, body, 3)).toEqual(times(3, OK))
  })

  it('honours a non-empty errors list', () => {
    expect(read(200, { errors: [entry(1, 400, 'bad email')] }, 3)).toEqual([
      OK,
      rejected(400, 'BAD_REQUEST', 'bad email'),
      OK
    ])
  })

  it.each([201, 202, 204, 299])('treats %i like 200', (status) => {
    expect(read(status, {}, 2)).toEqual([OK, OK])
    expect(read(status, { errors: [entry(0, 500, 'x')] }, 2)).toEqual([rejected(500, 'INTERNAL_SERVER_ERROR', 'x'), OK])
  })

  it('gives nothing for an empty request', () => {
    expect(read(200, {}, 0)).toEqual([])
  })
})

describe('readBatchAnswer: a 207 answer with a good list', () => {
  it('fails exactly the listed objects, with their status and message, and keeps the raw entry', () => {
    const first = entry(0, 400, 'bad email')
    const third = entry(2, 422, 'too long')
    const verdicts = readBatchAnswer(207, { errors: [third, first] }, 4)
    expectWellFormed(verdicts, 4)
    expect(verdicts).toEqual([
      {
        ok: false,
        failure: { status: 400, errortype: 'BAD_REQUEST', message: 'Ortto rejected this event (400): bad email' },
        entry: first
      },
      { ok: true },
      {
        ok: false,
        failure: {
          status: 422,
          errortype: 'UNPROCESSABLE_ENTITY',
          message: 'Ortto rejected this event (422): too long'
        },
        entry: third
      },
      { ok: true }
    ])
  })

  it('accepts every object when the list is empty', () => {
    expect(read(207, { errors: [] }, 3)).toEqual(times(3, OK))
  })

  it('ignores keys other than errors', () => {
    expect(read(207, { errors: [entry(1, 503, 'busy')], extra: { index: 0 } }, 2)).toEqual([
      OK,
      rejected(503, 'SERVICE_UNAVAILABLE', 'busy')
    ])
  })

  it('keeps the first entry of a repeated index', () => {
    expect(read(207, { errors: [entry(1, 400, 'first'), entry(1, 500, 'second')] }, 3)).toEqual([
      OK,
      rejected(400, 'BAD_REQUEST', 'first'),
      OK
    ])
  })

  it('gives nothing for an empty request', () => {
    expect(read(207, { errors: [] }, 0)).toEqual([])
    expect(read(207, undefined, 0)).toEqual([])
  })
})

describe('readBatchAnswer: a 207 answer without a readable list confirms nothing', () => {
  it('fails every object as unconfirmed when the body was not JSON', () => {
    expect(read(207, undefined, 3)).toEqual(times(3, unreadable207('a body that is not JSON')))
  })

  it.each<[string, unknown]>([
    ['errors missing', {}],
    ['errors an object', { errors: { 0: { index: 0, status: 400 } } }],
    ['errors a string', { errors: 'index 0 failed' }],
    ['errors null', { errors: null }],
    ['errors a number', { errors: 1 }],
    ['a null body', null],
    ['a top-level list', [entry(0)]],
    ['a string body', 'partial failure']
  ])('fails every object as unconfirmed with %s', (_case, body) => {
    expect(read(207, body, 3)).toEqual(times(3, unreadable207('no list of errors')))
  })
})

describe('readBatchAnswer: entries that name no sent object', () => {
  it.each<[string, unknown]>([
    ['null', null],
    ['a string', 'index 0 failed'],
    ['an array', [0, 400, 'bad']],
    ['a number', 0],
    ['an index equal to the count sent', entry(3)],
    ['a negative index', entry(-1)],
    ['a fractional index', entry(1.5)],
    ['a numeric-string index', entry('1')],
    ['a missing index', { status: 400, message: 'bad' }],
    ['a null index', entry(null)]
  ])('make every unlisted object unconfirmed when an entry is %s', (_case, bad) => {
    expect(read(207, { errors: [entry(0, 400, 'listed'), bad] }, 3)).toEqual([
      rejected(400, 'BAD_REQUEST', 'listed'),
      unattributed(1),
      unattributed(1)
    ])
  })

  it('counts every unattributable entry', () => {
    expect(read(207, { errors: [null, 'x', entry(9), entry(-2)] }, 2)).toEqual(times(2, unattributed(4)))
  })

  it('doubts even a 200 whose list has an unattributable entry', () => {
    expect(read(200, { errors: [entry(5)] }, 2)).toEqual(times(2, unattributed(1)))
  })
})

describe('readBatchAnswer: entries without a usable status still fail their object', () => {
  it.each<[string, unknown, string]>([
    ['missing', undefined, 'none given'],
    ['200', 200, '200'],
    ['the string "400"', '400', '"400"'],
    ['99', 99, '99'],
    ['600', 600, '600'],
    ['399', 399, '399'],
    ['400.5', 400.5, '400.5'],
    ['null', null, 'null'],
    ['an object', { code: 400 }, '{"code":400}']
  ])('fails the object as unconfirmed (502) when the status is %s', (_case, status, shown) => {
    const raw = status === undefined ? { index: 1, message: 'bad' } : entry(1, status, 'bad')
    expect(read(207, { errors: [raw] }, 2)).toEqual([OK, noUsableStatus(shown, 'bad')])
  })

  it.each([400, 499, 500, 599])('uses the boundary status %i as given', (status) => {
    const [verdict] = read(207, { errors: [entry(0, status, 'm')] }, 1)
    expect(verdict).toMatchObject({ ok: false, status, message: `Ortto rejected this event (${status}): m` })
  })
})

describe('readBatchAnswer: the message of an entry', () => {
  it.each<[string, unknown, string]>([
    ['missing', undefined, 'Ortto gave no reason'],
    ['null', null, 'Ortto gave no reason'],
    ['empty', '', 'Ortto gave no reason'],
    ['a number', 42, '42'],
    ['an object', { field: 'email', why: 'invalid' }, '{"field":"email","why":"invalid"}'],
    ['a list', ['a', 1], '["a",1]'],
    ['huge', 'w'.repeat(2000), 'w'.repeat(500)]
  ])('is shown when %s', (_case, message, shown) => {
    const raw = message === undefined ? { index: 0, status: 400 } : entry(0, 400, message)
    expect(read(207, { errors: [raw] }, 1)).toEqual([rejected(400, 'BAD_REQUEST', shown)])
  })
})
