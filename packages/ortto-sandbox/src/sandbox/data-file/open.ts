import type { SandboxState } from '../types'
import { checkWritable, resolveDataFile } from './location'
import { readDataFile, type LoadedDataFile } from './reader'
import { removeStaleTempFiles } from './temp-files'

/**
 * Opens the data file for a sandbox: checks it can be saved, removes stale temporary files,
 * then reads it. A missing file is an empty sandbox; anything unusable a SandboxDataError (a
 * DataFileDamage when a line is damaged).
 */
export async function openDataFile(file: string, log: (line: string) => void): Promise<LoadedDataFile> {
  const data = await resolveDataFile(file)
  await checkWritable(data)
  await removeStaleTempFiles(data, log)
  const loaded = await readDataFile(data)
  if (loaded.tornBytes > 0) {
    log(
      `ortto sandbox: ignored the last ${loaded.tornBytes} bytes of ${file}: a change cut short when the sandbox ` +
        'was killed while saving it (it had not been acknowledged)'
    )
  }
  return loaded
}

/** Reads the state without checking that the file could be saved (for looking at a file). */
export async function loadDataFile(file: string): Promise<SandboxState> {
  return (await readDataFile(await resolveDataFile(file))).state
}
