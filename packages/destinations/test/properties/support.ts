/**
 * Shared pieces of the property tests: a model of Ortto's answers (docs/ortto-api.md, "Batch answers"),
 * the oracle that says which outcome an answer justifies for each object of a request, a nock
 * stand-in that records every request body and answer, and a scan for the API key.
 *
 * The oracle reads Ortto's raw answer text with plain `JSON.parse` and own properties only, so it
 * is independent of the code under test.
 */
import { isIPv4, isIPv6 } from 'node:net'
import fc from 'fast-check'
import nock from 'nock'

export const MAX_OBJECTS_PER_REQUEST = 500
export const MAX_REQUEST_BYTES = 2_000_000

// ---------------------------------------------------------------------------------------------
// Small JSON helpers

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** An object with exactly these own properties, `__proto__` included (a literal would set the prototype). */
export function objectOf(entries: Array<[string, unknown]>): Record<string, unknown> {
  const result: Record<string, unknown> = {}
  for (const [key, value] of entries) {
    Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true })
  }
  return result
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

const own = (value: Record<string, unknown>, key: string): unknown =>
  Object.prototype.hasOwnProperty.call(value, key) ? value[key] : undefined

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------
// IP addresses

/**
 * The oracle of the `ip` Ortto gets for a mapped value (docs/ortto-api.md: Ortto takes IPv4):
 * an IPv4 address as it is, an IPv4-mapped IPv6 address as its IPv4 address, nothing otherwise.
 * Independent of the code under test: Node's `isIPv4`/`isIPv6` say what is an address, and the
 * WHATWG URL parser writes an IPv6 address in its one canonical form, where a mapped address
 * always reads `::ffff:<hex>:<hex>`.
 */
export function expectedWireIp(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  if (isIPv4(value)) return value
  if (!isIPv6(value)) return undefined
  let host: string
  try {
    host = new URL(`http://[${value}]/`).hostname
  } catch {
    return undefined // a zone index (fe80::1%eth0): an IPv6 address, never a mapped IPv4 one
  }
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(host)
  if (!mapped) return undefined
  const [high, low] = [parseInt(mapped[1], 16), parseInt(mapped[2], 16)]
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.')
}

/** Values a mapping may give the IP Address field: IPv4, mapped, other IPv6, and strings that are no address. */
export const ipValue: fc.Arbitrary<string> = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  // Dotted quads with leading zeros, octal and hex parts: what inet_aton reads and Ortto must not get.
  fc.ipV4Extended(),
  fc
    .tuple(
      fc.ipV4(),
      fc.constantFrom('::ffff:', '::FFFF:', '0:0:0:0:0:ffff:', '0::fFfF:', '::0:ffff:', '::ffff:0:', '::')
    )
    .map(([address, prefix]) => prefix + address),
  fc
    .tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.boolean())
    .map(([high, low, upper]) => {
      const text = `::ffff:${high.toString(16)}:${low.toString(16)}`
      return upper ? text.toUpperCase() : text
    }),
  fc.constantFrom('', ' ', 'unknown', 'fe80::1%eth0', '[::1]', ' 203.0.113.7', '203.0.113.7 ', '::ffff:010.0.0.1')
)

// ---------------------------------------------------------------------------------------------
// Strings

/** Characters that tend to break things: lone surrogates, emoji, combining marks, controls, quotes. */
export const TRICKY_CHARS = [
  '\ud800',
  '\udfff',
  '\ud83d',
  '😀',
  '👩‍👩‍👧',
  'é',
  'e\u0301',
  '\u0000',
  '\u001f',
  '"',
  '\\',
  '/',
  '\n',
  ' ',
  '\u2028',
  '\ufeff',
  '\u200b',
  '%',
  '<',
  '&'
] as const

export const trickyUnit = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom(...TRICKY_CHARS) }
)

export const trickyText = (maxLength = 12) => fc.string({ unit: trickyUnit, maxLength })

// ---------------------------------------------------------------------------------------------
// The API key

/** A well-formed key: `<p|s><region>-<secret>`, secret of visible ASCII (quotes and backslashes included). */
export const wellFormedKey = fc
  .record({
    env: fc.constantFrom('p', 's'),
    region: fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'), minLength: 2, maxLength: 2 }),
    secret: fc.string({
      unit: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)),
      minLength: 1,
      maxLength: 24
    })
  })
  .map(({ env, region, secret }) => `${env}${region}-${secret}`)

/** The origin Ortto serves a well-formed key from (docs/ortto-api.md, "Keys and hosts"). */
export function originOf(key: string): string {
  const domain = key[0] === 'p' ? 'ortto.app' : 'ortto-stg.app'
  return `https://segment-action-api-${key.slice(1, 3)}.${domain}`
}

/** How an answer repeats the key inside a JSON string. */
export type KeyEcho = 'none' | 'plain' | 'unicode-escaped' | 'first-char-escaped' | 'slash-escaped'

export const keyEcho: fc.Arbitrary<KeyEcho> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<KeyEcho>('none') },
  { weight: 1, arbitrary: fc.constantFrom<KeyEcho>('plain', 'unicode-escaped', 'first-char-escaped', 'slash-escaped') }
)

const unicodeEscape = (ch: string) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`

/** The key as it appears between the quotes of a JSON string. */
function keyInJson(key: string, echo: KeyEcho): string {
  const normal = JSON.stringify(key).slice(1, -1)
  switch (echo) {
    case 'none':
      return ''
    case 'plain':
      return normal
    case 'unicode-escaped':
      return [...key].map(unicodeEscape).join('')
    case 'first-char-escaped':
      return unicodeEscape(key[0]) + JSON.stringify(key.slice(1)).slice(1, -1)
    case 'slash-escaped':
      return normal.replace(/\//g, '\\/').replace(/-/g, '\\u002d')
  }
}

const KEY_SLOT = '@@ORTTO_API_KEY@@'

/** Serializes `value`, then puts the key (escaped as `echo` says) where the slot marker is. */
function jsonWithKey(value: unknown, key: string, echo: KeyEcho): string {
  return JSON.stringify(value).split(KEY_SLOT).join(keyInJson(key, echo))
}

const withSlot = (text: string, echo: KeyEcho) => (echo === 'none' ? text : `${text} ${KEY_SLOT}`)

/** Every place in `value` (strings, object keys, its JSON) where the key shows, raw or JSON-escaped. */
export function keyLeaks(value: unknown, key: string): string[] {
  const found: string[] = []
  const seen = new Set<unknown>()
  const walk = (v: unknown, path: string) => {
    if (typeof v === 'string') {
      if (v.includes(key)) found.push(path)
      return
    }
    if (typeof v !== 'object' || v === null || seen.has(v)) return
    seen.add(v)
    if (v instanceof Error) walk(v.message, `${path}.message`)
    for (const k of Object.getOwnPropertyNames(v)) {
      if (k.includes(key)) found.push(`${path}[key ${JSON.stringify(k)}]`)
      walk((v as Record<string, unknown>)[k], `${path}.${k}`)
    }
  }
  walk(value, '$')
  let json = ''
  try {
    json = JSON.stringify(value) ?? ''
  } catch {
    json = ''
  }
  if (json.includes(key)) found.push('JSON.stringify(...)')
  const escaped = JSON.stringify(key).slice(1, -1)
  if (escaped !== key && json.includes(escaped)) found.push('JSON.stringify(...) (escaped)')
  return found
}

// ---------------------------------------------------------------------------------------------
// Ortto's answers, as data (so a counter-example prints readably), made concrete per request.

/** Where an error entry points, relative to the number of objects in the request. */
export type IndexSpec =
  | { kind: 'at'; fraction: number }
  | { kind: 'beyond'; by: number }
  | { kind: 'negative'; value: number }
  | { kind: 'fractional'; fraction: number }
  | { kind: 'text'; fraction: number }
  | { kind: 'missing' }
  | { kind: 'null' }
  | { kind: 'huge' }

export type EntrySpec =
  | { kind: 'entry'; index: IndexSpec; status: Json | undefined; message: Json | undefined; echo: KeyEcho }
  | { kind: 'raw'; value: Json }

/** How the list of errors is wrapped in a 2xx answer. */
export type Wrapping =
  'errors-list' | 'errors-object' | 'errors-string' | 'errors-null' | 'no-errors' | 'top-level-list' | 'json-null'

export type AnswerSpec =
  | { kind: 'accepted'; status: number; body: string }
  | { kind: 'multi'; status: number; wrapping: Wrapping; entries: EntrySpec[]; noise: Array<[string, Json]> }
  | { kind: 'text'; status: number; text: string; echo: KeyEcho; contentType: string }
  | { kind: 'refused'; status: number; body: RefusalBody; echo: KeyEcho }
  | { kind: 'drop'; code: string; echo: boolean }

export type RefusalBody = 'rate-limit' | 'message' | 'error-object' | 'error-string' | 'text' | 'empty' | 'html'

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })

export const indexSpec: fc.Arbitrary<IndexSpec> = fc.oneof(
  { weight: 8, arbitrary: fraction.map((f): IndexSpec => ({ kind: 'at', fraction: f })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }).map((by): IndexSpec => ({ kind: 'beyond', by })) },
  { weight: 1, arbitrary: fc.integer({ min: -5, max: -1 }).map((value): IndexSpec => ({ kind: 'negative', value })) },
  { weight: 1, arbitrary: fraction.map((f): IndexSpec => ({ kind: 'fractional', fraction: f })) },
  { weight: 1, arbitrary: fraction.map((f): IndexSpec => ({ kind: 'text', fraction: f })) },
  { weight: 1, arbitrary: fc.constantFrom<IndexSpec>({ kind: 'missing' }, { kind: 'null' }, { kind: 'huge' }) }
)

const entryStatus: fc.Arbitrary<Json | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(400, 404, 409, 413, 422, 429, 500, 502, 503) },
  { weight: 2, arbitrary: fc.integer({ min: 400, max: 599 }) },
  { weight: 2, arbitrary: fc.constantFrom<Json | undefined>(undefined, null, '422', 200, 207, 302, 999, 0, -1, 422.5) }
)

const entryMessage: fc.Arbitrary<Json | undefined> = fc.oneof(
  { weight: 4, arbitrary: trickyText(20) },
  { weight: 1, arbitrary: fc.constantFrom<Json | undefined>(undefined, null, '', 42, { why: 'nested' }, ['a']) }
)

export const entrySpec: fc.Arbitrary<EntrySpec> = fc.oneof(
  {
    weight: 9,
    arbitrary: fc
      .record({ index: indexSpec, status: entryStatus, message: entryMessage, echo: keyEcho })
      .map((e): EntrySpec => ({ kind: 'entry', ...e }))
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom<Json>(null, 42, 'index 0', [], [0], true, {})
      .map((value): EntrySpec => ({ kind: 'raw', value }))
  }
)

const refusalStatus = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(400, 401, 403, 413, 429, 500, 503) },
  { weight: 1, arbitrary: fc.integer({ min: 400, max: 599 }) }
)

const refusalBody = fc.constantFrom<RefusalBody>(
  'rate-limit',
  'message',
  'error-object',
  'error-string',
  'text',
  'empty',
  'html'
)

/** Extra keys an answer may carry besides `errors`; ordinary names, no prototype-named ones. */
export const ordinaryNoiseKey = fc.constantFrom('request_id', 'detail', 'note', 'trace', 'error', 'message', 'Errors')

export function answerSpec(noiseKey: fc.Arbitrary<string> = ordinaryNoiseKey): fc.Arbitrary<AnswerSpec> {
  const noise = fc.array(fc.tuple(noiseKey, fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>), { maxLength: 2 })
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .record({
          status: fc.constantFrom(200, 200, 200, 201, 202, 204),
          body: fc.constantFrom('{}', '', '{"errors":[]}', '{"errors":null}', 'OK', 'null', '[]')
        })
        .map((a): AnswerSpec => ({ kind: 'accepted', ...a }))
    },
    {
      weight: 6,
      arbitrary: fc
        .record({
          status: fc.constantFrom(207, 207, 207, 200),
          wrapping: fc.oneof(
            { weight: 8, arbitrary: fc.constant<Wrapping>('errors-list') },
            {
              weight: 2,
              arbitrary: fc.constantFrom<Wrapping>(
                'errors-object',
                'errors-string',
                'errors-null',
                'no-errors',
                'top-level-list',
                'json-null'
              )
            }
          ),
          entries: fc.array(entrySpec, { maxLength: 6 }),
          noise
        })
        .map((a): AnswerSpec => ({ kind: 'multi', ...a }))
    },
    {
      weight: 2,
      arbitrary: fc
        .record({
          status: fc.constantFrom(207, 207, 200),
          text: fc.oneof(trickyText(30), fc.constantFrom('<html>Multi-Status</html>', '{"errors": [', 'errors')),
          echo: keyEcho,
          contentType: fc.constantFrom('application/json', 'text/plain', 'text/html')
        })
        .map((a): AnswerSpec => ({ kind: 'text', ...a }))
    },
    {
      weight: 4,
      arbitrary: fc
        .record({ status: refusalStatus, body: refusalBody, echo: keyEcho })
        .map((a): AnswerSpec => ({ kind: 'refused', ...a }))
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ code: fc.constantFrom('ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'), echo: fc.boolean() })
        .map((a): AnswerSpec => ({ kind: 'drop', ...a }))
    }
  )
}

function indexValue(spec: IndexSpec, n: number): Json | undefined {
  const at = (f: number) => Math.min(n - 1, Math.floor(f * n))
  switch (spec.kind) {
    case 'at':
      return at(spec.fraction)
    case 'beyond':
      return n + spec.by
    case 'negative':
      return spec.value
    case 'fractional':
      return at(spec.fraction) + 0.5
    case 'text':
      return String(at(spec.fraction))
    case 'missing':
      return undefined
    case 'null':
      return null
    case 'huge':
      return 1e300
  }
}

function entryValue(spec: EntrySpec, n: number): unknown {
  if (spec.kind === 'raw') return spec.value
  const entry: Array<[string, unknown]> = []
  const index = indexValue(spec.index, n)
  if (index !== undefined) entry.push(['index', index])
  if (spec.status !== undefined) entry.push(['status', spec.status])
  const message =
    spec.echo !== 'none' ? withSlot(typeof spec.message === 'string' ? spec.message : '', spec.echo) : spec.message
  if (message !== undefined) entry.push(['message', message])
  return objectOf(entry)
}

/** What one request got: an HTTP answer (the text as the client can read it), or a dropped connection. */
export type ConcreteAnswer =
  | { kind: 'http'; status: number; text: string; headers: Record<string, string> }
  | { kind: 'drop'; error: Error & { code: string } }

/** The answer a spec stands for, for a request carrying `n` objects. */
export function concreteAnswer(spec: AnswerSpec, n: number, key: string): ConcreteAnswer {
  const json = { 'content-type': 'application/json' }
  switch (spec.kind) {
    case 'accepted':
      return { kind: 'http', status: spec.status, text: spec.body, headers: json }
    case 'multi': {
      const entries = spec.entries.map((e) => entryValue(e, n))
      // Every echoing entry repeats the key the way the first one does.
      const echo = spec.entries.map((e) => (e.kind === 'entry' ? e.echo : 'none')).find((e) => e !== 'none')
      const wrap: Record<Wrapping, unknown> = {
        'errors-list': objectOf([['errors', entries], ...spec.noise]),
        'errors-object': objectOf([['errors', { ...entries }], ...spec.noise]),
        'errors-string': objectOf([['errors', 'some events failed'], ...spec.noise]),
        'errors-null': objectOf([['errors', null], ...spec.noise]),
        'no-errors': objectOf(spec.noise),
        'top-level-list': entries,
        'json-null': null
      }
      return {
        kind: 'http',
        status: spec.status,
        text: jsonWithKey(wrap[spec.wrapping], key, echo ?? 'none'),
        headers: json
      }
    }
    case 'text':
      return {
        kind: 'http',
        status: spec.status,
        text: spec.echo === 'none' ? spec.text : `${spec.text} ${key}`,
        headers: { 'content-type': spec.contentType }
      }
    case 'refused': {
      const reason = withSlot('refused', spec.echo)
      const bodies: Record<RefusalBody, string> = {
        'rate-limit': jsonWithKey(
          { error: { code: 'rate-limit', message: reason, 'try-in-seconds': 10 } },
          key,
          spec.echo
        ),
        message: jsonWithKey({ message: reason }, key, spec.echo),
        'error-object': jsonWithKey({ error: { message: reason } }, key, spec.echo),
        'error-string': jsonWithKey({ error: reason }, key, spec.echo),
        text: spec.echo === 'none' ? 'refused' : `refused ${key}`,
        empty: '',
        html: `<html><body>${spec.echo === 'none' ? 'Bad Gateway' : key}</body></html>`
      }
      const isJson = !['text', 'empty', 'html'].includes(spec.body)
      return {
        kind: 'http',
        status: spec.status,
        text: bodies[spec.body],
        headers: { 'content-type': isJson ? 'application/json' : 'text/html' }
      }
    }
    case 'drop':
      return {
        kind: 'drop',
        error: Object.assign(new Error(spec.echo ? `socket hang up (Bearer ${key})` : 'socket hang up'), {
          code: spec.code
        })
      }
  }
}

// ---------------------------------------------------------------------------------------------
// The oracle

/** Statuses whose answers carry no body (fetch drops it). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304])

/** The body text a client can read from an answer. */
export const readableText = (status: number, text: string): string =>
  NULL_BODY_STATUSES.has(status) ? '' : Buffer.from(text, 'utf8').toString('utf8')

/** What an answer says about the object at `position` of a request of `sentCount` objects. */
export type Justified = { ok: true; status: number; why: string } | { ok: false; status?: number; why: string }

export type SeenAnswer = { kind: 'http'; status: number; text: string } | { kind: 'drop' }

export function justifiedOutcome(answer: SeenAnswer, sentCount: number, position: number): Justified {
  if (answer.kind === 'drop') return { ok: false, why: 'the connection dropped' }
  const { status } = answer
  if (status < 200 || status > 299) {
    const exact = status >= 400 && status <= 599 ? status : undefined
    return { ok: false, status: exact, why: `the whole request was answered ${status}` }
  }
  const body = parseJson(answer.text)
  const errors = isRecord(body) ? own(body, 'errors') : undefined
  if (!Array.isArray(errors)) {
    return status === 207
      ? { ok: false, why: '207 without a readable errors list' }
      : { ok: true, status, why: `${status} without an errors list` }
  }
  const attributable = errors.every((entry) => {
    if (!isRecord(entry)) return false
    const index = own(entry, 'index')
    return typeof index === 'number' && Number.isInteger(index) && index >= 0 && index < sentCount
  })
  const listed = errors.find((entry) => isRecord(entry) && own(entry, 'index') === position) as
    Record<string, unknown> | undefined
  if (listed) {
    const entryStatus = own(listed, 'status')
    const usable =
      typeof entryStatus === 'number' && Number.isInteger(entryStatus) && entryStatus >= 400 && entryStatus <= 599
    return { ok: false, status: usable ? entryStatus : undefined, why: `listed in the errors of a ${status}` }
  }
  if (!attributable) return { ok: false, why: `the ${status}'s errors list names objects not sent` }
  return { ok: true, status: status === 207 ? 200 : status, why: `not listed in a fully attributable ${status}` }
}

// ---------------------------------------------------------------------------------------------
// Ortto stand-in

export interface RecordedRequest {
  raw: string
  bytes: number
  objects: unknown[]
  answer: SeenAnswer
}

/**
 * Registers `slots` one-shot interceptors on `method` `origin` + `path`; request k is answered by
 * `planFor(k)`. Every request's raw body and the answer it got are recorded, in order.
 */
export function installOrtto(
  origin: string,
  path: string,
  slots: number,
  planFor: (k: number, n: number) => ConcreteAnswer,
  method: 'POST' | 'PUT' = 'POST'
): { requests: RecordedRequest[] } {
  const requests: RecordedRequest[] = []
  const scope = nock(origin)
  const slotOf = new Map<unknown, number>()
  for (let k = 0; k < slots; k++) {
    const interceptor = scope.intercept(path, method)
    slotOf.set(interceptor, k)
    // A dropped connection must be decided up front (replyWithError); n is not known yet, and
    // a drop does not depend on it.
    const probe = planFor(k, 1)
    if (probe.kind === 'drop') {
      interceptor.replyWithError(probe.error)
    } else {
      interceptor.reply((_uri, body) => {
        const n = Array.isArray(body) ? body.length : 0
        const answer = planFor(k, n)
        if (answer.kind !== 'http') throw new Error('a plan must not turn into a drop once known')
        const last = requests[requests.length - 1]
        last.answer = { kind: 'http', status: answer.status, text: readableText(answer.status, answer.text) }
        return [answer.status, answer.text, answer.headers]
      })
    }
  }
  scope.on('request', (_req: unknown, interceptor: unknown, raw: string) => {
    const parsed = parseJson(raw)
    const k = slotOf.get(interceptor) ?? -1
    const probe = k >= 0 ? planFor(k, 1) : undefined
    requests.push({
      raw,
      bytes: Buffer.byteLength(raw),
      objects: Array.isArray(parsed) ? parsed : [],
      answer: probe?.kind === 'drop' ? { kind: 'drop' } : { kind: 'http', status: 0, text: '' }
    })
  })
  return { requests }
}

// ---------------------------------------------------------------------------------------------
// Checks of a batch's results against what Ortto received and answered

/** A result of `executeBatch`, as the checks read it. */
export interface BatchResult {
  status: number
  sent?: unknown
  body?: unknown
  errortype?: string
  errormessage?: string
}

export const isDelivered = (result: BatchResult): boolean =>
  Number.isInteger(result.status) && result.status >= 200 && result.status <= 299

/**
 * What is wrong with the result of an event that went out as object `position` of request
 * `request`: (d) its `sent` must be what Ortto received, (c) it is delivered exactly when that
 * request's answer justifies it, with the status the answer justifies.
 */
export function sentEventViolations(
  at: string,
  result: BatchResult,
  requests: RecordedRequest[],
  carried: { request: number; position: number }
): string[] {
  const out: string[] = []
  const request = requests[carried.request]
  const received = request.objects[carried.position]
  if (JSON.stringify(result.sent) !== JSON.stringify(received)) {
    out.push(`(d) ${at}: result.sent ${brief(result.sent)} differs from what Ortto got ${brief(received)}`)
  }
  const expected = justifiedOutcome(request.answer, request.objects.length, carried.position)
  const context = `${at} (object ${carried.position} of request ${carried.request}, answer ${brief(request.answer)})`
  if (isDelivered(result) !== expected.ok) {
    out.push(`(c) ${context}: got ${result.status}, expected ${expected.ok ? 'delivered' : 'failed'} (${expected.why})`)
  } else if (expected.status !== undefined && result.status !== expected.status) {
    out.push(`(c) ${context}: got ${result.status}, expected ${expected.status} (${expected.why})`)
  }
  return out
}

/** (e) Every place the key shows in the results or in a log line. */
export const keyLeakViolations = (results: unknown, logs: string[], key: string): string[] => [
  ...keyLeaks(results, key).map((path) => `(e) the API key shows in results at ${path}`),
  ...keyLeaks(logs, key).map((path) => `(e) the API key shows in the logs at ${path}`)
]

/** Runs `fn` with console output captured; returns what it returned and every line written. */
export async function capturingConsole<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const lines: string[] = []
  const methods = ['log', 'info', 'warn', 'error', 'debug'] as const
  const spies = methods.map((m) =>
    jest.spyOn(console, m).mockImplementation((...args: unknown[]) => {
      lines.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '))
    })
  )
  try {
    return { value: await fn(), lines }
  } finally {
    for (const spy of spies) spy.mockRestore()
  }
}

/** Text for a counter-example report: long strings shortened so a failure stays readable. */
export function brief(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'string' && v.length > 200 ? `${v.slice(0, 80)}…(${v.length} chars)` : v
  )
}

/**
 * How many turns of the event loop a delivery may take before it counts as hung. Nothing in a
 * delivery against nock waits on the network or a clock, so a run that settles needs a count of
 * turns that does not depend on the machine's speed (the largest runs here, 2.5 MB answers to
 * 500 objects, take under 800); a stalled stream never settles, however many turns pass.
 */
export const HANG_TURNS = 20_000

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * `promise`, or a rejection when it has not settled within `turns` turns of the event loop: a
 * hang is a failure with a counter-example, not a time-out of the test, and a slow machine
 * takes longer per turn but no more turns.
 */
export async function settleWithinTurns<T>(promise: Promise<T>, what: string, turns = HANG_TURNS): Promise<T> {
  let result: { value: T } | { error: unknown } | undefined
  promise.then(
    (value) => (result = { value }),
    (error: unknown) => (result = { error })
  )
  for (let turn = 0; turn < turns && result === undefined; turn++) await nextTurn()
  if (result === undefined) throw new Error(`${what} had not settled after ${turns} turns of the event loop (hung)`)
  if ('error' in result) throw result.error
  return result.value
}
