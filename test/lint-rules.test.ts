/**
 * The lint rules that keep the packages apart (eslint.config.mjs, "Package boundaries") and the
 * destinations package at ES2020: each snippet is linted with the repository's configuration as
 * if it were a file of the package named, and must be refused, with the rule's message, or let
 * through.
 */
import { spawnSync } from 'node:child_process'
import * as path from 'node:path'

const LINT_SNIPPETS = path.join(__dirname, 'helpers', 'lint-snippets.mjs')

/** Where a snippet is linted: a real file of each package, so its own configuration applies. */
const FILES = {
  pipeline: 'packages/local-pipeline/src/pipeline/config.ts',
  pipelineTest: 'packages/local-pipeline/src/pipeline/__tests__/server.test.ts',
  sandbox: 'packages/ortto-sandbox/src/sandbox/server.ts',
  sandboxTest: 'packages/ortto-sandbox/src/sandbox/__tests__/contract.test.ts',
  sharedTestHelper: 'test/helpers/http-client.ts',
  destinationsScript: 'packages/destinations/scripts/generate.ts',
  destinationsTest: 'packages/destinations/test/package-entry.test.ts',
  audiences: 'packages/destinations/src/destinations/ortto-audiences/audiences.ts',
  audiencesAction: 'packages/destinations/src/destinations/ortto-audiences/syncAudience/membership.ts',
  orttoAction: 'packages/destinations/src/destinations/ortto/trackActivity/index.ts'
}

/** What a snippet does (the test's name) and its code. */
type Snippet = { what: string; code: string }
type Case = [where: keyof typeof FILES, snippet: Snippet, verdict: RegExp | 'allowed']

/** The rules under test; what other rules say of a snippet (an unused name, an unknown module) is not. */
const RULES = new Set(['no-restricted-imports', 'no-restricted-globals', 'no-restricted-properties'])

const THROUGH_THE_DOOR = /only through its public module, `from 'actions-ortto'`/
const THROUGH_THE_SANDBOX_DOOR = /only through its public module, `from 'ortto-sandbox'`/
const NOT_THE_PIPELINE = /import nothing of it/
const NOT_THE_SANDBOX = /imports nothing of the sandbox/
const ONLY_SANDBOX_TESTS = /only its tests use the destinations/
const THROUGH_THE_CLIENT_INDEX = /only through its index: `from '\.\.\/ortto\/client'`/
const NOT_IN_ES2020 = /Not in ES2020/

const imports = (specifier: string): Snippet => ({
  what: `import '${specifier}'`,
  code: `import * as imported from '${specifier}'\nexport const used = imported\n`
})
const uses = (expression: string): Snippet => ({ what: expression, code: `export const used = ${expression}\n` })

const CASES: Case[] = [
  ['pipeline', imports('actions-ortto'), 'allowed'],
  ['pipeline', imports('ortto-sandbox'), 'allowed'],
  ['pipeline', imports('./destinations'), 'allowed'],
  ['pipeline', imports('actions-ortto/src/destinations/ortto/client/api-key'), THROUGH_THE_DOOR],
  ['pipeline', imports('../../../destinations/src/destinations/ortto/constants'), THROUGH_THE_DOOR],
  [
    'pipelineTest',
    imports('../../../../destinations/src/destinations/ortto/__tests__/__helpers__/ortto'),
    THROUGH_THE_DOOR
  ],
  ['pipelineTest', imports('../../../../destinations/test/properties/support'), THROUGH_THE_DOOR],
  ['pipeline', imports('ortto-sandbox/src/sandbox/faults'), THROUGH_THE_SANDBOX_DOOR],
  ['pipeline', imports('../../../ortto-sandbox/src/http/http-io'), THROUGH_THE_SANDBOX_DOOR],
  ['sandbox', imports('./store'), 'allowed'],
  ['sandbox', imports('ortto-local-pipeline'), NOT_THE_PIPELINE],
  ['sandbox', imports('actions-ortto'), ONLY_SANDBOX_TESTS],
  ['sandboxTest', imports('../../../../local-pipeline/test/helpers/pipeline-helpers'), NOT_THE_PIPELINE],
  ['sandboxTest', imports('actions-ortto'), 'allowed'],
  ['sandboxTest', imports('../../../../destinations/src/destinations/ortto/client/batch-answer'), THROUGH_THE_DOOR],
  ['sharedTestHelper', imports('ortto-sandbox'), 'allowed'],
  ['sharedTestHelper', imports('../../packages/destinations/src/destinations/ortto/client/json'), THROUGH_THE_DOOR],
  ['sharedTestHelper', imports('../../packages/local-pipeline/src/pipeline/json'), NOT_THE_PIPELINE],
  ['destinationsScript', imports('../src/destinations/ortto'), 'allowed'],
  ['destinationsScript', imports('ortto-sandbox'), NOT_THE_SANDBOX],
  ['destinationsTest', imports('../../ortto-sandbox/src/sandbox'), NOT_THE_SANDBOX],
  ['destinationsTest', imports('ortto-local-pipeline'), NOT_THE_PIPELINE],
  ['audiences', imports('../ortto/client'), 'allowed'],
  ['audiences', imports('../ortto/constants'), 'allowed'],
  ['audiences', imports('../ortto/client/api-key'), THROUGH_THE_CLIENT_INDEX],
  ['audiencesAction', imports('../../ortto/client/wire-objects'), THROUGH_THE_CLIENT_INDEX],
  ['audiencesAction', imports('ortto-sandbox'), NOT_THE_SANDBOX],
  ['orttoAction', imports('../client/deliver'), 'allowed'],
  ['destinationsScript', uses('structuredClone({ a: 1 })'), NOT_IN_ES2020],
  ['destinationsTest', uses("Object.hasOwn({ a: 1 }, 'a')"), NOT_IN_ES2020],
  ['audiences', uses('structuredClone({ a: 1 })'), NOT_IN_ES2020],
  ['pipeline', uses('structuredClone({ a: 1 })'), 'allowed']
]

let verdicts: string[][]

beforeAll(() => {
  const snippets = CASES.map(([where, { code }]) => ({ filePath: FILES[where], code }))
  const run = spawnSync(process.execPath, [LINT_SNIPPETS], { input: JSON.stringify(snippets), encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`lint-snippets failed: ${run.stderr}`)
  const results = JSON.parse(run.stdout) as Array<Array<{ ruleId: string | null; message: string }>>
  verdicts = results.map((messages) =>
    messages.filter((m) => m.ruleId !== null && RULES.has(m.ruleId)).map((m) => m.message)
  )
}, 120_000)

it.each(CASES.map(([where, { what }, verdict], i) => [where, what, verdict, i] as const))(
  '%s: %s → %s',
  (_where, _what, verdict, i) => {
    if (verdict === 'allowed') expect(verdicts[i]).toEqual([])
    else expect(verdicts[i]).toEqual([expect.stringMatching(verdict)])
  }
)
