// Mutation testing of the destination folders against their own tests: `npm run mutate`
// (docs/proof.md, "Mutation testing"), run in this package. Not part of `npm test` or CI: a full run
// takes over an hour on two cores. `npm run mutate -- --mutate src/destinations/ortto/client/requests.ts`
// runs one file (paths are relative to this package).
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const base = require('./jest.config.js')

/**
 * Known equivalent mutants: changes no test can notice, because no behaviour changes. The folders
 * carry no `// Stryker disable` comments (they ship to Segment as they are), and Stryker's ignore
 * plugins can only ignore a whole syntax node, every mutator and all inside it, which would hide
 * real mutants beside these; so these survive in Stryker's report, and the equivalent-mutants
 * reporter (scripts/equivalent-mutants.ts) reads each run against this list after it: the
 * survivors it explains, the score without them, the survivors it does not (a gap in the tests, or
 * an equivalent mutant to add here with its reason), and entries that matched nothing or were
 * killed. An entry names the file, text of the mutant's line, the mutator, when the line holds other
 * mutants of that mutator the code it replaces and the code it puts there, and why no behaviour
 * changes.
 */
const equivalentMutants = [
  {
    file: 'src/destinations/ortto/authentication.ts',
    line: 'return true',
    mutator: 'BooleanLiteral',
    replacement: 'false',
    why: "testAuthentication's return value: actions-core ignores it; only a throw fails the check."
  },
  {
    file: 'src/destinations/ortto/client/audiences.ts',
    line: 'const outside2xx = answer.status > 299 || answer.status < 200',
    mutator: 'ConditionalExpression',
    code: 'answer.status < 200',
    replacement: 'false',
    why: 'fetch never settles on a 1xx (interim) answer, so the status is never below 200.'
  },
  {
    file: 'src/destinations/ortto/client/requests.ts',
    line: 'if (outgoing.length <= MAX_OBJECTS_PER_REQUEST) {',
    mutator: 'BlockStatement',
    why: 'without the one-request shortcut the loop below builds the same bodies.'
  },
  {
    file: 'src/destinations/ortto/client/wire-objects.ts',
    line: 'const cleaned = !leaveOut && isRecord(entry) ? withoutEmptyKeys(entry, false) : entry',
    mutator: 'BooleanLiteral',
    code: 'false',
    replacement: 'true',
    why: 'nested levels would also drop undefined values, which JSON drops anyway: no byte sent differs.'
  },
  {
    file: 'src/destinations/ortto/client/wire-objects.ts',
    line: 'if (m) {',
    mutator: 'BlockStatement',
    why: 'without the canonical-timestamp fast path dayjs gives the same string.'
  }
]

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
    // (metadata.json, generated types, the field tables of docs/fields.md), and the default mappings by literal tests.
    // Every mutant there is static (it reruns all ~470 tests): half the run time, for text.
    '!src/destinations/**/fields.ts'
  ],
  jest: {
    projectType: 'custom',
    // The configuration below is the whole of it: package.json holds none, so no file is read in
    // Stryker's sandbox (where jest.config.js's path to the shared settings does not hold).
    configFile: 'package.json',
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
  ignorePatterns: ['/*', '!/src', '!/package.json', '!/tsconfig.json'],
  tempDirName: '.stryker-tmp',
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  // The reporter is compiled with the package's scripts (npm run mutate builds them first).
  plugins: ['@stryker-mutator/*', './dist/scripts/equivalent-mutants.js'],
  reporters: ['clear-text', 'progress', 'html', 'json', 'equivalent-mutants'],
  equivalentMutants,
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  // The dry run collects per-test coverage of ~450 tests on a loaded machine.
  dryRunTimeoutMinutes: 30,
  // Generous: on a loaded machine a slow but passing run must not count as a timeout (a kill).
  timeoutMS: 30_000,
  thresholds: { high: 95, low: 90, break: null }
}
