/**
 * Where the pipeline remembers the Ortto audience it created for each Engage audience, as
 * Segment stores the `externalId` createAudience returns: a small JSON file beside the sandbox's
 * data file (`<SANDBOX_DATA>.audiences.json`), so a restart over the persisted sandbox finds the
 * same audiences again. Rewritten whole at each new audience (a temporary file renamed over it, so
 * a kill leaves the old file or the new one). It holds ids and computation keys, never a key.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { isRecord } from './json'

const FORMAT = 'ortto-pipeline-audiences'
const VERSION = 1

/** The Ortto audience of one Engage audience. */
export interface RememberedAudience {
  externalId: string
  /** The Engage audience's computation key when it was created (shown, not used to find it). */
  computationKey: string
}

/** The file beside a sandbox data file. */
export const audienceIdsFileFor = (dataFile: string): string => `${dataFile}.audiences.json`

const restart =
  'delete it to start afresh: each Engage audience is created again at its next event (Ortto answers the existing audience for a name it has)'

/** The remembered audiences by computation_id; none when the file does not exist yet. Throws what is wrong otherwise. */
export function readAudienceIds(file: string): Map<string, RememberedAudience> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return new Map()
    throw new Error(`The audience id file ${file} cannot be read (${code ?? String(error)}); ${restart}.`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    parsed = undefined
  }
  const audiences = isRecord(parsed) && parsed.format === FORMAT && parsed.version === VERSION && parsed.audiences
  if (!isRecord(audiences)) {
    throw new Error(
      `The audience id file ${file} is not one this pipeline wrote (format ${FORMAT}, version ${VERSION}); ${restart}.`
    )
  }
  const remembered = new Map<string, RememberedAudience>()
  for (const [computationId, entry] of Object.entries(audiences)) {
    if (!isRecord(entry) || typeof entry.externalId !== 'string' || entry.externalId === '') {
      throw new Error(
        `The audience id file ${file} has no Ortto audience id for ${JSON.stringify(computationId)}; ${restart}.`
      )
    }
    remembered.set(computationId, {
      externalId: entry.externalId,
      computationKey: typeof entry.computationKey === 'string' ? entry.computationKey : ''
    })
  }
  return remembered
}

/** Writes the file whole; throws when it cannot (the caller says what that means). */
export function writeAudienceIds(file: string, audiences: ReadonlyMap<string, RememberedAudience>): void {
  const body = { format: FORMAT, version: VERSION, audiences: Object.fromEntries(audiences) }
  const temp = `${file}.${process.pid}.tmp`
  try {
    writeFileSync(temp, `${JSON.stringify(body, null, 2)}\n`)
    renameSync(temp, file)
  } catch (error) {
    rmSync(temp, { force: true })
    throw error
  }
}
