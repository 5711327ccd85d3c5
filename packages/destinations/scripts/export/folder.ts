/**
 * Replacing a destination folder wholly: what our folder holds (the files git tracks under
 * src/destinations/<name>/, read from the work tree), what the checkout's folder holds, the
 * difference as added / changed / removed paths, and the replacement itself.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ExportRefusal } from './refusal'

/** File contents by path relative to the folder, with `/` separators, sorted. */
export type FolderFiles = Map<string, Buffer>

function git(root: string, args: string[]): string {
  const run = spawnSync('git', args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  if (run.status !== 0) {
    throw new ExportRefusal(
      `git ${args.join(' ')} failed in ${root}: ${(run.stderr || run.error?.message || '').trim()}`,
      'Run the export from a git clone of this repository (it copies the files git tracks).'
    )
  }
  return run.stdout
}

/**
 * The files git tracks under `src/destinations/<name>/`, with their work-tree contents: build
 * output, editor files and anything else git ignores or does not know stay behind.
 */
export function ourFolderFiles(repositoryRoot: string, name: string): FolderFiles {
  const prefix = `src/destinations/${name}/`
  const tracked = git(repositoryRoot, ['ls-files', '-z', '--', prefix]).split('\0').filter(Boolean).sort()
  if (tracked.length === 0) {
    throw new ExportRefusal(`git tracks no file under ${prefix}.`, 'Commit the destination folder, then export again.')
  }
  const files: FolderFiles = new Map()
  const missing: string[] = []
  for (const file of tracked) {
    const full = path.join(repositoryRoot, file)
    if (existsSync(full)) files.set(file.slice(prefix.length), readFileSync(full))
    else missing.push(file)
  }
  if (missing.length > 0) {
    throw new ExportRefusal(
      `Tracked files are missing from the work tree: ${missing.join(', ')}.`,
      'Restore them (git checkout -- <file>) or commit their removal, then export again.'
    )
  }
  return files
}

export interface SourceState {
  commit: string
  /** Tracked files under our folder that differ from the commit: exported as they are in the work tree. */
  modified: string[]
  /** Files under our folder git does not track (ignored ones aside): left out of the export. */
  untracked: string[]
}

/** The commit the export comes from, and how the folder's work tree differs from it. */
export function ourSourceState(repositoryRoot: string, name: string): SourceState {
  const status = git(repositoryRoot, [
    'status',
    '--porcelain',
    '--untracked-files=all',
    '--',
    `src/destinations/${name}/`
  ])
    .split('\n')
    .filter((line) => line.trim() !== '')
  return {
    commit: git(repositoryRoot, ['rev-parse', 'HEAD']).trim(),
    modified: status.filter((line) => !line.startsWith('??')).map((line) => line.slice(3)),
    untracked: status.filter((line) => line.startsWith('??')).map((line) => line.slice(3))
  }
}

/** Every file under `dir` (symbolic links count as files and are not followed); empty when it does not exist. */
export function folderFiles(dir: string): FolderFiles {
  const files: FolderFiles = new Map()
  const walk = (relative: string): void => {
    for (const entry of readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const child = relative ? `${relative}/${entry.name}` : entry.name
      if (entry.isDirectory()) walk(child)
      else files.set(child, entry.isFile() ? readFileSync(path.join(dir, child)) : Buffer.alloc(0))
    }
  }
  if (existsSync(dir) && !statSync(dir).isDirectory()) {
    throw new ExportRefusal(
      `${dir} is a file, where a destination folder belongs.`,
      'Move it out of the way, then export again.'
    )
  }
  if (existsSync(dir)) walk('')
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

export interface ReplacementPlan {
  added: string[]
  changed: string[]
  removed: string[]
  unchanged: string[]
}

export function planReplacement(ours: FolderFiles, theirs: FolderFiles): ReplacementPlan {
  const plan: ReplacementPlan = { added: [], changed: [], removed: [], unchanged: [] }
  for (const [file, content] of ours) {
    const existing = theirs.get(file)
    if (existing === undefined) plan.added.push(file)
    else if (existing.equals(content)) plan.unchanged.push(file)
    else plan.changed.push(file)
  }
  for (const file of theirs.keys()) if (!ours.has(file)) plan.removed.push(file)
  plan.removed.sort()
  return plan
}

/** Deletes `dir` with everything in it, then writes exactly `files` there. */
export function replaceFolder(dir: string, files: FolderFiles): void {
  rmSync(dir, { recursive: true, force: true })
  for (const [file, content] of files) {
    const target = path.join(dir, ...file.split('/'))
    mkdirSync(path.dirname(target), { recursive: true })
    writeFileSync(target, content)
  }
}
