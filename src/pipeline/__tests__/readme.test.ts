/**
 * The README's "Run it" section is true to the code: the banner it shows is what `npm start`
 * prints, the analytics-node example is examples/analytics-node.mjs and runs as written against a
 * pipeline, and its route table is what GET / lists.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import * as path from 'node:path'
import { LOCAL_ENDPOINT_ENV } from '../../destinations/ortto/constants'
import type { SandboxActivity, SandboxContact } from '../../sandbox'
import { banner, mappingLines } from '../banner'
import { PIPELINE_DESTINATIONS } from '../destinations'
import { startPipeline, type Pipeline } from '../index'
import { allPresetSubscriptions } from '../subscriptions'
import { TEST_WRITE_KEY, get, waitFor } from '../../../test/helpers/pipeline-helpers'

const REPOSITORY = path.join(__dirname, '..', '..', '..')
const README = readFileSync(path.join(REPOSITORY, 'README.md'), 'utf8')
const EXAMPLE = path.join(REPOSITORY, 'examples', 'analytics-node.mjs')

/** The first fenced block after `marker` in the README, without its fences. */
function blockAfter(marker: string): string {
  const at = README.indexOf(marker)
  if (at < 0) throw new Error(`the README has no "${marker}"`)
  const match = /```[a-z]*\n([\s\S]*?)```/.exec(README.slice(at))
  if (!match) throw new Error(`no code block after "${marker}"`)
  return match[1]
}

/** The first column of the table under `heading`, each cell's text in backticks. */
function tableColumn(heading: string): string[] {
  const section = README.slice(README.indexOf(heading)).split(/\n#{2,3} /)[0]
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => /^\| `([^`]+)`/.exec(line)?.[1] ?? '')
}

let pipeline: Pipeline | undefined

afterEach(async () => {
  await pipeline?.stop()
  pipeline = undefined
  delete process.env[LOCAL_ENDPOINT_ENV]
})

const start = async () =>
  (pipeline = await startPipeline(
    { port: 0, target: { kind: 'sandbox', port: 0 }, flushIntervalMs: 50, maxAttempts: 3, writeKey: TEST_WRITE_KEY },
    () => undefined
  ))

describe('the README', () => {
  it('shows the banner `SEGMENT_WRITE_KEY=my-write-key npm start` prints', () => {
    const printed = banner({
      url: 'http://127.0.0.1:3000',
      destination: 'the embedded Ortto sandbox at http://127.0.0.1:3001',
      mappings: mappingLines(allPresetSubscriptions(PIPELINE_DESTINATIONS)),
      sandbox: true,
      writeKey: 'my-write-key',
      writeKeyGenerated: false,
      deadLetterFile: 'ortto-dead-letter.ndjson'
    })
    expect(blockAfter('`SEGMENT_WRITE_KEY=my-write-key npm start` it prints:')).toBe(`${printed}\n`)
  })

  it('lists the routes GET / lists, in the same order', async () => {
    const p = await start()
    const routes = ((await get(p.url, '/')).json as { routes: Record<string, string> }).routes
    expect(tableColumn('### Routes')).toEqual(Object.keys(routes))
  })

  it('shows examples/analytics-node.mjs exactly', () => {
    expect(blockAfter('[`examples/analytics-node.mjs`](examples/analytics-node.mjs)')).toBe(
      readFileSync(EXAMPLE, 'utf8')
    )
  })
})

describe('the banner', () => {
  it('uses a generated write key in every call it suggests', () => {
    const printed = banner({
      url: 'http://127.0.0.1:4000',
      destination: 'Ortto',
      mappings: [],
      sandbox: false,
      writeKey: 'generated-key-123',
      writeKeyGenerated: true
    })
    const curls = printed.split('\n').filter((line) => line.includes('curl '))
    expect(curls).toHaveLength(4)
    for (const line of curls) expect(line).toContain('-u generated-key-123:')
    expect(printed).toContain('generated for this run; set SEGMENT_WRITE_KEY to keep one')
    expect(printed).not.toContain('/sandbox/')
  })
})

/** Runs the example as a user would, with node, pointed at `url` with `writeKey`. */
function runExample(url: string, writeKey: string): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [EXAMPLE], {
    cwd: REPOSITORY,
    env: { ...process.env, PIPELINE_URL: url, SEGMENT_WRITE_KEY: writeKey },
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })))
}

describe('examples/analytics-node.mjs', () => {
  it('runs as written: its identify and track calls reach the sandbox', async () => {
    const p = await start()
    expect(await runExample(p.url, TEST_WRITE_KEY)).toEqual({ code: 0, stderr: '' })
    await waitFor('both deliveries', () => p.delivery.status().delivered === 2)
    const contacts = ((await get(p.url, '/sandbox/contacts')).json as { contacts: SandboxContact[] }).contacts
    expect(contacts.map((c) => [c.user_id, c.traits.email])).toEqual([['ada', 'ada@example.com']])
    const activities = ((await get(p.url, '/sandbox/activities')).json as { activities: SandboxActivity[] }).activities
    expect(activities.map((a) => [a.event, a.properties])).toEqual([['Order Completed', { total: 42 }]])
  })

  it('says so and exits 1 when the pipeline refuses its write key', async () => {
    const p = await start()
    const { code, stderr } = await runExample(p.url, 'not-the-key')
    expect(code).toBe(1)
    expect(stderr).toMatch(/^not delivered to the pipeline: /)
    expect(p.delivery.status().received).toBe(0)
  })
})
