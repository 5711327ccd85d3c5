/**
 * The action-destinations toolchain, installed from monorepo-check/package-lock.json into
 * monorepo-check/node_modules. `npm ci` runs again only when the lock file changed since the
 * last install (a stamp holds its hash), so a second run costs nothing.
 */
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'

export const ROOT = path.resolve(__dirname, '..', '..', '..')
export const TOOLCHAIN_DIR = path.join(ROOT, 'monorepo-check')
export const TOOLCHAIN_MODULES = path.join(TOOLCHAIN_DIR, 'node_modules')
const STAMP = path.join(TOOLCHAIN_MODULES, '.installed-from-lock')

const lockHash = () =>
  createHash('sha256')
    .update(readFileSync(path.join(TOOLCHAIN_DIR, 'package-lock.json')))
    .digest('hex')

export function ensureToolchain(log: (line: string) => void): void {
  const hash = lockHash()
  if (existsSync(STAMP) && readFileSync(STAMP, 'utf8') === hash) return
  log('Installing the action-destinations toolchain (npm ci in monorepo-check/)…')
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: TOOLCHAIN_DIR, encoding: 'utf8' })
  if (result.status !== 0) {
    throw new Error(`npm ci in monorepo-check/ failed:\n${result.stdout}\n${result.stderr}`)
  }
  writeFileSync(STAMP, hash)
}

/** A module of the toolchain (its TypeScript, its Prettier), never our own copy of it. */
export function toolchainRequire<T>(name: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(require.resolve(name, { paths: [TOOLCHAIN_DIR] })) as T
}

/** The command-line entry of a toolchain package, run with this Node. */
export function toolchainBin(pkg: string, bin: string): string {
  const manifest = JSON.parse(readFileSync(path.join(TOOLCHAIN_MODULES, pkg, 'package.json'), 'utf8')) as {
    bin?: string | Record<string, string>
  }
  const entry = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin?.[bin]
  if (!entry) throw new Error(`${pkg} has no "${bin}" command`)
  return path.join(TOOLCHAIN_MODULES, pkg, entry)
}
