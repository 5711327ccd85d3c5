import { constants as fsConstants, promises as fs } from 'node:fs'
import type { Stats } from 'node:fs'
import * as path from 'node:path'
import { SandboxDataError, errorCode, messageOf } from '../errors'
import { FIX_OR_DELETE } from './format'

// ---- where the data file is, and whether it can be written --------------------------------

/** The data file as named by the user, and the file actually written (a symlink's target). */
export interface DataFilePath {
  /** As given: used in messages. */
  file: string
  /** Absolute; a symbolic link is followed to its target, which is what gets written. */
  target: string
}

const MAX_LINKS = 40

/** Follows symbolic links, including a dangling one (its target will be created). */
export async function resolveDataFile(file: string): Promise<DataFilePath> {
  let target = path.resolve(file)
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    try {
      if (!(await fs.lstat(target)).isSymbolicLink()) return { file, target }
      target = path.resolve(path.dirname(target), await fs.readlink(target))
    } catch (error) {
      const code = errorCode(error)
      // Not there yet (or its folder is not): the checks at start say which.
      if (code === 'ENOENT' || code === 'ENOTDIR') return { file, target }
      throw new SandboxDataError(`Cannot read the sandbox data file ${file}: ${messageOf(error)}. ${FIX_OR_DELETE}`)
    }
  }
  throw new SandboxDataError(
    `The sandbox data file ${file} is a chain of more than ${MAX_LINKS} symbolic links (or a loop). Point it at a file.`
  )
}

export const nameOf = ({ file, target }: DataFilePath): string =>
  target === path.resolve(file) ? file : `${file} (a link to ${target})`

/** Write permission as the process has it, and not marked read-only for everyone (honoured even as root). */
export async function isWritable(where: string, stat: Stats, mode: number): Promise<boolean> {
  if ((stat.mode & 0o222) === 0) return false
  try {
    await fs.access(where, mode)
    return true
  } catch {
    return false
  }
}

/**
 * Everything a save needs, checked at start rather than discovered at the first save or at
 * stop: the folder exists and can take a temporary file, and the file, if there, is a writable file.
 */
export async function checkWritable(data: DataFilePath): Promise<void> {
  const folder = path.dirname(data.target)
  let folderStat: Stats | undefined
  try {
    folderStat = await fs.stat(folder)
  } catch {
    // Reported below, with the same message as "not a folder".
  }
  if (!folderStat?.isDirectory()) {
    throw new SandboxDataError(
      `The folder of the sandbox data file ${nameOf(data)} does not exist. Create ${folder} or choose another data file.`
    )
  }
  let fileStat: Stats | undefined
  try {
    fileStat = await fs.stat(data.target)
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') {
      throw new SandboxDataError(
        `Cannot read the sandbox data file ${nameOf(data)}: ${messageOf(error)}. ${FIX_OR_DELETE}`
      )
    }
  }
  if (fileStat?.isDirectory()) {
    throw new SandboxDataError(
      `The sandbox data file ${nameOf(data)} is a folder, not a file. Name a file, such as ${path.join(data.file, 'sandbox.json')}.`
    )
  }
  if (fileStat && !fileStat.isFile()) {
    throw new SandboxDataError(`The sandbox data file ${nameOf(data)} is not a regular file. Choose another data file.`)
  }
  if (fileStat && !(await isWritable(data.target, fileStat, fsConstants.W_OK))) {
    throw new SandboxDataError(
      `The sandbox data file ${nameOf(data)} is read-only, so nothing could be saved to it. ` +
        `Make it writable (chmod u+w ${data.target}) or choose another data file.`
    )
  }
  if (!(await isWritable(folder, folderStat, fsConstants.W_OK | fsConstants.X_OK))) {
    throw new SandboxDataError(
      `The sandbox data file ${nameOf(data)} cannot be saved: its folder ${folder} is read-only ` +
        `(saving writes a temporary file there). Make the folder writable or choose another data file.`
    )
  }
}

/**
 * Checked before a compaction replaces the data file. Renaming a new file over it would bypass a
 * read-only mark on it (and make the file writable again), so a mark set while the sandbox runs is
 * honoured here: the save fails, loudly, and the file is left as it is.
 */
export async function checkStillWritable(data: DataFilePath): Promise<void> {
  const folder = path.dirname(data.target)
  for (const [where, mode, what] of [
    [data.target, fsConstants.W_OK, `The sandbox data file ${nameOf(data)}`],
    [folder, fsConstants.W_OK | fsConstants.X_OK, `The folder ${folder} of the sandbox data file ${nameOf(data)}`]
  ] as const) {
    let stat: Stats
    try {
      stat = await fs.stat(where)
    } catch {
      // Gone: the save itself recreates the file, or fails with the reason.
      continue
    }
    if (!(await isWritable(where, stat, mode))) {
      throw new SandboxDataError(
        `${what} was made read-only, so it is left as it is and nothing more is saved: each change is answered 500 ` +
          `until it is writable again (chmod u+w ${where}), when the next one saves them all.`
      )
    }
  }
}
