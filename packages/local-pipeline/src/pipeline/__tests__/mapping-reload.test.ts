/**
 * Reloading ORTTO_MAPPINGS while the pipeline runs, through startPipeline with the embedded
 * sandbox: a saved change is seen and put in force for the events taken in afterwards; a file with
 * problems (a half-written one too) is refused and the running mappings stay; the Associate
 * Audience hook runs once per changed mapping; the log and GET /status say which version is in
 * force; the API key shows in neither.
 */
import { createHash } from 'node:crypto'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { defaultValues } from '@segment/actions-core'
import { LOCAL_ENDPOINT_ENV, ortto } from 'actions-ortto'
import type { Sandbox } from 'ortto-sandbox'
import { newSandboxApiKey } from '../config'
import { startPipeline, type Pipeline } from '../index'
import type { MappingsStatus } from '../mappings-in-force'
import { TEST_WRITE_KEY, get, post, tempDir, waitFor } from '../../../test/helpers/pipeline-helpers'

let temp: ReturnType<typeof tempDir>
let pipeline: Pipeline | undefined
let logLines: string[]
let mappingsFile: string
/** How many log lines there were at the last save: what comes of it is logged after them. */
let linesAtSave = 0

beforeEach(() => {
  temp = tempDir('mapping-reload-')
  logLines = []
  linesAtSave = 0
  mappingsFile = temp.file('mappings.json')
  delete process.env[LOCAL_ENDPOINT_ENV]
})

afterEach(async () => {
  await pipeline?.stop()
  pipeline = undefined
  temp.remove()
})

/** A pipeline on the test's mapping file (the presets with `presets`), delivering to its embedded sandbox. */
async function start({ presets = false, apiKey }: { presets?: boolean; apiKey?: string } = {}): Promise<Pipeline> {
  pipeline = await startPipeline(
    {
      port: 0,
      target: { kind: 'sandbox', port: 0, apiKey },
      mappingsFile: presets ? undefined : mappingsFile,
      writeKey: TEST_WRITE_KEY,
      flushIntervalMs: 20,
      maxAttempts: 1
    },
    (line) => logLines.push(line)
  )
  return pipeline
}

/** Saves the file as editors do: a new file renamed over the old one. */
function save(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2)
  linesAtSave = logLines.length
  writeFileSync(`${mappingsFile}.saving`, text)
  renameSync(`${mappingsFile}.saving`, mappingsFile)
  return `sha256:${createHash('sha256').update(text).digest('hex').slice(0, 12)}`
}

const activities = (prefix: string) => [
  {
    name: 'Activities',
    partnerAction: 'trackActivity',
    subscribe: 'type = "track"',
    mapping: { event: { '@template': `${prefix}: {{event}}` } }
  }
]

const statusMappings = async (p: Pipeline) =>
  ((await get(p.url, '/status')).json as { mappings: MappingsStatus }).mappings

/** The log line, since the last save, that says `version` is in force; waits for it. */
const inForce = (version: string) =>
  waitFor(`version ${version} in force`, () =>
    logLines.slice(linesAtSave).find((line) => line.startsWith(`[mappings] version ${version} in force (`))
  )

/** Sends a track and waits until the sandbox holds its activity; returns the activity's event name. */
async function trackedName(p: Pipeline, messageId: string): Promise<string> {
  const answer = await post(p.url, '/v1/track', { userId: 'ada', event: 'Order Completed', messageId })
  expect(answer.status).toBe(200)
  const sandbox = p.sandbox as Sandbox
  const activity = await waitFor(`activity ${messageId}`, () =>
    sandbox.snapshot().activities.find((a) => a.message_id === messageId)
  )
  return activity.event
}

describe('a change to the mapping file', () => {
  it('puts the saved version in force for the events taken in afterwards, and says so in the log and /status', async () => {
    const first = save(activities('A'))
    const p = await start()
    const started = await inForce(first)
    expect(started).toMatch(/^\[mappings\] version sha256:[0-9a-f]{12} in force \(1 subscription, loaded \S+\)$/)
    expect(await trackedName(p, 'm-1')).toBe('A: Order Completed')
    const before = await statusMappings(p)

    const second = save(activities('B'))
    const line = await inForce(second)
    const after = await statusMappings(p)
    expect(line).toBe(`[mappings] version ${second} in force (1 subscription, loaded ${after.loadedAt})`)
    expect(after).toMatchObject({ version: second, problems: [], checkedAt: after.loadedAt })
    expect(Date.parse(after.loadedAt)).toBeGreaterThanOrEqual(Date.parse(before.loadedAt))
    expect(await trackedName(p, 'm-2')).toBe('B: Order Completed')
    // The dry run goes by the mappings in force too.
    const plan = await post(p.url, '/dry-run', { type: 'track', userId: 'ada', event: 'Viewed' })
    const [planned] = (plan.json as { events: Array<{ subscriptions: Array<{ payload: { event: string } }> }> }).events
    expect(planned.subscriptions.map((s) => s.payload.event)).toEqual(['B: Viewed'])
  })

  it('refuses a half-written file: the running mappings stay, the problems are logged and shown; the next change retries', async () => {
    const first = save(activities('A'))
    const p = await start()
    await inForce(first)
    const loaded = await statusMappings(p)

    const complete = JSON.stringify(activities('B'), null, 2)
    writeFileSync(mappingsFile, complete.slice(0, complete.length / 2))
    const refused = await waitFor('the refusal', () => {
      const at = logLines.findIndex((line) => line.startsWith(`[mappings] reload of ${mappingsFile} refused`))
      return at >= 0 && logLines.slice(at, at + 2)
    })
    expect(refused[0]).toBe(`[mappings] reload of ${mappingsFile} refused, version ${first} stays: 1 problem`)
    expect(refused[1]).toMatch(/^ {2}- is not JSON \(.*at line \d+, column \d+\); it must hold a JSON array of /)
    const shown = await statusMappings(p)
    expect(shown).toMatchObject({
      file: mappingsFile,
      version: first,
      loadedAt: loaded.loadedAt,
      problems: [{ file: mappingsFile, path: [], message: expect.stringMatching(/^is not JSON/) }]
    })
    expect(Date.parse(shown.checkedAt)).toBeGreaterThanOrEqual(Date.parse(loaded.loadedAt))
    expect(await trackedName(p, 'm-1')).toBe('A: Order Completed')

    // The editor finishes writing it: the next change retries.
    await inForce(save(complete))
    expect(await statusMappings(p)).toMatchObject({ problems: [] })
    expect(await trackedName(p, 'm-2')).toBe('B: Order Completed')
  })

  it('refuses a file the check finds problems in, listing each one', async () => {
    const first = save(activities('A'))
    const p = await start()
    await inForce(first)
    save([{ partnerAction: 'trackActivty', subscribe: 'type = "track"' }, ...activities('B')])
    const refusal = `[mappings] reload of ${mappingsFile} refused, version ${first} stays: 1 problem`
    await waitFor('the refusal', () => logLines.includes(refusal))
    expect(logLines[logLines.indexOf(refusal) + 1]).toBe(
      '  - entry 0, partnerAction: "trackActivty" is not an action (did you mean trackActivity?)'
    )
    expect((await statusMappings(p)).problems).toEqual([
      {
        file: mappingsFile,
        index: 0,
        path: ['partnerAction'],
        message: '"trackActivty" is not an action (did you mean trackActivity?)'
      }
    ])
    expect(await trackedName(p, 'm-1')).toBe('A: Order Completed')
  })
})

describe('GET /status', () => {
  it('answers mappings in the shared shape: the file, its version, when loaded and checked, problems, subscriptions', async () => {
    const entries = [
      ...activities('A'),
      { partnerAction: 'upsertContact', subscribe: 'type = "identify"', mapping: { traits: { plan: 'pro' } } }
    ]
    save(entries)
    const bytes = readFileSync(mappingsFile)
    const p = await start()
    const shown = await statusMappings(p)
    expect(shown).toEqual({
      file: mappingsFile,
      version: `sha256:${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`,
      loadedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      checkedAt: shown.loadedAt,
      problems: [],
      subscriptions: [
        {
          destination: 'Ortto (Actions)',
          name: 'Activities',
          partnerAction: 'trackActivity',
          subscribe: 'type = "track"',
          mapping: { ...defaultValues(ortto.actions.trackActivity.fields), event: { '@template': 'A: {{event}}' } }
        },
        {
          destination: 'Ortto (Actions)',
          name: 'upsertContact #1',
          partnerAction: 'upsertContact',
          subscribe: 'type = "identify"',
          mapping: { ...defaultValues(ortto.actions.upsertContact.fields), traits: { plan: 'pro' } }
        }
      ]
    })
  })

  it('never shows the API key, nor does the log, whatever the file quotes', async () => {
    const apiKey = newSandboxApiKey()
    const first = save(activities('A'))
    const p = await start({ apiKey })
    await inForce(first)
    // A value of the wrong type is quoted in its problem; a literal is shown in the mapping.
    save([{ partnerAction: 'trackActivity', subscribe: 'type = "track"', mapping: { enable_batching: apiKey } }])
    await waitFor('the refusal', () => logLines.some((line) => line.includes('refused')))
    const refusedStatus = JSON.stringify(await statusMappings(p))
    expect(refusedStatus).toContain('must be true or false')
    const second = save([{ partnerAction: 'trackActivity', subscribe: 'type = "track"', mapping: { event: apiKey } }])
    await inForce(second)
    const loadedStatus = JSON.stringify(await statusMappings(p))
    expect(loadedStatus).toContain('"event":"«redacted»"')
    for (const text of [refusedStatus, loadedStatus, ...logLines]) expect(text).not.toContain(apiKey)
  })
})

describe('the Associate Audience hook at a reload', () => {
  const withAudience = (audience: string, subscribe = 'type = "identify"') => [
    {
      name: 'Customers',
      partnerAction: 'upsertContact',
      subscribe,
      mapping: { onMappingSave: { inputs: { audience_name: audience } } }
    },
    ...activities('A')
  ]
  const creates = (p: Pipeline) => (p.sandbox as Sandbox).stats().byRoute['POST /v1/audiences/create'] ?? 0
  const audienceIdOf = async (p: Pipeline) =>
    ((await statusMappings(p)).subscriptions[0].mapping.onMappingSave as { outputs: { audience_id: string } }).outputs
      .audience_id

  it('runs once per changed mapping: for new or changed inputs only, never for an unchanged subscription', async () => {
    const first = save(withAudience('VIP'))
    const p = await start()
    await inForce(first)
    expect(creates(p)).toBe(1)
    const vip = await audienceIdOf(p)

    // Another subscription changed; this one did not: no hook run, the same audience.
    await inForce(save([...withAudience('VIP'), { partnerAction: 'trackActivity', subscribe: 'event = "Other"' }]))
    expect(creates(p)).toBe(1)
    expect(await audienceIdOf(p)).toBe(vip)

    // Its inputs changed: the hook runs once, for it alone.
    await inForce(save(withAudience('Gold', 'type = "identify" and traits.plan = "gold"')))
    expect(creates(p)).toBe(2)
    const gold = await audienceIdOf(p)
    expect(gold).not.toBe(vip)
    expect((p.sandbox as Sandbox).snapshot().audiences.map((a) => a.name)).toEqual(['VIP', 'Gold'])

    // Back to inputs this run has seen: their outputs are reused.
    await inForce(save(withAudience('VIP')))
    expect(creates(p)).toBe(2)
    expect(await audienceIdOf(p)).toBe(vip)
  })

  it('refuses the reload when the hook fails, keeps the running mappings, and tries again at the next save', async () => {
    const first = save(withAudience('VIP'))
    const p = await start()
    await inForce(first)
    const sandbox = p.sandbox as Sandbox
    sandbox.setFaults({ failRate: 1 })
    const text = JSON.stringify(withAudience('Gold'), null, 2)
    save(text)
    const refusal = `[mappings] reload of ${mappingsFile} refused, version ${first} stays: 1 problem`
    await waitFor('the refusal', () => logLines.includes(refusal))
    expect(logLines[logLines.indexOf(refusal) + 1]).toMatch(
      /^ {2}- entry 0 "Customers", mapping\.onMappingSave: the Associate Audience hook failed: Could not link the audience "Gold": .+; fix inputs\.audience_name, or save the file again \(or send SIGHUP\) to try again$/
    )
    expect((await statusMappings(p)).problems).toEqual([
      expect.objectContaining({ index: 0, name: 'Customers', field: 'onMappingSave' })
    ])

    sandbox.setFaults({})
    // The same bytes again: a hook that failed is tried again.
    await inForce(save(text))
    expect(sandbox.snapshot().audiences.map((a) => a.name)).toEqual(['VIP', 'Gold'])
  })
})

describe('reloadMappings (what SIGHUP runs)', () => {
  it('reads the file again even when it did not change, and puts it in force anew', async () => {
    const first = save(activities('A'))
    const p = await start()
    await inForce(first)
    const lines = logLines.length
    expect(await p.reloadMappings()).toEqual({ outcome: 'in force', version: first })
    expect(logLines.slice(lines)).toEqual([
      `[mappings] version ${first} in force (1 subscription, loaded ${(await statusMappings(p)).loadedAt})`
    ])
  })

  it('says there is no file to reload when the presets are in force', async () => {
    const p = await start({ presets: true })
    const lines = logLines.length
    expect(await p.reloadMappings()).toEqual({ outcome: 'no file' })
    expect(logLines.slice(lines)).toEqual([
      '[mappings] SIGHUP: no mapping file to reload (ORTTO_MAPPINGS is not set); the presets stay in force'
    ])
    expect(await statusMappings(p)).toMatchObject({ file: null, version: 'presets', problems: [] })
  })
})
