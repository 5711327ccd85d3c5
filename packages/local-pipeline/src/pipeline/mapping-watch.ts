/**
 * Watches the mapping file for changes. Its folder is watched, not the file: editors save by
 * writing a new file and renaming it over the old one, which a watch on the file itself would lose
 * track of. Events come in bursts (a write, a rename, several changes); the reload runs once the
 * burst has been quiet for `debounceMs`. A half-written file is simply refused by that reload, and
 * the next change tries again.
 */
import { watch, type FSWatcher } from 'node:fs'
import * as path from 'node:path'

/** Quiet time after the last event before the reload: longer than an editor's save, short for a person. */
const DEFAULT_WATCH_DEBOUNCE_MS = 200

interface MappingWatch {
  close(): void
}

export function watchMappingFile(
  file: string,
  onChange: () => void,
  log: (line: string) => void,
  debounceMs = DEFAULT_WATCH_DEBOUNCE_MS
): MappingWatch {
  const folder = path.dirname(path.resolve(file))
  const name = path.basename(file)
  let timer: NodeJS.Timeout | undefined
  let watcher: FSWatcher | undefined
  const stop = () => {
    clearTimeout(timer)
    watcher?.close()
    watcher = undefined
  }
  const gaveUp = (error: unknown) => {
    stop()
    const reason = error instanceof Error ? error.message : String(error)
    log(`[mappings] cannot watch ${folder} (${reason}): changes to ${file} are not seen; SIGHUP still reloads it`)
  }
  try {
    // Not persistent: the server keeps the process alive, and a stop closes the watch anyway.
    watcher = watch(folder, { persistent: false }, (_event, changed) => {
      // Some platforms do not say which file changed: then it may be this one.
      if (changed !== null && changed !== name) return
      clearTimeout(timer)
      timer = setTimeout(onChange, debounceMs)
    })
    watcher.on('error', gaveUp)
  } catch (error) {
    gaveUp(error)
  }
  return { close: stop }
}
