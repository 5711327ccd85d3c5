/**
 * Reads a Stryker run against the known equivalent mutants that stryker.config.mjs lists
 * (`equivalentMutants`). Stryker ignores one mutator's mutants at one place only through a
 * `// Stryker disable` comment in the code, which the destination folders do not carry, and its
 * ignore plugins ignore a whole syntax node (every mutator, everything inside it); so equivalent
 * mutants survive in Stryker's own report, and this reporter, run after it, says which survivors
 * the list explains, the score without them, which it does not, and which entries matched nothing.
 */

/** One equivalent mutant: where it is, which mutation, and why no behaviour changes. */
export interface EquivalentMutant {
  /** The mutated file, as the report names it (relative to the destinations package). */
  file: string
  /** Text of the line the mutant starts on. */
  line: string
  mutator: string
  /** When the line holds other mutants of the mutator: the code the mutant replaces (how it starts), */
  code?: string
  /** and the code it puts there. */
  replacement?: string
  why: string
}

/** The part of Stryker's report (mutation-testing-report-schema) read here. */
export interface MutationReport {
  files: Record<string, { source: string; mutants: ReportedMutant[] }>
}

interface ReportedMutant {
  mutatorName: string
  replacement?: string
  status: string
  /** Both 1-based. */
  location: { start: { line: number; column: number } }
}

/** A survivor (or uncovered mutant), where it is. */
export interface Survivor {
  file: string
  line: number
  column: number
  mutator: string
  replacement?: string
}

export interface Reading {
  /** Survivors the list explains, each with its entry. */
  equivalent: Array<{ survivor: Survivor; entry: EquivalentMutant }>
  /** Survivors it does not: a gap in the tests, or an equivalent mutant to list with its reason. */
  unexplained: Survivor[]
  /** Entries for a file the run mutated that matched no mutant at all: the code moved or changed. */
  stale: EquivalentMutant[]
  /** Entries whose mutant the tests detected: not equivalent after all. */
  refuted: EquivalentMutant[]
  /** Stryker's score, and the score with the explained survivors left out (percent; NaN with no mutant). */
  score: number
  scoreWithoutEquivalent: number
}

const DETECTED = new Set(['Killed', 'Timeout'])
const UNDETECTED = new Set(['Survived', 'NoCoverage'])

function matches(entry: EquivalentMutant, file: string, lines: string[], mutant: ReportedMutant): boolean {
  const { line, column } = mutant.location.start
  const text = lines[line - 1] ?? ''
  return (
    entry.file === file &&
    entry.mutator === mutant.mutatorName &&
    text.includes(entry.line) &&
    (entry.code === undefined || text.startsWith(entry.code, column - 1)) &&
    (entry.replacement === undefined || entry.replacement === mutant.replacement)
  )
}

export function readAgainstList(report: MutationReport, list: readonly EquivalentMutant[]): Reading {
  const reading: Reading = {
    equivalent: [],
    unexplained: [],
    stale: [],
    refuted: [],
    score: NaN,
    scoreWithoutEquivalent: NaN
  }
  const matched = new Set<EquivalentMutant>()
  const refuted = new Set<EquivalentMutant>()
  let detected = 0
  let undetected = 0
  for (const [file, { source, mutants }] of Object.entries(report.files)) {
    const lines = source.split('\n')
    for (const mutant of mutants) {
      const entry = list.find((candidate) => matches(candidate, file, lines, mutant))
      if (entry) matched.add(entry)
      if (DETECTED.has(mutant.status)) {
        detected++
        if (entry) refuted.add(entry)
      }
      if (!UNDETECTED.has(mutant.status)) continue
      undetected++
      const { mutatorName: mutator, replacement } = mutant
      const survivor: Survivor = { file, ...mutant.location.start, mutator, replacement }
      if (entry) reading.equivalent.push({ survivor, entry })
      else reading.unexplained.push(survivor)
    }
  }
  reading.stale = list.filter((entry) => entry.file in report.files && !matched.has(entry))
  reading.refuted = [...refuted]
  reading.score = (100 * detected) / (detected + undetected)
  reading.scoreWithoutEquivalent = (100 * detected) / (detected + undetected - reading.equivalent.length)
  return reading
}

const where = (s: Survivor) =>
  `${s.file}:${s.line}:${s.column} ${s.mutator}${s.replacement === undefined ? '' : ` → ${s.replacement}`}`

const entries = (title: string, list: EquivalentMutant[]) =>
  list.length === 0 ? [] : [title, ...list.map((entry) => `  ${entry.file}: ${entry.mutator} on "${entry.line}"`)]

/** The reading as the lines printed after Stryker's own report. */
export function describeReading(reading: Reading): string[] {
  const percent = (n: number) => (Number.isNaN(n) ? 'n/a' : `${n.toFixed(2)} %`)
  return [
    `Known equivalent mutants (stryker.config.mjs): ${reading.equivalent.length} of the survivors`,
    ...reading.equivalent.map(({ survivor, entry }) => `  ${where(survivor)}: ${entry.why}`),
    `Mutation score ${percent(reading.score)}; without the known equivalent mutants ${percent(reading.scoreWithoutEquivalent)}`,
    `Survivors not listed as equivalent: ${reading.unexplained.length}`,
    ...reading.unexplained.map((survivor) => `  ${where(survivor)}`),
    ...entries('Listed equivalent mutants that match no mutant of their file (update the list):', reading.stale),
    ...entries('Listed equivalent mutants the tests killed (not equivalent: remove them):', reading.refuted)
  ]
}

/** The Stryker reporter plugin (`reporters: ['equivalent-mutants']`), loaded from dist/ by `npm run mutate`. */
class EquivalentMutantsReporter {
  static inject = ['options'] as const
  constructor(private readonly options: { equivalentMutants?: EquivalentMutant[] }) {}

  onMutationTestReportReady(report: MutationReport): void {
    const reading = readAgainstList(report, this.options.equivalentMutants ?? [])
    console.log(`\n${describeReading(reading).join('\n')}`)
  }
}

export const strykerPlugins = [
  { kind: 'Reporter', name: 'equivalent-mutants', injectableClass: EquivalentMutantsReporter }
]

/** Lets Stryker accept the `equivalentMutants` option instead of warning about an unknown one. */
export const strykerValidationSchema = {
  $schema: 'http://json-schema.org/draft-07/schema',
  type: 'object',
  properties: {
    equivalentMutants: {
      type: 'array',
      items: {
        type: 'object',
        required: ['file', 'line', 'mutator', 'why'],
        properties: {
          file: { type: 'string' },
          line: { type: 'string' },
          mutator: { type: 'string' },
          code: { type: 'string' },
          replacement: { type: 'string' },
          why: { type: 'string' }
        },
        additionalProperties: false
      }
    }
  }
}
