/** The steps of `npm run check:monorepo` (see scripts/check-monorepo.ts for what each proves). */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { DestinationDefinition } from '@segment/actions-core'
import { filesOnDisk, folderDigest } from '../folder-digest'
import { generatedFiles } from '../generated-files'
import { layOut } from './layout'
import type { Layout } from './layout'
import type { MonorepoReport } from './report'
import { STEP_NAMES } from './steps'
import type { StepName, StepResult } from './steps'
import { ROOT, ensureToolchain, toolchainBin, toolchainRequire } from './toolchain'

export { STEP_NAMES } from './steps'
export type { StepName, StepResult } from './steps'

export interface CheckOptions {
  /** A src/destinations folder to check; ours by default. */
  source?: string
  steps?: StepName[]
  keep?: boolean
  log?: (line: string) => void
}

/** Packages packages/destination-actions declares (a destination may import these). */
const DECLARED = [
  '@segment/actions-core',
  '@segment/actions-shared',
  'dayjs',
  'lodash',
  'liquidjs',
  'lru-cache',
  'cheerio',
  'aws4',
  'escape-goat',
  'google-libphonenumber'
]
/** What the folders' tests may use besides: jest's globals need no import, nock does. */
const TEST_ONLY = ['nock']

const isTestFile = (file: string) => /[\\/]__tests__[\\/]/.test(file) || file.endsWith('.test.ts')
const packageOf = (specifier: string) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]
const isBuiltin = (specifier: string) =>
  specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0])

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    return entry.isDirectory() ? filesUnder(full) : [full]
  })
}

interface Run {
  status: number | null
  output: string
}

/** Runs a toolchain command in the laid-out package, with an environment of its own. */
function run(layout: Layout, script: string, args: string[]): Run {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TZ: process.env.TZ, CI: 'true' }
  const result = spawnSync(process.execPath, [script, ...args], {
    cwd: layout.packageDir,
    env,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024
  })
  return { status: result.status, output: `${result.stdout ?? ''}${result.stderr ?? ''}`.trim() }
}

const tail = (text: string, lines = 60) => text.split('\n').slice(-lines).join('\n')

function checkImports(layout: Layout): StepResult['detail'] | undefined {
  const ts = toolchainRequire<typeof import('typescript')>('typescript')
  const problems: string[] = []
  for (const file of filesUnder(layout.destinationsDir)) {
    if (!file.endsWith('.ts')) continue
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
    const allowed = isTestFile(file) ? [...DECLARED, ...TEST_ONLY] : DECLARED
    for (const { fileName: specifier } of info.importedFiles) {
      const where = path.relative(layout.packageDir, file)
      if (specifier.startsWith('.')) {
        const target = path.resolve(path.dirname(file), specifier)
        if (!target.startsWith(layout.destinationsDir + path.sep)) {
          problems.push(`${where} imports "${specifier}", outside src/destinations: move what it needs into the folder`)
        }
      } else if (!isBuiltin(specifier) && !allowed.includes(packageOf(specifier))) {
        const kind = isTestFile(file)
          ? 'tests there use jest, nock and actions-core'
          : 'destination-actions does not declare it'
        problems.push(`${where} imports "${specifier}" (${kind})`)
      }
    }
  }
  return problems.length ? problems.join('\n') : undefined
}

async function checkGenerated(layout: Layout): Promise<string | undefined> {
  const prettier = toolchainRequire<{ format(text: string, options: object): string }>('prettier')
  const options = JSON.parse(readFileSync(path.join(layout.packageDir, '.prettierrc.json'), 'utf8')) as object
  const problems: string[] = []
  for (const folder of layout.folders) {
    const built = path.join(layout.packageDir, 'dist', 'destinations', folder, 'index.js')
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const definition = (require(built) as { default: DestinationDefinition<unknown> }).default
    const folderDir = path.join(layout.destinationsDir, folder)
    const expected = await generatedFiles(definition, folderDir)
    for (const [file, text] of expected) {
      const wanted = prettier.format(text, { ...options, filepath: file })
      const actual = existsSync(file) ? readFileSync(file, 'utf8') : undefined
      const where = path.relative(layout.packageDir, file)
      if (actual === undefined) problems.push(`${where} is missing`)
      else if (actual !== wanted) problems.push(`${where} is not what the CLI writes`)
    }
    for (const file of filesUnder(folderDir)) {
      if (path.basename(file) === 'generated-types.ts' && !expected.has(file)) {
        problems.push(`${path.relative(layout.packageDir, file)} is not written by generate:types: remove it`)
      }
    }
  }
  return problems.length ? `${problems.join('\n')}\nRun \`npm run generate\` and commit the result.` : undefined
}

interface EslintFileReport {
  filePath: string
  messages: Array<{ severity: number; line: number; ruleId: string | null; message: string }>
}

function checkEslint(layout: Layout): { problem?: string; summary: string } {
  const folders = layout.folders.map((folder) => `src/destinations/${folder}`)
  const result = run(layout, toolchainBin('eslint', 'eslint'), ['--ext', '.ts', '--format', 'json', ...folders])
  let reports: EslintFileReport[]
  try {
    reports = JSON.parse(result.output.slice(result.output.indexOf('['))) as EslintFileReport[]
  } catch {
    return { problem: tail(result.output), summary: '' }
  }
  const lines: string[] = []
  let errors = 0
  let warnings = 0
  let testWarnings = 0
  for (const report of reports) {
    for (const message of report.messages) {
      const where = `${path.relative(layout.packageDir, report.filePath)}:${message.line} ${message.ruleId ?? ''}`
      if (message.severity === 2) {
        errors++
        lines.push(`error   ${where}: ${message.message}`)
      } else if (isTestFile(report.filePath)) {
        testWarnings++
      } else {
        warnings++
        lines.push(`warning ${where}: ${message.message}`)
      }
    }
  }
  const summary = `${errors} errors, ${warnings} warnings outside tests, ${testWarnings} in tests`
  return { problem: errors + warnings > 0 ? `${lines.join('\n')}\n${summary}` : undefined, summary }
}

function checkJest(layout: Layout): { problem?: string; summary: string } {
  const results = path.join(mkdtempSync(path.join(tmpdir(), 'ortto-jest27-')), 'results.json')
  try {
    const result = run(layout, toolchainBin('jest', 'jest'), ['--ci', '--json', `--outputFile=${results}`])
    if (!existsSync(results)) return { problem: tail(result.output), summary: '' }
    const totals = JSON.parse(readFileSync(results, 'utf8')) as {
      numPassedTests: number
      numFailedTests: number
      numTotalTestSuites: number
      numRuntimeErrorTestSuites: number
    }
    const summary = `${totals.numTotalTestSuites} suites, ${totals.numPassedTests} passed, ${totals.numFailedTests} failed`
    const failed = result.status !== 0 || totals.numFailedTests + totals.numRuntimeErrorTestSuites > 0
    return { problem: failed ? `${tail(result.output, 120)}\n${summary}` : undefined, summary }
  } finally {
    rmSync(path.dirname(results), { recursive: true, force: true })
  }
}

async function runStep(name: StepName, layout: Layout): Promise<{ problem?: string; summary?: string }> {
  switch (name) {
    case 'imports':
      return { problem: checkImports(layout) }
    case 'build': {
      const result = run(layout, toolchainBin('typescript', 'tsc'), ['-b', 'tsconfig.build.json'])
      return { problem: result.status === 0 ? undefined : tail(result.output) }
    }
    case 'generated':
      return { problem: await checkGenerated(layout) }
    case 'prettier': {
      const globs = layout.folders.map((folder) => `src/destinations/${folder}/**/*.{ts,js,json}`)
      const result = run(layout, toolchainBin('prettier', 'prettier'), ['--check', ...globs])
      return { problem: result.status === 0 ? undefined : tail(result.output) }
    }
    case 'eslint':
      return checkEslint(layout)
    case 'jest':
      return checkJest(layout)
  }
}

export async function runMonorepoCheck(options: CheckOptions = {}): Promise<MonorepoReport> {
  const log = options.log ?? (() => undefined)
  const source = path.resolve(options.source ?? path.join(ROOT, 'src', 'destinations'))
  const wanted = options.steps ?? [...STEP_NAMES]
  // The generated-file check reads the built definition.
  const steps = STEP_NAMES.filter((name) => wanted.includes(name) || (name === 'build' && wanted.includes('generated')))
  ensureToolchain(log)
  const layout = layOut(source)
  // Digests of what was laid out, taken before any step runs, so the report names what it checked.
  const folders = Object.fromEntries(
    layout.folders.map((folder) => [folder, folderDigest(filesOnDisk(path.join(source, folder)))])
  )
  log(`Segment's action-destinations checks on ${layout.folders.join(', ')} (laid out in ${layout.packageDir})`)
  const results: StepResult[] = []
  try {
    for (const name of steps) {
      const started = Date.now()
      const { problem, summary } = await runStep(name, layout)
      const result = {
        name,
        ok: problem === undefined,
        seconds: (Date.now() - started) / 1000,
        detail: problem ?? summary ?? ''
      }
      results.push(result)
      log(
        `${result.ok ? 'ok  ' : 'FAIL'} ${name.padEnd(9)} ${result.seconds.toFixed(1)} s${result.ok && result.detail ? `  ${result.detail}` : ''}`
      )
      if (!result.ok) log(result.detail.replace(/^/gm, '     '))
      // Nothing after a failed build can be trusted (the repository's own CI stops there too).
      if (!result.ok && name === 'build') break
    }
  } finally {
    if (options.keep) log(`Kept ${layout.packageDir}`)
    else layout.remove()
  }
  return {
    ok: results.every((result) => result.ok) && results.length === steps.length,
    checkedAt: new Date().toISOString(),
    folders,
    steps: results
  }
}
