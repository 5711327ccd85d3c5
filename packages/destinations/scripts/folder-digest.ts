/**
 * One digest of a destination folder's files, paths and bytes together: how the export tells
 * whether `check:monorepo`'s report is of the very contents it is about to ship.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'

/** Files by path relative to the folder, `/`-separated. */
export type FilesByPath = ReadonlyMap<string, Buffer>

export function folderDigest(files: FilesByPath): string {
  const hash = createHash('sha256')
  for (const file of [...files.keys()].sort()) {
    const bytes = files.get(file) as Buffer
    // Lengths keep a path and the bytes after it from reading as another split of the same stream.
    hash.update(`${file}\0${bytes.length}\0`)
    hash.update(bytes)
  }
  return `sha256:${hash.digest('hex')}`
}

/** Every file under `dir`, read, by path relative to it. */
export function filesOnDisk(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>()
  const visit = (relative: string) => {
    for (const entry of readdirSync(path.join(dir, relative), { withFileTypes: true })) {
      const child = relative ? `${relative}/${entry.name}` : entry.name
      if (entry.isDirectory()) visit(child)
      else files.set(child, readFileSync(path.join(dir, child)))
    }
  }
  visit('')
  return files
}
