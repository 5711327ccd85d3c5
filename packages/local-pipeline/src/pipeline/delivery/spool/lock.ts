/**
 * One pipeline per spool folder: two writing the same segments would corrupt each other and send
 * every event twice. The lock is a file holding the owner's process id; one left by a process that
 * no longer runs (killed) is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import * as path from 'node:path'

/** Spool folders held by pipelines in this process (a process id alone cannot tell them apart). */
const heldHere = new Set<string>()

const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The process id in a lock file, when it names a running process other than this one. */
function runningOwner(file: string): number | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  const pid = Number(text.trim())
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isRunning(pid) ? pid : undefined
}

/** Takes the folder's lock, or throws (via `refuse`) saying who holds it. Returns the function that lets it go. */
export function lockFolder(dir: string, refuse: (problem: string) => Error): () => void {
  const folder = path.resolve(dir)
  const file = path.join(folder, 'lock')
  if (heldHere.has(folder)) throw refuse('another pipeline in this process uses it')
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx')
      try {
        writeSync(fd, `${process.pid}\n`)
      } finally {
        closeSync(fd)
      }
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) {
        throw refuse(`its lock file ${file} cannot be taken (${(error as Error).message}); choose a writable folder`)
      }
      const owner = runningOwner(file)
      if (owner !== undefined)
        throw refuse(`process ${owner} uses it; stop that pipeline, or give this one its own SPOOL_DIR`)
      // Left by a process that was killed: taken over.
      unlinkSync(file)
    }
  }
  heldHere.add(folder)
  return () => {
    heldHere.delete(folder)
    try {
      unlinkSync(file)
    } catch {
      // already gone: nothing to let go of
    }
  }
}
