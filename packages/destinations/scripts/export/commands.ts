/**
 * The action-destinations repository's own commands for one destination folder, run from the
 * checkout's root: what the submitter runs before opening the PR (the export cannot run them:
 * they need that repository's install and build).
 */
import { DESTINATIONS_DIR } from './destinations'

export interface RepositoryCommand {
  command: string
  proves: string
}

export function repositoryCommands(folder: string): RepositoryCommand[] {
  const dir = `${DESTINATIONS_DIR}/${folder}`
  return [
    {
      command: 'yarn install --frozen-lockfile && yarn build',
      proves: 'the package builds (one type error anywhere and it emits nothing)'
    },
    {
      command: `./bin/run generate:types && git status --porcelain ${dir}`,
      proves: 'no generated-types.ts changes (CI: assert-types-updated)'
    },
    {
      command: `./bin/run generate:metadata-payload && git status --porcelain ${dir}`,
      proves: 'metadata.json does not change (CI: assert-metadata-payload)'
    },
    {
      command: './bin/run validate',
      proves: 'every definition passes the CLI’s checks (presets against actions, field shapes)'
    },
    {
      command: `yarn cloud test --testPathPattern=src/destinations/${folder}/`,
      proves: 'the folder’s jest suites pass under the repository’s jest'
    },
    {
      command: `yarn eslint '${dir}/**/*.ts' && yarn prettier --check '${dir}/**/*.ts'`,
      proves: 'lint and formatting'
    },
    {
      command: `./bin/run list-required-fields -p ${dir}/index.ts`,
      proves: 'the required fields the Required Field Check compares with main'
    },
    { command: `./bin/run serve --destination=${folder}`, proves: 'the local server for the end-to-end test' }
  ]
}
