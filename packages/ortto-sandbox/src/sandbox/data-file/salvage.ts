import { promises as fs } from 'node:fs'
import { SandboxDataError, errorCode } from '../errors'
import type { SandboxState } from '../types'
import { DataFileDamage, type DamageSite } from './damage'
import { snapshotRecord } from './format'
import { checkWritable, resolveDataFile } from './location'
import { parseDataFile, readBytes } from './reader'
import { replaceFile } from './temp-files'

/**
 * `npm run sandbox -- --salvage FILE`: the documented way out of a damaged data file. It keeps the
 * records before the first damaged line and moves that line and everything after it, byte for
 * byte, to a side file next to the data file, so nothing is dropped without a copy. Run it with
 * no sandbox using the file.
 */

export type SalvageResult =
  | { kind: 'intact'; state: SandboxState; tornBytes: number }
  | {
      kind: 'salvaged'
      site: DamageSite
      /** The state of the lines kept (line 1 to site.line - 1), now the whole data file. */
      state: SandboxState
      sideFile: string
      movedBytes: number
    }

export async function salvageDataFile(file: string): Promise<SalvageResult> {
  const data = await resolveDataFile(file)
  await checkWritable(data)
  // Read once, so what is kept and what is moved aside are the two parts of the same bytes.
  const bytes = await readBytes(data)
  if (bytes === undefined) throw new SandboxDataError(`There is no sandbox data file ${file} to salvage.`)
  let damage: DataFileDamage
  try {
    const loaded = parseDataFile(data, bytes)
    return { kind: 'intact', state: loaded.state, tornBytes: loaded.tornBytes }
  } catch (error) {
    // Anything else (a file of another version, or unusable as a whole) has no records to keep.
    if (!(error instanceof DataFileDamage)) throw error
    damage = error
  }
  const { site } = damage
  const kept = parseDataFile(data, bytes, { lines: site.line - 1 })
  const moved = bytes.subarray(site.offset)
  // The side file first: once the data file is replaced, it is the only copy of what was moved.
  const sideFile = await writeSideFile(data.target, moved)
  await replaceFile(data.target, Buffer.from(`${snapshotRecord(kept.state, new Date().toISOString())}\n`))
  return { kind: 'salvaged', site, state: kept.state, sideFile, movedBytes: moved.length }
}

/** `<data file>.damaged-<time>`, never over an existing file; fsynced. */
async function writeSideFile(target: string, content: Buffer): Promise<string> {
  const stamp = new Date().toISOString().replace(/:/g, '')
  for (let attempt = 1; ; attempt++) {
    const side = `${target}.damaged-${stamp}${attempt === 1 ? '' : `-${attempt}`}`
    let handle: fs.FileHandle
    try {
      handle = await fs.open(side, 'wx')
    } catch (error) {
      if (errorCode(error) === 'EEXIST') continue
      throw error
    }
    try {
      await handle.writeFile(content)
      await handle.sync()
    } finally {
      await handle.close()
    }
    return side
  }
}
