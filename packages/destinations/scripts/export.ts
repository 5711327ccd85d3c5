/**
 * `npm run export -- <action-destinations checkout> <ortto|ortto-audiences>`: replaces that one
 * destination's folder in a checkout of Segment's action-destinations repository wholly with
 * ours (the files git tracks under src/destinations/<name>/), lists what it added, changed and
 * removed, and writes the PR description (see scripts/export/).
 *
 *   --pr-description FILE  where the description goes (default dist/export/<name>-pr-description.md)
 *   --catalog FILE         today's catalog metadata to compare with (default scripts/export/catalog/…)
 *   --dry-run              list and describe, but leave the checkout untouched
 *   --force                replace the folder even when the checkout has uncommitted changes in it
 *   --monorepo-report FILE check:monorepo's report the unit-test answer rests on (default reports/monorepo-check.json)
 */
import { repositoryCommands } from './export/commands'
import { EXPORTABLE } from './export/destinations'
import { ExportRefusal } from './export/refusal'
import { runExport } from './export/run'
import type { ExportOptions } from './export/run'

export const USAGE = [
  'Usage: npm run export -- <action-destinations checkout> <destination> [--pr-description FILE] [--catalog FILE] [--monorepo-report FILE] [--dry-run] [--force]',
  `  <destination> is one of: ${EXPORTABLE.map((d) => d.name).join(', ')}`
].join('\n')

const VALUE_FLAGS = ['--pr-description', '--catalog', '--monorepo-report']
const SWITCHES = ['--dry-run', '--force']

type Parsed = { options: ExportOptions } | { problem: string }

export function parseArguments(argv: string[]): Parsed {
  const positional: string[] = []
  const values: Record<string, string> = {}
  const switches = new Set<string>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (VALUE_FLAGS.includes(arg)) {
      const given = argv[i + 1]
      if (given === undefined || given.startsWith('--')) return { problem: `${arg} needs a file name.` }
      values[arg] = given
      i++
    } else if (SWITCHES.includes(arg)) switches.add(arg)
    else if (arg.startsWith('--')) return { problem: `Unknown option ${arg}.` }
    else positional.push(arg)
  }
  if (positional.length < 2) return { problem: 'Give the checkout and the destination.' }
  if (positional.length > 2) return { problem: `One checkout and one destination, not ${positional.length} arguments.` }
  return {
    options: {
      checkout: positional[0],
      destination: positional[1],
      prDescription: values['--pr-description'],
      catalog: values['--catalog'],
      monorepoReport: values['--monorepo-report'],
      dryRun: switches.has('--dry-run'),
      force: switches.has('--force')
    }
  }
}

export interface Output {
  log(line: string): void
  error(line: string): void
}

/** Runs the export for `argv` (the arguments after the script), printing to `out`; returns the exit code. */
export function main(argv: string[], out: Output): number {
  const parsed = parseArguments(argv)
  if ('problem' in parsed) {
    out.error(`${parsed.problem}\n${USAGE}`)
    return 1
  }
  try {
    const result = runExport(parsed.options)
    const { plan, destination } = result
    const verb = result.replaced ? 'Replaced' : 'Would replace (--dry-run: the checkout is untouched)'
    out.log(`${verb} ${result.folder} with ${destination.title}:`)
    for (const [title, sign, files] of [
      ['added', '+', plan.added],
      ['changed', '~', plan.changed],
      ['removed', '-', plan.removed]
    ] as const) {
      out.log(`  ${title} (${files.length})`)
      for (const file of files) out.log(`    ${sign} ${file}`)
    }
    out.log(`  unchanged (${plan.unchanged.length})`)
    for (const warning of result.warnings) out.log(`Warning: ${warning}`)
    const { monorepo } = result
    out.log(
      monorepo.gap === undefined
        ? `Unit tests: ticked in the description, from check:monorepo's passing report of ${monorepo.checkedAt ?? ''}.`
        : `Unit tests: not ticked in the description: ${monorepo.gap}. Run npm run check:monorepo, then export again.`
    )
    out.log(`PR description: ${result.prDescriptionFile}`)
    out.log(`Next, in the checkout, commit on a branch of its own, then run (from its root):`)
    for (const { command } of repositoryCommands(destination.name)) out.log(`  ${command}`)
    out.log(`docs/registering.md gives the remaining steps.`)
    return 0
  } catch (error) {
    if (error instanceof ExportRefusal) {
      out.error(`npm run export: ${error.reason}\n${error.remedy}`)
      return 1
    }
    throw error
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2), {
    log: (line) => console.log(line),
    error: (line) => console.error(line)
  })
}
