import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import * as path from 'node:path'
import { SandboxDataError, errorCode, messageOf } from '../errors'
import type { DataFilePath } from './location'

// ---- temporary files -----------------------------------------------------------------------

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

let tempCounter = 0

/** `.<name>.<pid>.<n>.<8 hex>.tmp` next to the file: the only names the writer ever creates. */
const tempFileFor = (target: string): string =>
  path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${++tempCounter}.${randomBytes(4).toString('hex')}.tmp`
  )

const tempPatternFor = (target: string): RegExp =>
  new RegExp(`^\\.${escapeRegExp(path.basename(target))}\\.(\\d+)\\.\\d+\\.[0-9a-f]{8}\\.tmp$`)

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errorCode(error) === 'EPERM'
  }
}

/**
 * Removes temporary files of this data file left by a writer that was killed mid-save. Only
 * files named exactly as the writer names them, next to this file, whose process is gone (this
 * process counts as alive: another sandbox in it may be saving the same file right now).
 */
export async function removeStaleTempFiles(data: DataFilePath, log: (line: string) => void): Promise<void> {
  const folder = path.dirname(data.target)
  const pattern = tempPatternFor(data.target)
  const removed: string[] = []
  for (const name of await fs.readdir(folder)) {
    const match = pattern.exec(name)
    if (!match) continue
    const pid = Number(match[1])
    if (pid === process.pid || isRunning(pid)) continue
    const temp = path.join(folder, name)
    try {
      if (!(await fs.lstat(temp)).isFile()) continue
      await fs.unlink(temp)
      removed.push(name)
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') {
        throw new SandboxDataError(
          `Cannot remove ${temp}, a temporary file an earlier sandbox left behind: ${messageOf(error)}. Delete it, then start again.`
        )
      }
    }
  }
  if (removed.length > 0) {
    log(
      `ortto sandbox: removed ${removed.length} temporary file${removed.length === 1 ? '' : 's'} left next to ` +
        `${data.file} by a sandbox that was stopped mid-save (${removed.join(', ')})`
    )
  }
}

/**
 * Replaces `target` with `content` whole: written to a temporary file next to it, fsynced, then
 * renamed over it, so a kill leaves the old file or the new one, never half of one.
 */
export async function replaceFile(target: string, content: Buffer): Promise<void> {
  const temp = tempFileFor(target)
  try {
    const handle = await fs.open(temp, 'wx')
    try {
      await handle.writeFile(content)
      await handle.sync()
    } finally {
      await handle.close()
    }
    // Over the target: a symbolic link to the data file stays a link.
    await fs.rename(temp, target)
  } catch (error) {
    await fs.rm(temp, { force: true }).catch(() => undefined)
    throw error
  }
}
