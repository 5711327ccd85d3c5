/**
 * `npm start`'s configuration (readConfig), the mapping file (loadMappingFile, presetSubscriptions),
 * and the pipeline's start/stop with a sandbox data file.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { defaultValues, type SegmentEvent } from '@segment/actions-core'
import { LOCAL_ENDPOINT_ENV, ortto, orttoAudiences } from 'actions-ortto'
import { SandboxDataError, type Sandbox } from 'ortto-sandbox'
import { ConfigError, readConfig, type PipelineConfig } from '../config'
import { startPipeline, type Pipeline } from '../index'
import { ORTTO, ORTTO_AUDIENCES, PIPELINE_DESTINATIONS } from '../destinations'
import { MappingFileError, allPresetSubscriptions, loadMappingFile, presetSubscriptions } from '../subscriptions'
import { TEST_WRITE_KEY, get, post, tempDir, waitFor, writeJson } from '../../../test/helpers/pipeline-helpers'

/**
 * The default mappings as the destinations declare them: Ortto (Actions)' presets, and the field
 * defaults of Sync Audience (Ortto (Audiences) has no presets). Their own tests pin these against
 * literals; here they are what the pipeline must subscribe with.
 */
const presetMapping = (action: string) => ortto.presets?.find((preset) => preset.partnerAction === action)?.mapping
const CONTACT_DEFAULT_MAPPING = presetMapping('upsertContact')
const ACTIVITY_DEFAULT_MAPPING = presetMapping('trackActivity')
const SYNC_AUDIENCE_DEFAULT_MAPPING = defaultValues(orttoAudiences.actions.syncAudience.fields)

let temp: ReturnType<typeof tempDir>
const running: Pipeline[] = []

beforeEach(() => {
  temp = tempDir()
  delete process.env[LOCAL_ENDPOINT_ENV]
})

afterEach(async () => {
  for (const pipeline of running.splice(0)) await pipeline.stop()
  delete process.env[LOCAL_ENDPOINT_ENV]
  temp.remove()
})

/** The ConfigError readConfig throws for `env`, or fails the test when it throws none. */
function configErrorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    readConfig(env)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new Error(`readConfig(${JSON.stringify(env)}) did not throw`)
}

describe('readConfig', () => {
  it('has defaults for everything: PORT 3000, the embedded sandbox on PORT+1', () => {
    expect(readConfig({})).toEqual({
      port: 3000,
      target: { kind: 'sandbox', port: 3001, dataFile: undefined },
      mappingsFile: undefined,
      writeKey: undefined,
      flushIntervalMs: 250,
      maxAttempts: 8,
      deliveryTimeoutMs: undefined,
      clientTimeoutMs: 30_000,
      deadLetterFile: 'ortto-dead-letter.ndjson',
      spoolDir: 'ortto-spool',
      maxInFlight: 10,
      requestsPerSecond: 10,
      stopGraceMs: 10_000
    })
  })

  it('reads DEAD_LETTER_FILE', () => {
    expect(readConfig({ DEAD_LETTER_FILE: '/tmp/failed.ndjson' }).deadLetterFile).toBe('/tmp/failed.ndjson')
  })

  it('treats empty variables as unset', () => {
    expect(
      readConfig({
        PORT: '',
        SANDBOX_PORT: '',
        ORTTO_API_KEY: '',
        ORTTO_LOCAL_ENDPOINT: '',
        ORTTO_MAPPINGS: '',
        SEGMENT_WRITE_KEY: '',
        SANDBOX_DATA: '',
        FLUSH_INTERVAL_MS: '',
        RETRY_ATTEMPTS: '',
        DELIVERY_TIMEOUT_MS: '',
        CLIENT_TIMEOUT_MS: '',
        DEAD_LETTER_FILE: '',
        SPOOL_DIR: '',
        MAX_IN_FLIGHT: '',
        ORTTO_REQUESTS_PER_SECOND: '',
        STOP_GRACE_MS: ''
      })
    ).toEqual(readConfig({}))
  })

  it.each([
    [{ PORT: '4000' }, 4000, 4001],
    [{ PORT: '0' }, 0, 0],
    [{ PORT: '4000', SANDBOX_PORT: '5000' }, 4000, 5000],
    [{ SANDBOX_PORT: '0' }, 3000, 0],
    [{ PORT: '65534' }, 65534, 65535]
  ])('reads ports from %j', (env, port, sandboxPort) => {
    const config = readConfig(env)
    expect(config.port).toBe(port)
    expect(config.target).toEqual({ kind: 'sandbox', port: sandboxPort, dataFile: undefined })
  })

  it('never derives a sandbox port above 65535 (PORT=65535)', () => {
    let config: PipelineConfig | undefined
    try {
      config = readConfig({ PORT: '65535' })
    } catch (error) {
      // Refusing is fine too, as long as it says which variable to change.
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as Error).message).toMatch(/SANDBOX_PORT|PORT/)
      return
    }
    expect(config.target.kind).toBe('sandbox')
    expect((config.target as { port: number }).port).toBeLessThanOrEqual(65535)
  })

  it.each(['abc', '70000', '-1', '3.5', '65536'])('refuses PORT=%s with a ConfigError naming it', (value) => {
    expect(configErrorOf({ PORT: value }).message).toBe(`PORT must be a port number from 0 to 65535 (got "${value}").`)
  })

  it('refuses a bad SANDBOX_PORT', () => {
    expect(configErrorOf({ SANDBOX_PORT: 'x' }).message).toBe(
      'SANDBOX_PORT must be a port number from 0 to 65535 (got "x").'
    )
  })

  it('reads the sandbox data file, mapping file and write key', () => {
    expect(
      readConfig({ SANDBOX_DATA: '/tmp/sandbox.json', ORTTO_MAPPINGS: '/tmp/m.json', SEGMENT_WRITE_KEY: 'wk' })
    ).toMatchObject({
      target: { kind: 'sandbox', port: 3001, dataFile: '/tmp/sandbox.json' },
      mappingsFile: '/tmp/m.json',
      writeKey: 'wk'
    })
  })

  it.each([
    ['pau-live-secret', 'pau-live-secret'],
    ['sus-staging-secret', 'sus-staging-secret']
  ])('ORTTO_API_KEY=%s → deliver to Ortto', (key) => {
    expect(readConfig({ ORTTO_API_KEY: key, SANDBOX_DATA: '/tmp/ignored.json' }).target).toEqual({
      kind: 'ortto',
      apiKey: key
    })
  })

  it.each([
    'Pau-secretKeyValue',
    'xau-secretKeyValue',
    'pau_secretKeyValue',
    'pAU-secretKeyValue',
    ' pau-secretKeyValue'
  ])('refuses a malformed ORTTO_API_KEY (%j) without echoing it', (key) => {
    const error = configErrorOf({ ORTTO_API_KEY: key })
    expect(error.message).toBe(
      'ORTTO_API_KEY is not an Ortto key: it looks like "pau-…" (p or s, a two-letter region, a hyphen, the secret).'
    )
    expect(error.message).not.toContain('secretKeyValue')
  })

  it('refuses ORTTO_API_KEY together with ORTTO_LOCAL_ENDPOINT', () => {
    const error = configErrorOf({ ORTTO_API_KEY: 'pau-secretKeyValue', ORTTO_LOCAL_ENDPOINT: 'http://127.0.0.1:4318' })
    expect(error.message).toBe(
      'Set ORTTO_API_KEY (deliver to real Ortto) or ORTTO_LOCAL_ENDPOINT (deliver to your own stand-in), not both.'
    )
    expect(error.message).not.toContain('secretKeyValue')
  })

  it('ORTTO_LOCAL_ENDPOINT → deliver to that stand-in', () => {
    expect(readConfig({ ORTTO_LOCAL_ENDPOINT: 'http://127.0.0.1:4318' }).target).toEqual({
      kind: 'endpoint',
      url: 'http://127.0.0.1:4318'
    })
  })

  it.each(['127.0.0.1:4318', 'not a url', 'ftp://127.0.0.1:4318'])(
    'refuses ORTTO_LOCAL_ENDPOINT=%s at start (it is not an http(s) origin)',
    (url) => {
      expect(configErrorOf({ ORTTO_LOCAL_ENDPOINT: url }).message).toMatch(/ORTTO_LOCAL_ENDPOINT/)
    }
  )

  it.each([
    [{ RETRY_ATTEMPTS: '3' }, { maxAttempts: 3 }],
    [{ RETRY_ATTEMPTS: '1' }, { maxAttempts: 1 }],
    [{ FLUSH_INTERVAL_MS: '50' }, { flushIntervalMs: 50 }],
    [{ DELIVERY_TIMEOUT_MS: '2500' }, { deliveryTimeoutMs: 2500 }],
    [{ DELIVERY_TIMEOUT_MS: '' }, { deliveryTimeoutMs: undefined }],
    [{ CLIENT_TIMEOUT_MS: '4000' }, { clientTimeoutMs: 4000 }],
    [{ CLIENT_TIMEOUT_MS: '' }, { clientTimeoutMs: 30_000 }],
    [{ SPOOL_DIR: '/var/spool/ortto' }, { spoolDir: '/var/spool/ortto' }],
    [{ MAX_IN_FLIGHT: '4' }, { maxInFlight: 4 }],
    [{ ORTTO_REQUESTS_PER_SECOND: '30' }, { requestsPerSecond: 30 }],
    [{ ORTTO_REQUESTS_PER_SECOND: '0.5' }, { requestsPerSecond: 0.5 }],
    [{ STOP_GRACE_MS: '2000' }, { stopGraceMs: 2000 }]
  ])('reads %j', (env, expected) => {
    expect(readConfig(env)).toMatchObject(expected)
  })

  it.each([
    ['RETRY_ATTEMPTS', '0'],
    ['RETRY_ATTEMPTS', 'many'],
    ['RETRY_ATTEMPTS', '2.5'],
    ['RETRY_ATTEMPTS', '-3'],
    ['FLUSH_INTERVAL_MS', '0'],
    ['FLUSH_INTERVAL_MS', '1s'],
    ['DELIVERY_TIMEOUT_MS', '0'],
    ['DELIVERY_TIMEOUT_MS', 'soon'],
    ['CLIENT_TIMEOUT_MS', '0'],
    ['CLIENT_TIMEOUT_MS', '2.5'],
    ['MAX_IN_FLIGHT', '0'],
    ['MAX_IN_FLIGHT', '1.5'],
    ['STOP_GRACE_MS', '0'],
    ['STOP_GRACE_MS', '10s']
  ])('refuses %s=%s', (name, value) => {
    expect(configErrorOf({ [name]: value }).message).toBe(`${name} must be a whole number above 0 (got "${value}").`)
  })

  it.each(['0', '-1', 'fast', 'Infinity'])('refuses ORTTO_REQUESTS_PER_SECOND=%s', (value) => {
    expect(configErrorOf({ ORTTO_REQUESTS_PER_SECOND: value }).message).toBe(
      `ORTTO_REQUESTS_PER_SECOND must be a number above 0 (got "${value}").`
    )
  })
})

describe('presetSubscriptions', () => {
  it("are the destination's presets with their default mappings", () => {
    const presets = presetSubscriptions(ORTTO)
    expect(presets.map(({ name, partnerAction, subscribe }) => ({ name, partnerAction, subscribe }))).toEqual([
      { name: 'Upsert Contact', partnerAction: 'upsertContact', subscribe: 'type = "identify"' },
      { name: 'Track Activity', partnerAction: 'trackActivity', subscribe: 'type = "track"' }
    ])
    expect(presets[0].mapping).toStrictEqual(CONTACT_DEFAULT_MAPPING)
    expect(presets[1].mapping).toStrictEqual(ACTIVITY_DEFAULT_MAPPING)
    const identifyEvent = { type: 'identify', userId: 'a' } as SegmentEvent
    const trackEvent = { type: 'track', userId: 'a', event: 'E' } as SegmentEvent
    expect([presets[0].matches(identifyEvent), presets[0].matches(trackEvent)]).toEqual([true, false])
    expect([presets[1].matches(identifyEvent), presets[1].matches(trackEvent)]).toEqual([false, true])
  })

  it('are, for Ortto (Audiences), which has no presets, Sync Audience with its default trigger and mapping', () => {
    const [sync, ...more] = presetSubscriptions(ORTTO_AUDIENCES)
    expect(more).toEqual([])
    expect({ name: sync.name, partnerAction: sync.partnerAction, subscribe: sync.subscribe }).toEqual({
      name: 'Sync Audience',
      partnerAction: 'syncAudience',
      subscribe: 'type = "identify" or type = "track"'
    })
    expect(sync.mapping).toEqual(SYNC_AUDIENCE_DEFAULT_MAPPING)
    expect(sync.destination).toBe(ORTTO_AUDIENCES)
  })

  it('send Engage audience events to Sync Audience only, and every other event to Ortto (Actions) only', () => {
    const presets = allPresetSubscriptions(PIPELINE_DESTINATIONS)
    const matching = (event: Record<string, unknown>) =>
      presets.filter((s) => s.matches(event as unknown as SegmentEvent)).map((s) => s.name)
    const personas = { computation_class: 'audience', computation_key: 'vip', computation_id: 'aud_1' }
    expect(matching({ type: 'identify', userId: 'a', traits: { vip: true }, context: { personas } })).toEqual([
      'Sync Audience'
    ])
    expect(matching({ type: 'track', userId: 'a', event: 'Audience Exited', context: { personas } })).toEqual([
      'Sync Audience'
    ])
    // An Engage event of a class Sync Audience refuses still goes there, to be refused with the reason.
    const trait = { ...personas, computation_class: 'computed_trait' }
    expect(matching({ type: 'identify', userId: 'a', context: { personas: trait } })).toEqual(['Sync Audience'])
    expect(matching({ type: 'identify', userId: 'a', traits: { vip: true } })).toEqual(['Upsert Contact'])
    expect(matching({ type: 'track', userId: 'a', event: 'E', context: { personas: {} } })).toEqual(['Track Activity'])
    for (const unset of [null, '']) {
      const event = { type: 'identify', userId: 'a', context: { personas: { ...personas, computation_class: unset } } }
      expect(matching(event)).toEqual(['Upsert Contact'])
    }
    expect(matching({ type: 'page', userId: 'a', context: { personas } })).toEqual([])
  })
})

describe('loadMappingFile', () => {
  const SHAPE =
    'it must hold a JSON array of {"name": "…", "partnerAction": "upsertContact" | "trackActivity" | "syncAudience", "subscribe": "<FQL>", "mapping": {…}}'

  function errorOf(content: unknown): MappingFileError {
    const file = writeJson(temp.file('mappings.json'), content)
    try {
      loadMappingFile(file, PIPELINE_DESTINATIONS)
    } catch (error) {
      expect(error).toBeInstanceOf(MappingFileError)
      return error as MappingFileError
    }
    throw new Error('loadMappingFile did not throw')
  }

  /** The message of a MappingFileError for `file` with these problem lines. */
  const listing = (file: string, ...lines: string[]) =>
    [
      `mapping file ${file} has ${lines.length} problem${lines.length === 1 ? '' : 's'}:`,
      ...lines.map((line) => `  - ${line}`)
    ].join('\n')

  it('says a missing file cannot be read', () => {
    const file = temp.file('missing.json')
    expect(() => loadMappingFile(file, PIPELINE_DESTINATIONS)).toThrow(
      listing(file, 'cannot be read (ENOENT): check the path ORTTO_MAPPINGS gives')
    )
  })

  it('says a file that is not JSON is not JSON, and where', () => {
    const file = temp.file('mappings.json')
    writeFileSync(file, '[\n  {"partnerAction": "upsertContact",\n  }\n]')
    expect(() => loadMappingFile(file, PIPELINE_DESTINATIONS)).toThrow(
      listing(file, `is not JSON (Expected double-quoted property name in JSON at line 3, column 3); ${SHAPE}`)
    )
  })

  it.each([
    ['an object', { partnerAction: 'upsertContact', subscribe: 'type = "identify"' }],
    ['an empty array', []],
    ['a string', '"upsertContact"']
  ])('refuses %s: not a non-empty array', (_why, content) => {
    expect(errorOf(content).message).toBe(listing(temp.file('mappings.json'), `is not a non-empty array; ${SHAPE}`))
  })

  it.each([
    [['upsertContact'], 'entry 0: must be an object, {"partnerAction": …, "subscribe": …}, not "upsertContact"'],
    [
      [{ partnerAction: 'sendEmail', subscribe: 'type = "track"' }],
      'entry 0, partnerAction: "sendEmail" is not an action: use one of upsertContact, trackActivity, syncAudience'
    ],
    [
      [{ subscribe: 'type = "track"' }],
      "entry 0, partnerAction: is missing: add the action's key, one of upsertContact, trackActivity, syncAudience"
    ],
    [
      [
        { partnerAction: 'upsertContact', subscribe: 'type = "identify"' },
        { partnerAction: 'trackActivity', subscribe: 42 }
      ],
      'entry 1, subscribe: must be a string: write the trigger in FQL, e.g. "type = \\"track\\""'
    ],
    [
      [{ partnerAction: 'trackActivity', subscribe: 'type = "track"', mapping: ['event'] }],
      'entry 0, mapping: must be an object of field keys and values, not ["event"]'
    ]
  ])('refuses %j: %s', (content, problem) => {
    expect(errorOf(content).message).toBe(listing(temp.file('mappings.json'), problem))
  })

  it.each(['constructor', 'toString', 'hasOwnProperty', '__proto__'])(
    'refuses partnerAction %j (inherited by every object, not an action)',
    (name) => {
      expect(errorOf([{ partnerAction: name, subscribe: 'type = "track"' }]).message).toBe(
        listing(
          temp.file('mappings.json'),
          `entry 0, partnerAction: "${name}" is not an action: use one of upsertContact, trackActivity, syncAudience`
        )
      )
    }
  )

  it.each(['event = "unterminated', 'typo "x"', '(type = "track"', ''])('refuses the invalid FQL %j', (fql) => {
    const error = errorOf([{ partnerAction: 'trackActivity', subscribe: fql }])
    expect(error.problems.length).toBeGreaterThan(0)
    expect(error.problems.every((problem) => problem.path.join('.') === 'subscribe')).toBe(true)
    expect(error.message).toMatch(
      /^mapping file .*mappings\.json has \d problems?:\n {2}- entry 0, subscribe( at column \d+)?: /
    )
  })

  it("lays each entry's mapping over its action's defaults, and matches with its FQL", () => {
    const file = writeJson(temp.file('mappings.json'), [
      {
        name: 'Purchases',
        partnerAction: 'trackActivity',
        subscribe: 'type = "track" and event = "Order Completed"',
        mapping: { event: { '@template': 'Shop: {{event}}' }, properties: { '@path': '$.properties.order' } }
      },
      { partnerAction: 'upsertContact', subscribe: 'type = "identify"' }
    ])
    const [purchases, contacts] = loadMappingFile(file, PIPELINE_DESTINATIONS)
    expect(purchases.name).toBe('Purchases')
    expect(purchases.mapping).toEqual({
      ...ACTIVITY_DEFAULT_MAPPING,
      event: { '@template': 'Shop: {{event}}' },
      properties: { '@path': '$.properties.order' }
    })
    expect(contacts.name).toBe('upsertContact #1')
    expect(contacts.mapping).toEqual(CONTACT_DEFAULT_MAPPING)
    const order = { type: 'track', userId: 'a', event: 'Order Completed' } as SegmentEvent
    const other = { type: 'track', userId: 'a', event: 'Viewed' } as SegmentEvent
    expect([purchases.matches(order), purchases.matches(other)]).toEqual([true, false])
  })

  it('takes a subscription saved under the hidden catalog key upsertContactProfile', () => {
    const file = writeJson(temp.file('mappings.json'), [
      { partnerAction: 'upsertContactProfile', subscribe: 'type = "identify"' }
    ])
    const [saved] = loadMappingFile(file, PIPELINE_DESTINATIONS)
    expect(saved.partnerAction).toBe('upsertContactProfile')
    expect(saved.mapping).toEqual(CONTACT_DEFAULT_MAPPING)
  })

  it("gives each entry its action's destination (action keys name one destination: no key is in both)", () => {
    const keys = PIPELINE_DESTINATIONS.flatMap((d) => Object.keys(d.definition.actions))
    expect(new Set(keys).size).toBe(keys.length)
    const file = writeJson(temp.file('mappings.json'), [
      { partnerAction: 'syncAudience', subscribe: 'type = "identify"', mapping: { batch_size: 100 } },
      { partnerAction: 'upsertContact', subscribe: 'type = "identify"' }
    ])
    const [sync, contacts] = loadMappingFile(file, PIPELINE_DESTINATIONS)
    expect([sync.destination, contacts.destination]).toEqual([ORTTO_AUDIENCES, ORTTO])
    expect(sync.mapping).toEqual({ ...SYNC_AUDIENCE_DEFAULT_MAPPING, batch_size: 100 })
    const engage = {
      type: 'identify',
      userId: 'a',
      context: { personas: { computation_class: 'audience' } }
    } as unknown as SegmentEvent
    expect([sync.matches(engage), contacts.matches(engage)]).toEqual([true, false])
  })

  it('delivers with the overrides of the mapping file, end to end', async () => {
    const mappingsFile = writeJson(temp.file('mappings.json'), [
      {
        partnerAction: 'trackActivity',
        subscribe: 'type = "track" and event = "Order Completed"',
        mapping: { event: { '@template': 'Shop: {{event}}' }, properties: { '@path': '$.properties.order' } }
      }
    ])
    const pipeline = await startPipeline(
      {
        port: 0,
        target: { kind: 'sandbox', port: 0 },
        flushIntervalMs: 50,
        maxAttempts: 3,
        mappingsFile,
        writeKey: TEST_WRITE_KEY
      },
      () => undefined
    )
    running.push(pipeline)
    const answer = await post(pipeline.url, '/v1/batch', {
      batch: [
        { type: 'track', userId: 'a', event: 'Order Completed', properties: { order: { id: 'o-1' }, extra: 1 } },
        { type: 'track', userId: 'a', event: 'Viewed' },
        { type: 'identify', userId: 'a' }
      ]
    })
    expect(answer.json).toEqual({ success: true, accepted: 3, unsubscribed: 2, rejected: [] })
    await waitFor('delivery', () => pipeline.delivery.status().delivered === 1)
    const activities = (pipeline.sandbox as Sandbox).snapshot().activities
    expect(activities.map((a) => [a.event, a.properties])).toEqual([['Shop: Order Completed', { id: 'o-1' }]])
  })
})

describe('startPipeline with a spool folder', () => {
  it('refuses to start when SPOOL_DIR cannot be used, naming it and saying why, and gives the endpoint back', async () => {
    const temp = tempDir()
    try {
      const spoolDir = writeJson(temp.file('a-file'), '')
      const config: PipelineConfig = {
        port: 0,
        target: { kind: 'sandbox', port: 0 },
        flushIntervalMs: 50,
        maxAttempts: 1,
        spoolDir
      }
      const started = startPipeline(config, () => undefined)
      await expect(started).rejects.toBeInstanceOf(ConfigError)
      await expect(started).rejects.toThrow(
        new RegExp(`^SPOOL_DIR ${spoolDir} cannot be used: .*; choose a writable folder\\.$`)
      )
      expect(process.env[LOCAL_ENDPOINT_ENV]).toBeUndefined()
    } finally {
      temp.remove()
    }
  })

  it('refuses a second pipeline on the same SPOOL_DIR while the first runs', async () => {
    const temp = tempDir()
    const config: PipelineConfig = {
      port: 0,
      target: { kind: 'ortto', apiKey: 'pau-never-used-key' },
      flushIntervalMs: 50,
      maxAttempts: 1,
      spoolDir: temp.file('spool')
    }
    const first = await startPipeline(config, () => undefined)
    try {
      const second = startPipeline(config, () => undefined)
      await expect(second).rejects.toThrow(
        `SPOOL_DIR ${temp.file('spool')} cannot be used: another pipeline in this process uses it.`
      )
    } finally {
      await first.stop()
      temp.remove()
    }
  })
})

describe('startPipeline with a dead-letter file', () => {
  it('refuses to start when the file cannot be written, naming it', async () => {
    const temp = tempDir()
    try {
      const deadLetterFile = temp.file('no-such-folder/dead.ndjson')
      const config: PipelineConfig = {
        port: 0,
        target: { kind: 'sandbox', port: 0 },
        flushIntervalMs: 50,
        maxAttempts: 1,
        deadLetterFile
      }
      const started = startPipeline(config, () => undefined)
      await expect(started).rejects.toBeInstanceOf(ConfigError)
      await expect(started).rejects.toThrow(`DEAD_LETTER_FILE ${deadLetterFile} cannot be written`)
      expect(process.env[LOCAL_ENDPOINT_ENV]).toBeUndefined()
    } finally {
      temp.remove()
    }
  })

  it('gets every event that ends failed, and abandon() writes what is held', async () => {
    const temp = tempDir()
    const deadLetterFile = temp.file('dead.ndjson')
    const pipeline = await startPipeline(
      {
        port: 0,
        target: { kind: 'sandbox', port: 0 },
        writeKey: TEST_WRITE_KEY,
        flushIntervalMs: 60_000,
        maxAttempts: 1,
        deadLetterFile
      },
      () => undefined
    )
    try {
      const answer = await post(pipeline.url, '/v1/batch', {
        batch: [
          { type: 'identify', userId: 'held-1' },
          { type: 'track', userId: 'held-2', event: 'Paid' }
        ]
      })
      expect(answer.status).toBe(200)
      expect(pipeline.abandon()).toBe(2)
      const lines = readFileSync(deadLetterFile, 'utf8').trim().split('\n')
      expect(lines.map((line) => (JSON.parse(line) as { event: { userId: string } }).event.userId)).toEqual([
        'held-1',
        'held-2'
      ])
      expect(pipeline.deadLetter?.written).toBe(2)
    } finally {
      await pipeline.stop()
      temp.remove()
    }
  })
})

describe('startPipeline with a sandbox data file', () => {
  const config = (dataFile: string, mappingsFile?: string): PipelineConfig => ({
    port: 0,
    target: { kind: 'sandbox', port: 0, dataFile },
    flushIntervalMs: 50,
    maxAttempts: 3,
    mappingsFile,
    writeKey: TEST_WRITE_KEY
  })

  it('keeps contacts, activities and audiences across a stop and a start', async () => {
    const dataFile = temp.file('sandbox.json')
    const mappingsFile = writeJson(temp.file('mappings.json'), [
      {
        partnerAction: 'upsertContact',
        subscribe: 'type = "identify"',
        mapping: { onMappingSave: { inputs: { audience_name: 'VIP' } } }
      },
      { partnerAction: 'trackActivity', subscribe: 'type = "track"' }
    ])
    const first = await startPipeline(config(dataFile, mappingsFile), () => undefined)
    running.push(first)
    await post(first.url, '/v1/batch', {
      batch: [
        { type: 'identify', userId: 'kept', traits: { plan: 'pro' } },
        { type: 'track', userId: 'kept', event: 'Kept Event', messageId: 'm-kept', timestamp: '2024-03-01T10:00:00Z' }
      ]
    })
    await waitFor('delivery', () => first.delivery.status().delivered === 2)
    const before = (first.sandbox as Sandbox).snapshot()
    await first.stop()
    running.splice(0)

    const second = await startPipeline(config(dataFile, mappingsFile), () => undefined)
    running.push(second)
    const contacts = await get(second.url, '/sandbox/contacts')
    expect((contacts.json as { contacts: unknown }).contacts).toEqual(before.contacts)
    const activities = await get(second.url, '/sandbox/activities')
    expect((activities.json as { activities: unknown }).activities).toEqual(before.activities)
    // The hook ran again at start and found the same audience; no second "VIP".
    const audiences = (second.sandbox as Sandbox).snapshot().audiences
    expect(audiences).toEqual(before.audiences)
    expect(audiences).toHaveLength(1)
    expect(second.subscriptions[0].mapping.onMappingSave).toEqual({
      inputs: { audience_name: 'VIP' },
      outputs: { audience_id: audiences[0].id, audience_name: 'VIP' }
    })
  })

  it('rejects with SandboxDataError naming the file when the data file is corrupt', async () => {
    const dataFile = temp.file('corrupt.json')
    writeFileSync(dataFile, '{"format": "ortto-sandbox", "version": 1, "contacts": [')
    const failed = startPipeline(config(dataFile), () => undefined)
    await expect(failed).rejects.toThrow(SandboxDataError)
    await expect(failed).rejects.toThrow(`The sandbox data file ${dataFile} cannot be used: it is not valid JSON`)
    expect(process.env[LOCAL_ENDPOINT_ENV]).toBeUndefined()
  })

  it('rejects with SandboxDataError for a data file of the wrong shape', async () => {
    const dataFile = writeJson(temp.file('shape.json'), { format: 'ortto-sandbox', version: 1, contacts: {} })
    await expect(startPipeline(config(dataFile), () => undefined)).rejects.toThrow(
      `The sandbox data file ${dataFile} cannot be used: contacts must be a list. ` +
        'Fix the file, or delete it to start with an empty sandbox.'
    )
  })

  it('rejects with MappingFileError for a bad mapping file, stops its sandbox and leaves no endpoint set', async () => {
    const mappingsFile = writeJson(temp.file('bad-mappings.json'), [{ partnerAction: 'nope', subscribe: 'type = "x"' }])
    await expect(startPipeline(config(temp.file('sandbox.json'), mappingsFile), () => undefined)).rejects.toThrow(
      MappingFileError
    )
    expect(process.env[LOCAL_ENDPOINT_ENV]).toBeUndefined()
  })
})
