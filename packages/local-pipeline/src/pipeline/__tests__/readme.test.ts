/**
 * docs/running-locally.md and docs/routes.md are true to the code: the banner shown is what
 * `npm start` prints, the analytics-node example is examples/analytics-node.mjs and runs as written
 * against a pipeline, the route table is what GET / lists, and the Engage audience entry and exit
 * curls run as written and leave in the sandbox what the page shows.
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import * as path from 'node:path'
import { LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import type { Sandbox, SandboxActivity, SandboxContact } from 'ortto-sandbox'
import { banner, mappingLines } from '../banner'
import { PIPELINE_DESTINATIONS } from '../destinations'
import { startPipeline, type Pipeline } from '../index'
import { allPresetSubscriptions } from '../subscriptions'
import { TEST_WRITE_KEY, get, post, waitFor } from '../../../test/helpers/pipeline-helpers'
import { REPOSITORY, docFrom } from '../../../../../test/helpers/docs'

const RUNNING_LOCALLY = 'docs/running-locally.md'
const ROUTES = 'docs/routes.md'
const EXAMPLE = path.join(REPOSITORY, 'examples', 'analytics-node.mjs')

/** The first fenced block after `marker` in `page`, without its fences. */
function blockAfter(page: string, marker: string): string {
  return blocksAfter(page, marker, 1)[0]
}

/** The first `count` fenced blocks after `marker` in `page`, without their fences. */
function blocksAfter(page: string, marker: string, count: number): string[] {
  const blocks = [...docFrom(page, marker).matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((match) => match[1])
  if (blocks.length < count) throw new Error(`fewer than ${count} code blocks after "${marker}" in ${page}`)
  return blocks.slice(0, count)
}

/** One curl of a shell block, as a person would run it, and the answer the page shows after it (`# …`). */
interface Curl {
  writeKey: string
  path: string
  body?: unknown
  answer?: unknown
}

function curlsIn(block: string): Curl[] {
  return block
    .split(/\n(?=curl )/)
    .filter((command) => command.startsWith('curl '))
    .map((command) => {
      const shown = /^# (.+)$/m.exec(command)
      const text = shown ? command.slice(0, shown.index) : command
      const path = /http:\/\/127\.0\.0\.1:3000(\/[^\s']*)/.exec(text)?.[1]
      const writeKey = /-u ([^\s:]+):/.exec(text)?.[1]
      const data = /-d '([^']*)'/.exec(text)?.[1]
      if (!path || !writeKey) throw new Error(`a curl without a pipeline URL or write key: ${text}`)
      return {
        writeKey,
        path,
        ...(data !== undefined && { body: JSON.parse(data) as unknown }),
        ...(shown && { answer: JSON.parse(shown[1]) as unknown })
      }
    })
}

/**
 * `value` with what differs from run to run replaced: each id by its order of first appearance
 * (so that an audience_id still names the audience listed, a member the contact of the history),
 * each timestamp by "<time>".
 */
function normalized(value: unknown): unknown {
  const ids = new Map<unknown, string>()
  const idOf = (id: unknown) => {
    if (!ids.has(id)) ids.set(id, `<id ${ids.size + 1}>`)
    return ids.get(id)
  }
  const walk = (node: unknown, key?: string): unknown => {
    if (Array.isArray(node)) return node.map((item) => walk(item, key === 'member_ids' ? 'id' : undefined))
    if (typeof node === 'object' && node !== null) {
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v, k)]))
    }
    if (key === 'id' || key === 'contact_id' || key === 'audience_id' || key === 'message_id') return idOf(node)
    if ((key === 'at' || key === 'created_at') && typeof node === 'string' && !Number.isNaN(Date.parse(node))) {
      return '<time>'
    }
    return node
  }
  return walk(value)
}

/** The first column of the table under `heading` in `page`, each cell's text in backticks. */
function tableColumn(page: string, heading: string): string[] {
  const section = docFrom(page, heading)
    .slice(heading.length)
    .split(/\n#{2,3} /)[0]
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

const start = async (writeKey = TEST_WRITE_KEY, log: (line: string) => void = () => undefined) =>
  (pipeline = await startPipeline(
    { port: 0, target: { kind: 'sandbox', port: 0 }, flushIntervalMs: 50, maxAttempts: 3, writeKey },
    log
  ))

describe(RUNNING_LOCALLY, () => {
  it('shows the banner `SEGMENT_WRITE_KEY=my-write-key npm start` prints', () => {
    const printed = banner({
      url: 'http://127.0.0.1:3000',
      destination: 'the embedded Ortto sandbox at http://127.0.0.1:3001',
      mappings: mappingLines(allPresetSubscriptions(PIPELINE_DESTINATIONS)),
      sandbox: true,
      writeKey: 'my-write-key',
      writeKeyGenerated: false,
      deadLetterFile: 'ortto-dead-letter.ndjson',
      spool: { dir: 'ortto-spool', restored: 0 },
      stopGraceMs: 10_000
    })
    expect(blockAfter(RUNNING_LOCALLY, '`SEGMENT_WRITE_KEY=my-write-key npm start` it prints:')).toBe(`${printed}\n`)
  })

  it('shows examples/analytics-node.mjs exactly', () => {
    expect(blockAfter(RUNNING_LOCALLY, '[`examples/analytics-node.mjs`](../examples/analytics-node.mjs)')).toBe(
      readFileSync(EXAMPLE, 'utf8')
    )
  })
})

describe(ROUTES, () => {
  it('lists the routes GET / lists, in the same order', async () => {
    const p = await start()
    const routes = ((await get(p.url, '/')).json as { routes: Record<string, string> }).routes
    expect(tableColumn(ROUTES, '\n## Routes\n')).toEqual(Object.keys(routes))
  })
})

describe(`the Engage audience example of ${RUNNING_LOCALLY}`, () => {
  it('runs as written: the entry and the exit, and what GET /sandbox/audiences then holds', async () => {
    const logLines: string[] = []
    // The write key the banner above prints.
    const p = await start('my-write-key', (line) => logLines.push(line))
    const [entry, afterEntry, exit, afterExit] = blocksAfter(
      RUNNING_LOCALLY,
      'An audience entry, as Engage sends it',
      4
    )
    let sent = 0
    for (const [commands, shown] of [
      [entry, afterEntry],
      [exit, afterExit]
    ]) {
      const curls = curlsIn(commands)
      expect(curls.map((c) => [c.path, c.body !== undefined])).toEqual([
        [expect.stringMatching(/^\/v1\/(identify|track)$/), true],
        ['/sandbox/audiences', false]
      ])
      for (const curl of curls) {
        expect(curl.writeKey).toBe(p.writeKey)
        const options = { writeKey: curl.writeKey }
        const answer =
          curl.body === undefined
            ? await get(p.url, curl.path, options)
            : await post(p.url, curl.path, curl.body, options)
        if (curl.answer !== undefined) expect(answer.json).toEqual(curl.answer)
        if (curl.body !== undefined) {
          sent++
          await waitFor('the delivery', () => p.delivery.status().delivered === sent)
        } else {
          expect(normalized(answer.json)).toEqual(normalized(JSON.parse(shown)))
        }
      }
    }
    expect(p.delivery.status()).toMatchObject({ delivered: 2, failed: 0 })
    // The log line the page quotes, with this run's audience id.
    const shownId = (JSON.parse(afterEntry) as { audiences: Array<{ id: string }> }).audiences[0].id
    const page = docFrom(RUNNING_LOCALLY, 'An audience entry, as Engage sends it').replace(/\n/g, ' ')
    const quoted = /The log shows `(\[audiences\][^`]+)`/.exec(page)?.[1]
    const [audience] = (p.sandbox as Sandbox).snapshot().audiences
    expect(logLines).toContain(quoted?.replace(shownId, audience.id))
    // "Ada's contact has only her email".
    const contacts = (p.sandbox as Sandbox).snapshot().contacts
    expect(contacts.map((c) => [c.user_id, c.traits])).toEqual([['ada', { email: 'ada@example.com' }]])
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

  it('shows where the Engage audience ids are kept, when they are (SANDBOX_DATA)', () => {
    const facts = {
      url: 'http://127.0.0.1:4000',
      destination: 'the embedded Ortto sandbox',
      mappings: [],
      sandbox: true,
      writeKey: 'k',
      writeKeyGenerated: false
    }
    expect(banner({ ...facts, audienceIdsFile: 'data.ndjson.audiences.json' })).toContain(
      '\n  Audience ids    data.ndjson.audiences.json  (the Ortto audience of each Engage audience)\n'
    )
    expect(banner(facts)).not.toContain('Audience ids')
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
