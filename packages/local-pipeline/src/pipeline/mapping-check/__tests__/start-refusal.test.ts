/**
 * `npm start` with a bad ORTTO_MAPPINGS, as a real process: it exits 1 and lists every problem of
 * the file, exactly as docs/running-locally.md shows for its example file.
 */
import { writeFileSync } from 'node:fs'
import { LOCAL_ENDPOINT_ENV } from 'actions-ortto'
import { PIPELINE_DESTINATIONS } from '../../destinations'
import { checkMappingFile, formatProblems } from '..'
import { tempDir } from '../../../../test/helpers/pipeline-helpers'
import { spawnTs } from '../../../../../../test/helpers/run-ts'
import type { TsProcess } from '../../../../../../test/helpers/run-ts'
import { docFrom } from '../../../../../../test/helpers/docs'

const PAGE = 'docs/running-locally.md'

/** The fenced block of `language` that comes first after `marker` in the page, without its fences. */
function pageBlock(marker: string, language: string): string {
  const match = new RegExp('```' + language + '\\n([\\s\\S]*?)```').exec(docFrom(PAGE, marker))
  if (!match) throw new Error(`no ${language} block after "${marker}" in ${PAGE}`)
  return match[1]
}

const SECTION = '### The mapping file is checked at start'
const EXAMPLE_FILE = pageBlock(SECTION, 'json')
const EXAMPLE_OUTPUT = pageBlock(SECTION, 'text').trimEnd()

let temp: ReturnType<typeof tempDir>
let child: TsProcess | undefined

beforeEach(() => {
  temp = tempDir()
})

afterEach(() => {
  // Only the child this test started, by its handle.
  if (child && child.child.exitCode === null && child.child.signalCode === null) child.child.kill()
  child = undefined
  temp.remove()
})

it("the page's example output is what the check gives for its example file", () => {
  const checked = checkMappingFile('mappings.json', EXAMPLE_FILE, PIPELINE_DESTINATIONS)
  if (!('problems' in checked)) throw new Error('the example file passed the check')
  expect(`Cannot start: ${formatProblems('mappings.json', checked.problems)}`).toBe(EXAMPLE_OUTPUT)
})

it("npm start with the page's example file exits 1, listing every problem as the page shows", async () => {
  const mappingsFile = temp.file('mappings.json')
  writeFileSync(mappingsFile, EXAMPLE_FILE)
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    ORTTO_MAPPINGS: mappingsFile,
    DEAD_LETTER_FILE: temp.file('dead.ndjson')
  }
  for (const name of ['ORTTO_API_KEY', 'SANDBOX_DATA', 'SANDBOX_PORT', LOCAL_ENDPOINT_ENV]) delete env[name]
  child = spawnTs('packages/local-pipeline/src/pipeline/start.ts', [], env)

  expect(await child.exited).toEqual({ code: 1, signal: null })
  expect(child.stdout.filter((line) => line !== '')).toEqual([])
  // The page runs it from the file's folder; here the file is elsewhere, named by its full path.
  const printed = child.stderr.join('\n').trimEnd().split(mappingsFile).join('mappings.json')
  expect(printed).toBe(EXAMPLE_OUTPUT)
}, 60_000)
