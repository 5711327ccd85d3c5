/**
 * The lint rules that keep the packages apart (eslint.config.mjs, "Package boundaries"): each
 * snippet is linted with the repository's configuration as if it were a file of the package
 * named, and must be refused, with the rule's message, or let through.
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

type Case = [where: keyof typeof FILES, specifier: string, verdict: RegExp | 'allowed']

const THROUGH_THE_DOOR = /only through its public module, `from 'actions-ortto'`/
const THROUGH_THE_SANDBOX_DOOR = /only through its public module, `from 'ortto-sandbox'`/
const NOT_THE_PIPELINE = /import nothing of it/
const NOT_THE_SANDBOX = /imports nothing of the sandbox/
const THROUGH_THE_CLIENT_INDEX = /only through its index: `from '\.\.\/ortto\/client'`/

const CASES: Case[] = [
  ['pipeline', 'actions-ortto', 'allowed'],
  ['pipeline', 'ortto-sandbox', 'allowed'],
  ['pipeline', './destinations', 'allowed'],
  ['pipeline', 'actions-ortto/src/destinations/ortto/client/api-key', THROUGH_THE_DOOR],
  ['pipeline', '../../../destinations/src/destinations/ortto/constants', THROUGH_THE_DOOR],
  ['pipelineTest', '../../../../destinations/src/destinations/ortto/__tests__/__helpers__/ortto', THROUGH_THE_DOOR],
  ['pipelineTest', '../../../../destinations/test/properties/support', THROUGH_THE_DOOR],
  ['pipeline', 'ortto-sandbox/src/sandbox/faults', THROUGH_THE_SANDBOX_DOOR],
  ['pipeline', '../../../ortto-sandbox/src/http/http-io', THROUGH_THE_SANDBOX_DOOR],
  ['sandbox', './store', 'allowed'],
  ['sandbox', 'ortto-local-pipeline', NOT_THE_PIPELINE],
  ['sandboxTest', '../../../../local-pipeline/test/helpers/pipeline-helpers', NOT_THE_PIPELINE],
  ['sandboxTest', 'actions-ortto', 'allowed'],
  ['sandboxTest', '../../../../destinations/src/destinations/ortto/client/batch-answer', THROUGH_THE_DOOR],
  ['sharedTestHelper', 'ortto-sandbox', 'allowed'],
  ['sharedTestHelper', '../../packages/destinations/src/destinations/ortto/client/json', THROUGH_THE_DOOR],
  ['sharedTestHelper', '../../packages/local-pipeline/src/pipeline/json', NOT_THE_PIPELINE],
  ['destinationsScript', '../src/destinations/ortto', 'allowed'],
  ['destinationsScript', 'ortto-sandbox', NOT_THE_SANDBOX],
  ['destinationsTest', '../../ortto-sandbox/src/sandbox', NOT_THE_SANDBOX],
  ['destinationsTest', 'ortto-local-pipeline', NOT_THE_PIPELINE],
  ['audiences', '../ortto/client', 'allowed'],
  ['audiences', '../ortto/constants', 'allowed'],
  ['audiences', '../ortto/client/api-key', THROUGH_THE_CLIENT_INDEX],
  ['audiencesAction', '../../ortto/client/wire-objects', THROUGH_THE_CLIENT_INDEX],
  ['audiencesAction', 'ortto-sandbox', NOT_THE_SANDBOX],
  ['orttoAction', '../client/deliver', 'allowed']
]

let verdicts: string[][]

beforeAll(() => {
  const snippets = CASES.map(([where, specifier]) => ({
    filePath: FILES[where],
    code: `import * as imported from '${specifier}'\nexport const used = imported\n`
  }))
  const run = spawnSync(process.execPath, [LINT_SNIPPETS], { input: JSON.stringify(snippets), encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`lint-snippets failed: ${run.stderr}`)
  const results = JSON.parse(run.stdout) as Array<Array<{ ruleId: string | null; message: string }>>
  verdicts = results.map((messages) =>
    messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message)
  )
}, 120_000)

it.each(CASES.map((c, i) => [...c, i] as const))('%s: import %j → %s', (_where, _specifier, verdict, i) => {
  if (verdict === 'allowed') expect(verdicts[i]).toEqual([])
  else expect(verdicts[i]).toEqual([expect.stringMatching(verdict)])
})
