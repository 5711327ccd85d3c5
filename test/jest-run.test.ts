/**
 * What the root jest configuration sets for the whole run. Suites run in a worker process, never in
 * jest's own process, even with one worker (two cores): only a worker can be replaced when what
 * earlier suites left behind grows past `workerIdleMemoryLimit` (run here on throw-away suites that
 * each record the process they ran in). And every test may take 30 s, the time-out this very suite
 * runs with.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

const REPOSITORY = path.resolve(__dirname, '..')
const JEST = path.join(REPOSITORY, 'node_modules', 'jest', 'bin', 'jest.js')
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ROOT_CONFIG = require(path.join(REPOSITORY, 'jest.config.js')) as { workerIdleMemoryLimit?: string | number }

/** Runs three suites with one worker and the given memory limit; the pids each ran in, and jest's own. */
function runSuites(workerIdleMemoryLimit: string | number | undefined) {
  const dir = mkdtempSync(path.join(tmpdir(), 'jest-memory-'))
  try {
    for (const name of ['a', 'b', 'c']) {
      writeFileSync(
        path.join(dir, `${name}.test.js`),
        `test('records its process', () => require('fs').writeFileSync(${JSON.stringify(path.join(dir, `${name}.pid`))}, String(process.pid)))\n`
      )
    }
    const config = JSON.stringify({ rootDir: dir, testEnvironment: 'node', workerIdleMemoryLimit })
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir }
    const run = spawnSync(process.execPath, [JEST, '--maxWorkers=1', '--config', config], {
      cwd: dir,
      env,
      encoding: 'utf8'
    })
    const suitePids = readdirSync(dir)
      .filter((file) => file.endsWith('.pid'))
      .map((file) => Number(readFileSync(path.join(dir, file), 'utf8')))
    return { status: run.status, jestPid: run.pid, suitePids }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe("jest's time-out", () => {
  it('is 30 s for the tests of every project, this one included', () => {
    const state = Object.getOwnPropertySymbols(globalThis).find((symbol) => symbol.description === 'JEST_STATE_SYMBOL')
    expect(state).toBeDefined()
    const { testTimeout } = (globalThis as unknown as Record<symbol, { testTimeout: number }>)[state!]
    expect(testTimeout).toBe(30_000)
  })
})

describe("jest's memory bound", () => {
  it('makes jest run suites in a worker process, even with one worker', () => {
    const run = runSuites(ROOT_CONFIG.workerIdleMemoryLimit)
    expect(run.status).toBe(0)
    expect(run.suitePids).toHaveLength(3)
    for (const pid of run.suitePids) expect(pid).not.toBe(run.jestPid)
  })

  it("without it, one worker means every suite runs in jest's own process (what the setting prevents)", () => {
    const run = runSuites(undefined)
    expect(run.status).toBe(0)
    expect(run.suitePids).toEqual([run.jestPid, run.jestPid, run.jestPid])
  })
})
