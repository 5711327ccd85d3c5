/**
 * Reloading the mapping file while the pipeline runs (on a change, or SIGHUP). The file is read and
 * checked as at start; the Associate Audience hook runs for mappings whose hook inputs are new or
 * changed; then the new subscriptions take the events taken in from then on, while deliveries
 * already held keep the mapping they were taken in under (DeliveryPipeline.replaceSubscriptions).
 * A file with any problem, or a hook that fails, is refused: the mappings in force stay, and the
 * problems are logged and shown by `GET /status`. Reloads run one at a time, in order.
 */
import { readFileSync } from 'node:fs'
import { formatProblem, type MappingProblem } from './mapping-check'
import type { MappingHooks } from './mapping-hooks'
import { versionOf, type MappingsInForce } from './mappings-in-force'
import { plural } from './log-text'
import type { PipelineDestination } from './destinations'
import { readMappingFile, unreadableProblem, type MatchableSubscription } from './subscriptions'

/** What asked for the reload: a change seen in the file's folder, or SIGHUP (always reads the file). */
type ReloadTrigger = 'change' | 'SIGHUP'

export type ReloadResult =
  | { outcome: 'in force'; version: string }
  | { outcome: 'refused'; problems: MappingProblem[] }
  /** A change event, but the bytes are those of the last attempt: nothing to do. */
  | { outcome: 'unchanged' }
  /** The presets are in force: there is no file to read. */
  | { outcome: 'no file' }

interface ReloaderOptions {
  destinations: readonly PipelineDestination[]
  inForce: MappingsInForce
  hooks: MappingHooks
  /** Puts checked subscriptions in force for the events taken in from now on. */
  apply: (subscriptions: readonly MatchableSubscription[]) => void
  log: (line: string) => void
  now?: () => Date
}

/** The line that says which version is in force. */
export const inForceLine = (inForce: MappingsInForce): string => {
  const { version, loadedAt, subscriptions } = inForce.status()
  return `[mappings] version ${version} in force (${plural(subscriptions.length, 'subscription')}, loaded ${loadedAt})`
}

export class MappingReloader {
  private queue: Promise<unknown> = Promise.resolve()
  /** The version of the last attempt (or why the file could not be read): a change to the same bytes does nothing. */
  private lastSeen: string | undefined
  private closed = false

  constructor(private readonly options: ReloaderOptions) {
    this.lastSeen = options.inForce.file === undefined ? undefined : options.inForce.version
  }

  /** Reloads after the reloads asked for before this one. Never rejects. */
  reload(trigger: ReloadTrigger): Promise<ReloadResult> {
    const next = this.queue.then(() => this.reloadNow(trigger))
    this.queue = next.catch(() => undefined)
    return next.catch((error: unknown) => {
      const problem = { file: this.options.inForce.file ?? '', path: [], message: `reload failed: ${String(error)}` }
      return this.refuse([problem], this.now())
    })
  }

  /** No reload starts after this (the pipeline stops). */
  close(): void {
    this.closed = true
  }

  private now(): Date {
    return this.options.now?.() ?? new Date()
  }

  private async reloadNow(trigger: ReloadTrigger): Promise<ReloadResult> {
    const { inForce, log } = this.options
    const file = inForce.file
    if (file === undefined) {
      log(`[mappings] ${trigger}: no mapping file to reload (ORTTO_MAPPINGS is not set); the presets stay in force`)
      return { outcome: 'no file' }
    }
    if (this.closed) return { outcome: 'unchanged' }
    let bytes: Buffer
    try {
      bytes = readFileSync(file)
    } catch (error) {
      const problem = unreadableProblem(file, error)
      if (trigger === 'change' && this.lastSeen === problem.message) return { outcome: 'unchanged' }
      this.lastSeen = problem.message
      return this.refuse([problem], this.now())
    }
    const version = versionOf(bytes)
    if (trigger === 'change' && this.lastSeen === version) return { outcome: 'unchanged' }
    this.lastSeen = version
    const checkedAt = this.now()
    const read = readMappingFile(file, bytes.toString('utf8'), this.options.destinations)
    if ('problems' in read) return this.refuse(read.problems, checkedAt)
    const failures = await this.options.hooks.complete(read.subscriptions)
    if (failures.length > 0) {
      // A hook may fail for a while (Ortto down): the next change retries even with the same bytes.
      this.lastSeen = undefined
      const problems = failures.map(({ index, subscription, message }) => ({
        file,
        index,
        name: subscription.name,
        path: ['mapping', 'onMappingSave'],
        field: 'onMappingSave',
        message: `the Associate Audience hook failed: ${message}; fix inputs.audience_name, or save the file again (or send SIGHUP) to try again`
      }))
      return this.refuse(problems, checkedAt)
    }
    if (this.closed) return { outcome: 'unchanged' }
    this.options.apply(read.subscriptions)
    inForce.loaded(version, read.subscriptions, checkedAt)
    log(inForceLine(inForce))
    return { outcome: 'in force', version }
  }

  private refuse(problems: MappingProblem[], at: Date): ReloadResult {
    const { inForce, log } = this.options
    inForce.refused(problems, at)
    log(
      `[mappings] reload of ${inForce.file} refused, version ${inForce.version} stays: ${plural(problems.length, 'problem')}`
    )
    for (const problem of problems) log(`  - ${formatProblem(problem)}`)
    return { outcome: 'refused', problems }
  }
}
