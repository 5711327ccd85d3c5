/**
 * The answers to the action-destinations PR template's checklist. A box is ticked only when what
 * it says was established from data: by the export itself, or for the unit tests by a passing
 * `check:monorepo` report of the exported contents. What nothing here can run (the local server
 * with a real Ortto key) stays unticked, with the command to run.
 */
import type { CatalogMetadata, FieldMetadata } from './catalog-metadata'
import type { CompatibilityReport } from './compatibility'
import { repositoryCommands } from './commands'
import { code, keys } from './markdown'
import type { MonorepoEvidence } from './monorepo-evidence'

export interface ChecklistItem {
  section: 'Testing' | 'Security Review'
  /** The template's wording of the box. */
  line: string
  ticked: boolean
  answer: string
}

/**
 * A setting is secret-like when a word of its key (split at anything not a letter or digit) is
 * one of these: the rule Segment's secret-field check applies to settings, which a ticked
 * security box tells it to skip.
 */
const SECRET_WORDS = ['key', 'token', 'secret', 'password', 'code']

export function secretLike(key: string): boolean {
  return key.split(/[^A-Za-z0-9]+/).some((word) => SECRET_WORDS.includes(word.toLowerCase()))
}

function unitTestItem(
  testSuites: string[],
  evidence: MonorepoEvidence,
  yarnTest: string
): Omit<ChecklistItem, 'section' | 'line'> {
  const suites = `${testSuites.length} test suites (${keys(testSuites)})`
  if (evidence.gap !== undefined) {
    return {
      ticked: false,
      answer:
        `**not ticked**: ${evidence.gap}. The folder carries ${suites}. Run \`npm run check:monorepo\` and export ` +
        `again (it runs them under this repository's jest 27), or run ${yarnTest} here, and tick it when they pass.`
    }
  }
  const jest = evidence.steps.find((step) => step.name === 'jest')
  return {
    ticked: true,
    answer:
      `run by \`npm run check:monorepo\` on ${evidence.checkedAt ?? 'its date'} on these very contents: the ${suites} ` +
      `under this repository's jest 27, ts-jest and nock 13 (its run over all our folders: ${jest?.detail ?? ''}); every step of that check passed (see "What was run").`
  }
}

function securityItem(proposed: CatalogMetadata): ChecklistItem {
  const groups: Array<[string, Record<string, FieldMetadata>]> = [
    ['settings', proposed.authentication?.fields ?? {}],
    ['audience fields', proposed.audienceConfig?.audienceFields ?? {}]
  ]
  const secret = groups.flatMap(([group, fields]) =>
    Object.entries(fields)
      .filter(([key]) => secretLike(key))
      .map(([key, field]) => ({ group, key, password: field.type === 'password' }))
  )
  const exposed = secret.filter((field) => !field.password)
  const checked = groups.map(([group, fields]) => `${group} (${keys(Object.keys(fields))})`).join(' and ')
  return {
    section: 'Security Review',
    line: "**Reviewed all field definitions** for sensitive data (API keys, tokens, passwords, client secrets) and confirmed they use `type: 'password'`",
    ticked: exposed.length === 0,
    answer: exposed.length
      ? `**not ticked**: secret-like ${keys(exposed.map((field) => field.key))} ${exposed.length > 1 ? 'are' : 'is'} not of type password.`
      : `checked by the export over the ${checked}: the secret-like ones (${keys(secret.map((f) => f.key))}) are of type password.`
  }
}

export function checklist(input: {
  folder: string
  proposed: CatalogMetadata
  compatibility: CompatibilityReport
  testSuites: string[]
  monorepo: MonorepoEvidence
}): ChecklistItem[] {
  const { folder, proposed, compatibility, testSuites, monorepo } = input
  const commands = repositoryCommands(folder)
  const commandFor = (start: string) => code(commands.find((c) => c.command.startsWith(start))?.command ?? start)
  const actionKeys = Object.keys(proposed.actions)
  return [
    {
      section: 'Testing',
      line: 'Added [unit tests](https://github.com/segmentio/action-destinations/blob/main/docs/testing.md#local-end-to-end-testing) for new functionality',
      ...unitTestItem(testSuites, monorepo, commandFor('yarn cloud test'))
    },
    {
      section: 'Testing',
      line: 'Tested end-to-end using the [local server](https://github.com/segmentio/action-destinations/blob/main/docs/testing.md#local-end-to-end-testing)',
      ticked: false,
      answer:
        `**not ticked by the export**: it needs an Ortto key of a test data source. Run ${commandFor('./bin/run serve')}, ` +
        `send each action (${keys(actionKeys)}) one event and a batch, and tick it when Ortto shows them.`
    },
    {
      section: 'Testing',
      line: '[If destination is already live] Tested for backward compatibility of destination. **Note:** New required fields are a breaking change.',
      ticked: compatibility.breaking.length === 0,
      answer: compatibility.breaking.length
        ? `**not ticked**: against today's published catalog metadata, ${compatibility.breaking.join('; ')}.`
        : "compared by the export with today's published catalog metadata: every action key and field key kept, " +
          'no new required field, no field or setting validating more strictly (table above).'
    },
    {
      section: 'Testing',
      line: '[Segmenters] Tested in the staging environment',
      ticked: false,
      answer: 'for Segment.'
    },
    {
      section: 'Testing',
      line: '[Segmenters] [If applicable for this change] Tested for regression with Hadron.',
      ticked: false,
      answer: 'for Segment.'
    },
    securityItem(proposed)
  ]
}
