/**
 * How `npm start` runs the pipeline, read from the root package.json's `start` script, so that the
 * engine benchmark starts the pipeline process the same way (its Node flags: the young generation's
 * size) and the script stays the one home of those flags.
 */
import { readFileSync } from 'node:fs'
import * as path from 'node:path'

/** The pipeline's entry as the start script names it. */
const ENTRY = 'packages/local-pipeline/dist/src/pipeline/start.js'

/** The Node flags before the pipeline's entry in a start script (`… && node --x=1 <entry>` gives ['--x=1']). */
export function nodeFlagsOf(startScript: string): string[] {
  const command = startScript
    .split('&&')
    .map((part) => part.trim().split(/\s+/))
    .find((words) => words[0] === 'node' && words.includes(ENTRY))
  if (!command) {
    throw new Error(`the root package.json's start script does not run "node … ${ENTRY}": "${startScript}"`)
  }
  const flags = command.slice(1, command.indexOf(ENTRY))
  const stray = flags.find((flag) => !flag.startsWith('--'))
  if (stray !== undefined) throw new Error(`the start script's "${stray}" before ${ENTRY} is not a Node flag`)
  return flags
}

/** The Node flags `npm start` gives the pipeline process (from the package.json at `root`). */
export function npmStartNodeFlags(root: string): string[] {
  const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts?: { start?: string } }
  return nodeFlagsOf(manifest.scripts?.start ?? '')
}
