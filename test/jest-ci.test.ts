/**
 * `npm test` runs jest as the `test:unit` script says. Without CI mode, jest writes a snapshot
 * that is missing and passes; with it (`--ci`), a missing snapshot fails the run, whether or not
 * the CI variable is set. This runs jest with the script's own arguments on a throw-away suite
 * whose snapshot is missing, with the CI variables cleared.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const REPOSITORY = path.resolve(__dirname, '..')
const JEST = path.join(REPOSITORY, 'node_modules', 'jest', 'bin', 'jest.js')

/** The jest arguments of an npm script, without the ones that write the results file. */
function jestArgumentsOf(script: string): string[] {
  const scripts = (
    JSON.parse(readFileSync(path.join(REPOSITORY, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>
    }
  ).scripts
  const words = scripts[script].split(/\s+/)
  expect(words[0]).toBe('jest')
  return words.slice(1).filter((word) => word !== '--json' && !word.startsWith('--outputFile'))
}

function runJestOnMissingSnapshot(args: string[]) {
  const dir = mkdtempSync(path.join(tmpdir(), 'jest-ci-'))
  try {
    writeFileSync(path.join(dir, 'probe.test.js'), "test('probe', () => expect({ a: 1 }).toMatchSnapshot())\n")
    const config = JSON.stringify({ rootDir: dir, testEnvironment: 'node' })
    // Only what jest needs: no CI variable of any kind, so only the arguments decide.
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir }
    const run = spawnSync(process.execPath, [JEST, ...args, '--config', config], { cwd: dir, env, encoding: 'utf8' })
    return {
      status: run.status,
      output: `${run.stdout}${run.stderr}`,
      wroteSnapshot: existsSync(path.join(dir, '__snapshots__', 'probe.test.js.snap'))
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('jest in CI mode', () => {
  it('test:unit fails on a missing snapshot instead of writing it', () => {
    const run = runJestOnMissingSnapshot(jestArgumentsOf('test:unit'))
    expect(run.output).toContain('New snapshot was not written')
    expect(run.wroteSnapshot).toBe(false)
    expect(run.status).toBe(1)
  })

  it('without --ci, the same run writes the snapshot and passes (what the flag prevents)', () => {
    const run = runJestOnMissingSnapshot([])
    expect(run.wroteSnapshot).toBe(true)
    expect(run.status).toBe(0)
  })
})
