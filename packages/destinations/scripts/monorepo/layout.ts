/**
 * Lays our destination folders out as they sit in Segment's repository:
 *   <tmp>/packages/destination-actions/
 *     node_modules -> monorepo-check/node_modules   (that repository's toolchain, nothing of ours)
 *     tsconfig*.json, jest.config.js, .eslintrc.js, Prettier files, test/   (monorepo-check/layout/)
 *     src/destinations/<folder>/                     (each folder, copied unchanged)
 *     src/destinations/index.ts                      (the manifest entries, by catalog id)
 * It lives outside this repository, so nothing resolves to our own node_modules by accident.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { TOOLCHAIN_DIR, TOOLCHAIN_MODULES } from './toolchain'

/** Catalog ids of our destinations, as packages/destination-actions/src/destinations/index.ts maps them. */
export const CATALOG_IDS: Record<string, string> = {
  ortto: '682db7017819e7e055f55cb4',
  'ortto-audiences': '686799c65fcebef2a98c8141'
}

export interface Layout {
  /** packages/destination-actions inside the temporary tree. */
  packageDir: string
  destinationsDir: string
  folders: string[]
  remove(): void
}

export function destinationFolders(source: string): string[] {
  return readdirSync(source, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
}

export function layOut(source: string): Layout {
  const root = mkdtempSync(path.join(tmpdir(), 'ortto-monorepo-check-'))
  const packageDir = path.join(root, 'packages', 'destination-actions')
  const destinationsDir = path.join(packageDir, 'src', 'destinations')
  mkdirSync(destinationsDir, { recursive: true })
  cpSync(path.join(TOOLCHAIN_DIR, 'layout'), packageDir, { recursive: true })
  symlinkSync(TOOLCHAIN_MODULES, path.join(packageDir, 'node_modules'), 'dir')

  const folders = destinationFolders(source)
  for (const folder of folders) {
    cpSync(path.join(source, folder), path.join(destinationsDir, folder), { recursive: true })
  }
  const registered = folders.filter((folder) => CATALOG_IDS[folder] !== undefined)
  const index = [
    '// The manifest entries of our folders, as the repository registers them (catalog id → folder).',
    ...registered.map((folder, i) => `import destination${i} from './${folder}'`),
    '',
    'export const manifest = {',
    ...registered.map((folder, i) => `  '${CATALOG_IDS[folder]}': destination${i},`),
    '}',
    ''
  ]
  writeFileSync(path.join(destinationsDir, 'index.ts'), index.join('\n'))
  return { packageDir, destinationsDir, folders, remove: () => rmSync(root, { recursive: true, force: true }) }
}
