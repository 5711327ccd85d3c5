/**
 * What `npm run check:monorepo` established about the folder being exported, read from the report
 * it leaves: the PR's unit-test box is ticked only from a full, passing check of these very
 * contents (and of the folder they import from, whose code ran in the same tests).
 */
import { STEP_NAMES } from '../monorepo/steps'
import type { StepResult } from '../monorepo/steps'
import type { ReportReading } from '../monorepo/report'

export interface MonorepoEvidence {
  /** The report's file, as the PR's reader finds it. */
  file: string
  checkedAt?: string
  /** The report's steps, when it is of the exported contents; none otherwise. */
  steps: StepResult[]
  /** Why the report does not show the folder passing; absent when it does. */
  gap?: string
}

/**
 * `exported` holds the digest of each folder the PR's code comes from (the destination and what it
 * imports from), as the export reads them.
 */
export function monorepoEvidence(
  reading: ReportReading,
  file: string,
  exported: Record<string, string>
): MonorepoEvidence {
  if ('absent' in reading)
    return { file, steps: [], gap: `there is no report of \`npm run check:monorepo\` at ${file}` }
  if ('problem' in reading) return { file, steps: [], gap: `the report at ${file} cannot be used: ${reading.problem}` }
  const { report } = reading
  const differing = Object.keys(exported).filter((folder) => report.folders[folder] !== exported[folder])
  if (differing.length > 0) {
    return {
      file,
      checkedAt: report.checkedAt,
      steps: [],
      gap: `the report at ${file} (${report.checkedAt}) is of other contents of ${differing.map((f) => `${f}/`).join(' and ')} than those exported`
    }
  }
  const ran = report.steps.map((step) => step.name)
  const notRun = STEP_NAMES.filter((name) => !ran.includes(name))
  const failed = report.steps.filter((step) => !step.ok).map((step) => step.name)
  const gap = failed.length
    ? `\`npm run check:monorepo\` failed at ${failed.join(', ')} on ${report.checkedAt}`
    : notRun.length
      ? `\`npm run check:monorepo\` did not run ${notRun.join(', ')} on ${report.checkedAt}`
      : undefined
  return { file, checkedAt: report.checkedAt, steps: report.steps, gap }
}
