/**
 * A stand-in for a checkout of Segment's action-destinations repository, in a temporary folder:
 * its root package.json, the destinations folder with index.ts, upstream's old `ortto/` and
 * `ortto-audiences/` (their own client, utils, types, jest 27 snapshots) and a sibling
 * destination the export must not touch. Optionally a git work tree with everything committed.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

export const REPOSITORY = path.join(__dirname, '..', '..')
export const DESTINATIONS = 'packages/destination-actions/src/destinations'

export interface FixtureCheckout {
  root: string
  /** packages/destination-actions/src/destinations inside it. */
  destinationsDir: string
  write(relative: string, text: string): void
  git(...args: string[]): string
  remove(): void
}

const STALE_ORTTO: Record<string, string> = {
  'index.ts': "import OrttoClient from './ortto-client'\nexport default { name: 'Ortto (Actions)' }\n",
  'ortto-client.ts': 'export default class OrttoClient {}\n',
  'utils.ts': 'export const cleanObject = () => ({})\n',
  'common-fields.ts': 'export const commonFields = {}\n',
  'types.ts': 'export type Contact = { id: string }\n',
  '__tests__/__snapshots__/snapshot.test.ts.snap': '// Jest Snapshot v1, https://goo.gl/fbAQLP\n',
  'upsertContactProfile/index.ts': 'export default {}\n',
  'upsertContactProfile/__tests__/__snapshots__/snapshot.test.ts.snap': '// Jest Snapshot v1, https://goo.gl/fbAQLP\n'
}

const STALE_AUDIENCES: Record<string, string> = {
  'index.ts': "import OrttoClient from './ortto-client'\nexport default { name: 'Ortto (Audiences)' }\n",
  'ortto-client.ts': 'export default class OrttoClient {}\n',
  'utils.ts': 'export const cleanObject = () => ({})\n',
  'types.ts': 'export type Member = { id: string }\n',
  'payload.json': '{}\n',
  'syncAudience/__tests__/__snapshots__/snapshot.test.ts.snap': '// Jest Snapshot v1, https://goo.gl/fbAQLP\n'
}

export const SIBLING: Record<string, string> = {
  'index.ts': "export default { name: 'Webhook' }\n",
  'send/index.ts': 'export default {}\n',
  '__tests__/__snapshots__/snapshot.test.ts.snap': '// Jest Snapshot v1, https://goo.gl/fbAQLP\n'
}

export function createCheckout(options: { registered?: boolean; git?: boolean } = {}): FixtureCheckout {
  const root = mkdtempSync(path.join(tmpdir(), 'action-destinations-'))
  const destinationsDir = path.join(root, DESTINATIONS)
  const write = (relative: string, text: string) => {
    const file = path.join(root, relative)
    mkdirSync(path.dirname(file), { recursive: true })
    writeFileSync(file, text)
  }
  const git = (...args: string[]) =>
    execFileSync(
      'git',
      ['-c', 'user.name=fixture', '-c', 'user.email=fixture@example.com', '-c', 'commit.gpgsign=false', ...args],
      {
        cwd: root,
        encoding: 'utf8'
      }
    )

  write(
    'package.json',
    JSON.stringify({ name: 'action-destinations', private: true, workspaces: { packages: ['packages/*'] } })
  )
  write('packages/destination-actions/package.json', JSON.stringify({ name: '@segment/action-destinations' }))
  const registrations = ["register('614a3c7d791c91c41bae7599', './webhook')"]
  if (options.registered !== false) {
    registrations.push(
      "register('682db7017819e7e055f55cb4', './ortto')",
      "register('686799c65fcebef2a98c8141', './ortto-audiences')"
    )
  }
  write(`${DESTINATIONS}/index.ts`, `${registrations.join('\n')}\n`)
  for (const [file, text] of Object.entries(STALE_ORTTO)) write(`${DESTINATIONS}/ortto/${file}`, text)
  // One file already as ours: it must be reported unchanged, not changed.
  write(
    `${DESTINATIONS}/ortto/constants.ts`,
    readFileSync(path.join(REPOSITORY, 'src/destinations/ortto/constants.ts'), 'utf8')
  )
  for (const [file, text] of Object.entries(STALE_AUDIENCES)) write(`${DESTINATIONS}/ortto-audiences/${file}`, text)
  for (const [file, text] of Object.entries(SIBLING)) write(`${DESTINATIONS}/webhook/${file}`, text)

  if (options.git) {
    git('init', '--quiet')
    git('add', '-A')
    git('commit', '--quiet', '-m', 'upstream')
  }
  return { root, destinationsDir, write, git, remove: () => rmSync(root, { recursive: true, force: true }) }
}
