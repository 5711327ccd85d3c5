/**
 * `npm run check:monorepo` must fail on each way a destination folder has broken in Segment's
 * repository before. Each case copies src/destinations, breaks the copy one way, and runs the
 * step of the check that must catch it (the whole check, jest included, runs in `npm test`).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { StepName } from '../../scripts/monorepo/check'
import type { MonorepoReport } from '../../scripts/monorepo/report'
import { ourFolderFiles } from '../../scripts/export/folder'
import { folderDigest } from '../../scripts/folder-digest'

const ROOT = path.join(__dirname, '..', '..')
const SOURCE = path.join(ROOT, 'src', 'destinations')

let workDir: string

beforeAll(() => {
  // The check runs as it does for a user, compiled: its type generator cannot load inside jest.
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-b', 'tsconfig.scripts.json', '--noCheck'], {
    cwd: ROOT
  })
  workDir = mkdtempSync(path.join(tmpdir(), 'monorepo-regressions-'))
}, 300_000)

/** Runs `npm run check:monorepo -- --source … --only …` (compiled) and reads its report. */
function runMonorepoCheck(options: { source?: string; steps: StepName[] }): MonorepoReport {
  const report = path.join(workDir, `report-${Date.now()}-${Math.random()}.json`)
  const args = ['dist/scripts/check-monorepo.js', '--only', options.steps.join(','), '--report', report]
  if (options.source) args.push('--source', options.source)
  const run = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' })
  try {
    return JSON.parse(readFileSync(report, 'utf8')) as MonorepoReport
  } catch {
    throw new Error(`check:monorepo wrote no report:\n${run.stdout}\n${run.stderr}`)
  }
}

afterAll(() => rmSync(workDir, { recursive: true, force: true }))

/** A copy of src/destinations with one change made by `mutate` (paths relative to the copy). */
function brokenCopy(name: string, mutate: (edit: (file: string, change: (text: string) => string) => void) => void) {
  const dir = path.join(workDir, name)
  cpSync(SOURCE, dir, { recursive: true })
  mutate((file, change) => {
    const full = path.join(dir, file)
    const before = readFileSync(full, 'utf8')
    const after = change(before)
    if (after === before) throw new Error(`the ${name} case changed nothing in ${file}`)
    writeFileSync(full, after)
  })
  return dir
}

function failureOf(source: string, step: StepName): string {
  const report = runMonorepoCheck({ source, steps: [step] })
  const result = report.steps.find((s) => s.name === step)
  expect(report.ok).toBe(false)
  expect(result?.ok).toBe(false)
  return result?.detail ?? ''
}

const HOOK_TYPES = `// Generated file. DO NOT MODIFY IT BY HAND.

export interface OnMappingSaveInputs {
  audience_name?: string
}
`

it('passes the folders as they are', () => {
  const report = runMonorepoCheck({ steps: ['imports', 'build', 'generated', 'prettier'] })
  expect(report.steps.map((s) => [s.name, s.ok, s.ok ? '' : s.detail])).toEqual([
    ['imports', true, ''],
    ['build', true, ''],
    ['generated', true, ''],
    ['prettier', true, '']
  ])
  // The digest of each folder checked is the one the export computes from the files git tracks,
  // so a report of these contents answers the PR's unit-test box (scripts/export/monorepo-evidence.ts).
  expect(report.folders).toEqual({
    ortto: folderDigest(ourFolderFiles(ROOT, 'ortto')),
    'ortto-audiences': folderDigest(ourFolderFiles(ROOT, 'ortto-audiences'))
  })
  expect(Date.parse(report.checkedAt)).toBeGreaterThan(0)
}, 120_000)

it('fails the build on an API newer than ES2020 (Object.hasOwn)', () => {
  const source = brokenCopy('has-own', (edit) =>
    edit(
      'ortto/client/json.ts',
      (text) => `${text}\nexport const has = (o: object, k: string) => Object.hasOwn(o, k)\n`
    )
  )
  expect(failureOf(source, 'build')).toMatch(/client\/json\.ts.*Property 'hasOwn' does not exist/)
}, 120_000)

it.each([
  [
    'a test helper from outside the folder',
    "import '../../../../test/helpers/http-client'\n",
    /outside src\/destinations/
  ],
  [
    'fast-check in a folder test',
    "import fc from 'fast-check'\n",
    /"fast-check" \(tests there use jest, nock and actions-core\)/
  ]
])(
  'fails the imports on %s',
  (name, line, reason) => {
    const source = brokenCopy(name.replace(/\W+/g, '-'), (edit) =>
      edit('ortto/__tests__/destination.test.ts', (text) => line + text)
    )
    const detail = failureOf(source, 'imports')
    expect(detail).toMatch(/ortto\/__tests__\/destination\.test\.ts imports/)
    expect(detail).toMatch(reason)
  },
  60_000
)

it('fails Prettier 2.4.1 on an inline type import', () => {
  const source = brokenCopy('inline-type', (edit) =>
    edit('ortto/index.ts', (text) =>
      text.replace(
        "import type { Settings } from './generated-types'",
        "import { type Settings } from './generated-types'"
      )
    )
  )
  expect(failureOf(source, 'prettier')).toMatch(/ortto\/index\.ts: SyntaxError/)
}, 60_000)

it('fails on a generated file that is stale', () => {
  const source = brokenCopy('stale-types', (edit) =>
    edit('ortto/fields.ts', (text) => text.replace("'The unique user identifier'", "'The user identifier'"))
  )
  const detail = failureOf(source, 'generated')
  expect(detail).toMatch(/ortto\/upsertContact\/generated-types\.ts is not what the CLI writes/)
  expect(detail).toMatch(/ortto\/trackActivity\/generated-types\.ts is not what the CLI writes/)
}, 120_000)

it('checks Ortto (Audiences) too: a stale generated file in its folder fails', () => {
  const source = brokenCopy('stale-audience-types', (edit) =>
    edit('ortto-audiences/syncAudience/fields.ts', (text) =>
      text.replace("'Unique Audience Identifier returned", "'The Audience Identifier returned")
    )
  )
  const detail = failureOf(source, 'generated')
  expect(detail).toMatch(/ortto-audiences\/syncAudience\/generated-types\.ts is not what the CLI writes/)
  expect(detail).toMatch(/ortto-audiences\/metadata\.json is not what the CLI writes/)
  expect(detail).not.toMatch(/ortto\/(upsertContact|trackActivity)\//)
}, 120_000)

it('fails on a generated types file the CLI does not write (a separate hooks file)', () => {
  const source = brokenCopy('hooks-file', () => undefined)
  writeFileSync(path.join(source, 'ortto', 'hooks', 'generated-types.ts'), HOOK_TYPES)
  expect(failureOf(source, 'generated')).toMatch(/hooks\/generated-types\.ts is not written by generate:types/)
}, 120_000)
