/**
 * What a full `npm run check:monorepo` leaves behind for `npm run export`: when it ran, a digest
 * of each folder it checked, and each step's result. The export ticks the PR's unit-test box only
 * from a passing report of the exact contents it ships.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { STEP_NAMES } from './steps'
import type { StepResult } from './steps'

export interface MonorepoReport {
  ok: boolean
  /** ISO time the check finished. */
  checkedAt: string
  /** folderDigest of each destination folder checked, by folder name. */
  folders: Record<string, string>
  steps: StepResult[]
}

/** Where a full check of our own folders writes its report, from the package's root (git ignores reports/). */
export const REPORT_FILE = path.join('reports', 'monorepo-check.json')

export function writeReport(file: string, report: MonorepoReport): void {
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`)
}

export type ReportReading = { report: MonorepoReport } | { absent: true } | { problem: string }

const isStep = (value: unknown): value is StepResult => {
  const step = value as StepResult
  return (
    typeof step === 'object' &&
    step !== null &&
    (STEP_NAMES as readonly string[]).includes(step.name) &&
    typeof step.ok === 'boolean' &&
    typeof step.seconds === 'number' &&
    typeof step.detail === 'string'
  )
}

export function readReport(file: string): ReportReading {
  if (!existsSync(file)) return { absent: true }
  let parsed: MonorepoReport
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as MonorepoReport
  } catch (error) {
    return { problem: `it is not JSON (${error instanceof Error ? error.message : String(error)})` }
  }
  const wellFormed =
    typeof parsed === 'object' &&
    parsed !== null &&
    typeof parsed.ok === 'boolean' &&
    typeof parsed.checkedAt === 'string' &&
    typeof parsed.folders === 'object' &&
    parsed.folders !== null &&
    Array.isArray(parsed.steps) &&
    parsed.steps.every(isStep)
  return wellFormed ? { report: parsed } : { problem: 'it is not a report `npm run check:monorepo` writes' }
}
