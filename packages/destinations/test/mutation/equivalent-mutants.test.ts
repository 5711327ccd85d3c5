/**
 * The list of known equivalent mutants (stryker.config.mjs) and the reporter that reads a Stryker
 * run against it (scripts/equivalent-mutants.ts).
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import * as path from 'node:path'
import { describeReading, readAgainstList } from '../../scripts/equivalent-mutants'
import type { EquivalentMutant, MutationReport } from '../../scripts/equivalent-mutants'

const PACKAGE = path.join(__dirname, '..', '..')

const SOURCE = ['const a = 1', 'if (ready) {', '  go(!done, false)', '}'].join('\n')

/** A mutant of SOURCE starting at `line`:`column` (both 1-based, as Stryker reports them). */
const mutant = (line: number, column: number, mutatorName: string, status: string, replacement?: string) => ({
  mutatorName,
  replacement,
  status,
  location: { start: { line, column } }
})

const LIST: EquivalentMutant[] = [
  { file: 'src/a.ts', line: 'if (ready) {', mutator: 'BlockStatement', why: 'the block is a shortcut' },
  {
    file: 'src/a.ts',
    line: 'go(!done, false)',
    mutator: 'BooleanLiteral',
    code: 'false',
    replacement: 'true',
    why: 'the flag is moot'
  },
  {
    file: 'src/a.ts',
    line: 'go(!done, false)',
    mutator: 'ConditionalExpression',
    code: 'done',
    replacement: 'false',
    why: 'a place with no such mutant'
  },
  { file: 'src/a.ts', line: 'const a = 1', mutator: 'ArithmeticOperator', why: 'nothing to mutate there' },
  { file: 'src/b.ts', line: 'anything', mutator: 'BlockStatement', why: 'a file this run did not mutate' }
]

describe('readAgainstList', () => {
  const report: MutationReport = {
    files: {
      'src/a.ts': {
        source: SOURCE,
        mutants: [
          mutant(2, 12, 'BlockStatement', 'Survived', '{}'),
          mutant(2, 5, 'ConditionalExpression', 'Killed', 'true'),
          mutant(3, 13, 'BooleanLiteral', 'Survived', 'true'),
          mutant(3, 6, 'BooleanLiteral', 'NoCoverage', 'done'),
          mutant(3, 6, 'ConditionalExpression', 'Survived', 'false'),
          mutant(3, 6, 'ConditionalExpression', 'Timeout', 'true'),
          mutant(1, 11, 'StringLiteral', 'Ignored', '""')
        ]
      }
    }
  }

  it('explains the survivors an entry names by file, line, mutator, code and replacement', () => {
    const reading = readAgainstList(report, LIST)
    expect(reading.equivalent.map(({ survivor, entry }) => [survivor, entry.why])).toEqual([
      [
        { file: 'src/a.ts', line: 2, column: 12, mutator: 'BlockStatement', replacement: '{}' },
        'the block is a shortcut'
      ],
      [{ file: 'src/a.ts', line: 3, column: 13, mutator: 'BooleanLiteral', replacement: 'true' }, 'the flag is moot']
    ])
    // The other mutants of that line: `!done` → `done` replaces other code than the entry names,
    // and the ConditionalExpression listed starts at `done`, not at `!done`.
    expect(reading.unexplained).toEqual([
      { file: 'src/a.ts', line: 3, column: 6, mutator: 'BooleanLiteral', replacement: 'done' },
      { file: 'src/a.ts', line: 3, column: 6, mutator: 'ConditionalExpression', replacement: 'false' }
    ])
  })

  it('scores as Stryker does (detected of detected and undetected), and again without the equivalent ones', () => {
    const reading = readAgainstList(report, LIST)
    expect(reading.score).toBeCloseTo((100 * 2) / 6)
    expect(reading.scoreWithoutEquivalent).toBeCloseTo((100 * 2) / 4)
  })

  it('names entries that match no mutant of a file the run mutated, not those of files it did not', () => {
    expect(readAgainstList(report, LIST).stale.map((entry) => entry.why)).toEqual([
      'a place with no such mutant',
      'nothing to mutate there'
    ])
  })

  it('names entries whose mutant the tests killed', () => {
    const killed: MutationReport = {
      files: { 'src/a.ts': { source: SOURCE, mutants: [mutant(2, 12, 'BlockStatement', 'Killed', '{}')] } }
    }
    const reading = readAgainstList(killed, LIST)
    expect(reading.refuted.map((entry) => entry.why)).toEqual(['the block is a shortcut'])
    expect(reading.equivalent).toEqual([])
    expect(describeReading(reading)).toContain(
      'Listed equivalent mutants the tests killed (not equivalent: remove them):'
    )
  })

  it('prints each explained survivor with its reason, the two scores and each unexplained survivor', () => {
    expect(describeReading(readAgainstList(report, LIST))).toEqual([
      'Known equivalent mutants (stryker.config.mjs): 2 of the survivors',
      '  src/a.ts:2:12 BlockStatement → {}: the block is a shortcut',
      '  src/a.ts:3:13 BooleanLiteral → true: the flag is moot',
      'Mutation score 33.33 %; without the known equivalent mutants 50.00 %',
      'Survivors not listed as equivalent: 2',
      '  src/a.ts:3:6 BooleanLiteral → done',
      '  src/a.ts:3:6 ConditionalExpression → false',
      'Listed equivalent mutants that match no mutant of their file (update the list):',
      '  src/a.ts: ConditionalExpression on "go(!done, false)"',
      '  src/a.ts: ArithmeticOperator on "const a = 1"'
    ])
  })
})

describe("stryker.config.mjs's list", () => {
  // The configuration is an ES module: read it the way Stryker does, in a process of its own.
  const listed = JSON.parse(
    execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        'const { default: c } = await import("./stryker.config.mjs"); console.log(JSON.stringify(c))'
      ],
      { cwd: PACKAGE, encoding: 'utf8' }
    )
  ) as { equivalentMutants: EquivalentMutant[]; reporters: string[] }

  it('is read by the equivalent-mutants reporter', () => {
    expect(listed.reporters).toContain('equivalent-mutants')
    expect(listed.equivalentMutants.length).toBeGreaterThan(0)
  })

  it.each(listed.equivalentMutants.map((entry) => [entry.file, entry.line, entry] as const))(
    '%s: "%s" names exactly one line of the file (holding the code named), and says why',
    (file, line, entry) => {
      const named = readFileSync(path.join(PACKAGE, file), 'utf8')
        .split('\n')
        .filter((text) => text.includes(line))
      expect(named).toHaveLength(1)
      expect(named[0]).toContain(entry.code ?? '')
      expect(entry.why.length).toBeGreaterThan(20)
    }
  )
})
