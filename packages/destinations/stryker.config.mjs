// Mutation testing of the destination folders against their own tests: `npm run mutate`
// (README, "Mutation testing"). Not part of `npm test` or CI: a full run takes over an hour on
// two cores. `npm run mutate -- --mutate src/destinations/ortto/client/requests.ts` runs one file.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const base = require('../../jest.config.js')

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'jest',
  coverageAnalysis: 'perTest',
  // Static mutants (module-level values: regexes, message constants, definition objects) run once
  // at load, so each one reruns every test: a sixth of the mutants, two fifths of the time.
  // They are included; `npm run mutate -- --ignoreStatic` leaves them out for a quicker run.
  ignoreStatic: false,
  // Two cores, often shared: more workers only queue behind each other.
  concurrency: 2,
  mutate: [
    'src/destinations/**/*.ts',
    // Tests and their helpers are the judges, not the judged; generated types have no behaviour.
    '!src/destinations/**/__tests__/**',
    '!src/destinations/**/generated-types.ts',
    // Field declarations: labels and descriptions are catalog text, pinned by check:generated
    // (metadata.json, generated types, README tables), and the default mappings by literal tests.
    // Every mutant there is static (it reruns all ~470 tests): half the run time, for text.
    '!src/destinations/**/fields.ts'
  ],
  jest: {
    projectType: 'custom',
    // Only the destination folders' own tests: the suites that travel with them into Segment's
    // repository. The pipeline, sandbox and property suites would kill more, but they do not
    // ship with the folders, so a mutant only they kill is a gap in the folders' tests.
    config: {
      ...base,
      roots: ['<rootDir>/src/destinations'],
      testMatch: ['**/__tests__/**/*.test.ts'],
      // Transpile only, as Segment's repository runs these tests: a mutant that breaks a type
      // must still be judged by behaviour (Stryker also turns type checks off in mutated files).
      transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true } }] }
    }
  },
  // Stryker copies the project into a sandbox per worker; only what the tests read is needed.
  ignorePatterns: ['/*', '!/src', '!/test', '!/jest.config.js', '!/package.json', '!/tsconfig.json'],
  tempDirName: '.stryker-tmp',
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // The dry run collects per-test coverage of ~450 tests on a loaded machine.
  dryRunTimeoutMinutes: 30,
  // Generous: on a loaded machine a slow but passing run must not count as a timeout (a kill).
  timeoutMS: 30_000,
  thresholds: { high: 95, low: 90, break: null }
}
