/**
 * The PR description for one destination folder, answering the action-destinations PR template:
 * what changes for users against today's catalog entry, the backward-compatibility table, the
 * files replaced, and the checklist with what the export established and what is left to run.
 */
import type { ChecklistItem } from './checklist'
import type { MonorepoEvidence } from './monorepo-evidence'
import type { UserChange } from './changes'
import type { CompatibilityReport } from './compatibility'
import type { RepositoryCommand } from './commands'
import type { ExportableDestination } from './destinations'
import { DESTINATIONS_DIR } from './destinations'
import type { ReplacementPlan, SourceState } from './folder'
import { code, keys, table } from './markdown'

export interface DescriptionInput {
  destination: ExportableDestination
  source: SourceState
  catalogFile: string
  plan: ReplacementPlan
  registered: boolean
  /** For a folder that imports another: whether the checkout's copy of that one is ours. */
  dependency?: { folder: string; inStep: boolean; differing: number }
  changes: UserChange[]
  compatibility: CompatibilityReport
  checklist: ChecklistItem[]
  monorepo: MonorepoEvidence
  commands: RepositoryCommand[]
}

function fileList(title: string, files: string[]): string[] {
  if (!files.length) return []
  return [
    `<details><summary>${title} (${files.length})</summary>`,
    '',
    ...files.map((file) => `- ${code(file)}`),
    '',
    '</details>',
    ''
  ]
}

function summary(input: DescriptionInput): string[] {
  const { destination, plan, source } = input
  const folder = `${DESTINATIONS_DIR}/${destination.name}/`
  const origin = source.modified.length
    ? `commit ${code(source.commit.slice(0, 12))} **plus uncommitted changes** to ${keys(source.modified)}`
    : `commit ${code(source.commit.slice(0, 12))}`
  const lines = [
    `This PR replaces ${code(folder)} (${destination.title}, catalog id ${code(destination.catalogId)}) wholly with the ` +
      `folder Ortto maintains, exported from ${origin}: ${plan.added.length} files added, ${plan.changed.length} changed, ` +
      `${plan.removed.length} removed, ${plan.unchanged.length} unchanged. Nothing outside that folder changes; ` +
      'it holds one destination, as the repository asks.',
    ''
  ]
  if (!input.registered) {
    lines.push(
      `> [!WARNING]`,
      `> ${code(`${DESTINATIONS_DIR}/index.ts`)} of the checkout does not register ${code(`./${destination.name}`)} under ` +
        `${code(destination.catalogId)}.`,
      ''
    )
  }
  if (input.dependency) {
    const { folder: other, inStep, differing } = input.dependency
    lines.push(
      `**Depends on the ${code(other)} folder.** ${destination.title} imports its client, fields and settings from ` +
        `${code(`../${other}/`)}, so this PR can only build once that folder is Ortto's current one. ` +
        (inStep
          ? `In the checkout this PR was made from, ${code(`${other}/`)} is exactly that folder.`
          : `In the checkout this PR was made from, ${code(`${other}/`)} differs from it in ${differing} files: merge ` +
            `the ${code(other)} PR first and rebase this branch on it.`),
      ''
    )
  }
  return lines
}

/** The steps of `check:monorepo` the unit-test answer rests on, or why there are none to show. */
function whatWasRun(evidence: MonorepoEvidence): string[] {
  if (evidence.steps.length === 0)
    return [`Nothing was run before this export that covers these contents: ${evidence.gap ?? ''}.`]
  return [
    `What was run before this export: \`npm run check:monorepo\` (${evidence.checkedAt ?? ''}), this repository's toolchain on these contents:`,
    '',
    ...evidence.steps.map(
      (step) =>
        `- ${step.ok ? 'passed' : '**failed**'} ${code(step.name)} in ${step.seconds.toFixed(1)} s${step.ok && step.detail ? `: ${step.detail}` : ''}`
    )
  ]
}

export function prDescription(input: DescriptionInput): string {
  const { changes, compatibility, checklist, plan, commands } = input
  const tick = (item: ChecklistItem) => `- [${item.ticked ? 'x' : ' '}] ${item.line}\n  — ${item.answer}`
  const lines: string[] = [
    `<!-- Written by \`npm run export\` of the actions-ortto repository; every finding below is computed. -->`,
    '',
    ...summary(input),
    '## What changes for users',
    '',
    `Against today's catalog entry (its published metadata, ${code(input.catalogFile)} in the exporting repository):`,
    '',
    ...(changes.length
      ? changes.map((change) => `- ${change.where}: ${change.change}`)
      : ['- nothing in the catalog entry changes']),
    '',
    '## Backward compatibility',
    '',
    compatibility.breaking.length
      ? `**${compatibility.breaking.length} breaking change(s)** for what customers have saved:`
      : 'Nothing customers have saved breaks: every row is compatible, or changes only what new mappings and new instances start from.',
    '',
    table(
      ['check', 'of', "today's catalog", 'this PR', 'verdict', 'why'],
      compatibility.rows.map((row) => [row.check, row.subject, row.today, row.proposed, row.verdict, row.note])
    ),
    '',
    '## Files',
    '',
    ...fileList('Added', plan.added),
    ...fileList('Changed', plan.changed),
    ...fileList('Removed', plan.removed),
    '## Testing',
    '',
    ...checklist.filter((item) => item.section === 'Testing').map(tick),
    '',
    ...whatWasRun(input.monorepo),
    '',
    'Commands of this repository, run from its root after committing the export:',
    '',
    ...commands.map((c) => `- ${code(c.command)}: ${c.proves}`),
    '',
    '## Security Review',
    '',
    ...checklist.filter((item) => item.section === 'Security Review').map(tick),
    '',
    '_The template\'s "Change Release Safety" and "Feature flag / Rollout" sections are the submitter\'s to answer._',
    ''
  ]
  return lines.join('\n')
}
