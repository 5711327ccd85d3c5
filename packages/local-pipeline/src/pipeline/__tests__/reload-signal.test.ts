/**
 * SIGHUP to `npm start`, as a real process signalled by its pid: it reloads ORTTO_MAPPINGS (the
 * new version goes in force, a file with problems is refused and they are logged) and keeps
 * running; with the presets it says there is no file to reload. ORTTO_MAPPINGS here is a symbolic
 * link whose target lives in another folder, a case the folder watch cannot see: only the signal
 * makes these reloads.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import { LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import type { MappingsStatus } from '../mappings-in-force'
import { TEST_WRITE_KEY, get, tempDir, waitFor } from '../../../test/helpers/pipeline-helpers'
import { spawnTs } from '../../../../../test/helpers/run-ts'
import type { TsProcess } from '../../../../../test/helpers/run-ts'

let temp: ReturnType<typeof tempDir>
let child: TsProcess | undefined

beforeEach(() => {
  temp = tempDir('reload-signal-')
})

afterEach(() => {
  // Only the child this test started, by its handle.
  if (child && child.child.exitCode === null && child.child.signalCode === null) child.child.kill()
  child = undefined
  temp.remove()
})

function startProcess(mappingsFile?: string): TsProcess {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    SEGMENT_WRITE_KEY: TEST_WRITE_KEY,
    DEAD_LETTER_FILE: temp.file('dead.ndjson'),
    SPOOL_DIR: temp.file('spool'),
    ...(mappingsFile && { ORTTO_MAPPINGS: mappingsFile })
  }
  for (const name of ['ORTTO_API_KEY', 'SANDBOX_DATA', 'SANDBOX_PORT', LOCAL_ENDPOINT_ENV]) delete env[name]
  if (!mappingsFile) delete env.ORTTO_MAPPINGS
  child = spawnTs('packages/local-pipeline/src/pipeline/start.ts', [], env)
  return child
}

/** Sends SIGHUP to the process this test started, by its pid. */
function hangUp(started: TsProcess): void {
  process.kill(started.child.pid as number, 'SIGHUP')
}

const entries = (event: string) =>
  JSON.stringify([{ partnerAction: 'trackActivity', subscribe: `event = "${event}"` }], null, 2)
const versionOf = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex').slice(0, 12)}`
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

it('SIGHUP reloads the mapping file: its new version goes in force, one with problems is refused and listed', async () => {
  mkdirSync(temp.file('real'))
  mkdirSync(temp.file('link'))
  const target = path.join(temp.file('real'), 'mappings.json')
  const link = path.join(temp.file('link'), 'mappings.json')
  writeFileSync(target, entries('First'))
  symlinkSync(target, link)

  const started = startProcess(link)
  await started.waitForLine(
    new RegExp(`^\\[mappings\\] version ${versionOf(entries('First'))} in force \\(1 subscription, loaded `)
  )
  const url = (await started.waitForLine(/^ {2}Listening on {4}http/)).split(/\s+/)[3]

  writeFileSync(target, entries('Second'))
  hangUp(started)
  const second = versionOf(entries('Second'))
  const line = await started.waitForLine(new RegExp(`^\\[mappings\\] version ${second} in force`))
  const status = (await get(url, '/status')).json as { mappings: MappingsStatus }
  expect(line).toBe(`[mappings] version ${second} in force (1 subscription, loaded ${status.mappings.loadedAt})`)
  expect(status.mappings).toMatchObject({ file: link, version: second, problems: [] })
  expect(status.mappings.subscriptions.map((s) => s.subscribe)).toEqual(['event = "Second"'])

  writeFileSync(target, '[{"partnerAction": "trackActivity"}]')
  hangUp(started)
  const refusal = `[mappings] reload of ${link} refused, version ${second} stays: 1 problem`
  await started.waitForLine(new RegExp(`^${escaped(refusal)}$`))
  // The problem is its own line, which may come in a later chunk of the child's output.
  await started.waitForLine(/^ {2}- entry 0, /)
  expect(started.stdout[started.stdout.indexOf(refusal) + 1]).toBe(
    '  - entry 0, subscribe: is missing: write the trigger in FQL, e.g. "type = \\"track\\""'
  )
  const refused = (await get(url, '/status')).json as { mappings: MappingsStatus }
  expect(refused.mappings).toMatchObject({ version: second, problems: [{ file: link, index: 0, path: ['subscribe'] }] })

  started.child.kill('SIGTERM')
  expect(await started.exited).toEqual({ code: 0, signal: null })
}, 60_000)

it('SIGHUP with the presets says there is no file to reload, and the pipeline keeps running', async () => {
  const started = startProcess()
  const url = (await started.waitForLine(/^ {2}Listening on {4}http/)).split(/\s+/)[3]
  hangUp(started)
  await started.waitForLine(
    /^\[mappings\] SIGHUP: no mapping file to reload \(ORTTO_MAPPINGS is not set\); the presets stay in force$/
  )
  const status = await waitFor(
    'an answer',
    async () => (await get(url, '/status')).json as { mappings: MappingsStatus }
  )
  expect(status.mappings).toMatchObject({ file: null, version: 'presets' })
  expect(started.child.exitCode).toBeNull()

  started.child.kill('SIGTERM')
  expect(await started.exited).toEqual({ code: 0, signal: null })
}, 60_000)
