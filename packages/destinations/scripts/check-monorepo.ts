/**
 * `npm run check:monorepo`: proves every folder under src/destinations/ survives the move into
 * Segment's action-destinations repository unchanged. It installs that repository's toolchain
 * (monorepo-check/package.json, pinned in its own lock file), lays our folders out as they sit
 * in `packages/destination-actions/`, and runs there what the repository's CI runs on them:
 *
 *   imports     each folder imports only actions-core, packages destination-actions declares,
 *               Node built-ins and files under src/destinations (tests: also jest and nock)
 *   build       `tsc -b` with the repository's compiler settings (TypeScript 5.5.4, ES2020)
 *   generated   generated-types.ts and metadata.json are what `generate:types` and
 *               `generate:metadata-payload` write for the built definition
 *   prettier    Prettier 2.4.1 --check with the repository's options
 *   eslint      ESLint 7 + @typescript-eslint 5.62 with its rule levels: no errors anywhere,
 *               no warnings outside tests
 *   jest        the folders' suites under jest 27 + ts-jest (isolatedModules) + nock 13, in CI
 *               mode, with the package-wide nock setup
 *
 * `--source DIR` checks another copy of src/destinations (how the regression tests feed it
 * broken folders); `--only a,b` runs some steps; `--report FILE` writes the results as JSON;
 * `--keep` leaves the laid-out folder behind. A full check of our own folders also writes its
 * report to reports/monorepo-check.json, where `npm run export` reads what was run.
 */
import path from 'node:path'
import { runMonorepoCheck, STEP_NAMES } from './monorepo/check'
import type { StepName } from './monorepo/check'
import { REPORT_FILE, writeReport } from './monorepo/report'
import { ROOT } from './monorepo/toolchain'

function argValue(name: string): string | undefined {
  const index = process.argv.indexOf(name)
  return index >= 0 ? process.argv[index + 1] : undefined
}

async function main(): Promise<void> {
  const only = argValue('--only')?.split(',') as StepName[] | undefined
  const unknown = only?.filter((name) => !STEP_NAMES.includes(name))
  if (unknown?.length) throw new Error(`Unknown step ${unknown.join(', ')}; steps are ${STEP_NAMES.join(', ')}.`)
  const report = await runMonorepoCheck({
    source: argValue('--source'),
    steps: only,
    keep: process.argv.includes('--keep'),
    log: (line) => console.log(line)
  })
  const reportFile = argValue('--report')
  if (reportFile) writeReport(reportFile, report)
  if (argValue('--source') === undefined && only === undefined) {
    writeReport(path.join(ROOT, REPORT_FILE), report)
    console.log(`Report for npm run export: ${REPORT_FILE}`)
  }
  if (!report.ok) process.exit(1)
}

main().catch((error: unknown) => {
  console.error(`check:monorepo could not run: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
})
