/**
 * One export: checks the checkout and our folder, replaces the checkout's folder wholly with
 * ours, and writes the PR description computed from the comparison with today's catalog entry.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { userChanges } from './changes'
import { checklist } from './checklist'
import { openCheckout, registration, uncommittedChanges } from './checkout'
import type { CatalogMetadata } from './catalog-metadata'
import { readCatalogMetadata } from './catalog-metadata'
import { repositoryCommands } from './commands'
import { compareCompatibility } from './compatibility'
import { folderDigest } from '../folder-digest'
import { readReport, REPORT_FILE } from '../monorepo/report'
import { monorepoEvidence } from './monorepo-evidence'
import type { MonorepoEvidence } from './monorepo-evidence'
import { EXPORTABLE, ourMetadata, repositoryRoot } from './destinations'
import type { ExportableDestination } from './destinations'
import { folderFiles, ourFolderFiles, ourSourceState, planReplacement, replaceFolder } from './folder'
import type { FolderFiles, ReplacementPlan } from './folder'
import { prDescription } from './pr-description'
import { ExportRefusal } from './refusal'

export interface ExportOptions {
  checkout: string
  destination: string
  /** Today's catalog metadata to compare with; defaults to the destination's file under scripts/export/catalog/. */
  catalog?: string
  /** Where the PR description goes; defaults to dist/export/<name>-pr-description.md in this package. */
  prDescription?: string
  /** Compute and write the description, but leave the checkout untouched. */
  dryRun?: boolean
  /** Replace the folder even when the checkout has uncommitted changes in it. */
  force?: boolean
  /** `check:monorepo`'s report to answer the unit-test box from; defaults to reports/monorepo-check.json in this package. */
  monorepoReport?: string
}

export interface ExportResult {
  destination: ExportableDestination
  folder: string
  plan: ReplacementPlan
  prDescriptionFile: string
  warnings: string[]
  replaced: boolean
  /** What check:monorepo's report says of the exported contents. */
  monorepo: MonorepoEvidence
}

export function findDestination(name: string): ExportableDestination {
  const destination = EXPORTABLE.find((candidate) => candidate.name === name)
  if (!destination) {
    throw new ExportRefusal(
      `Unknown destination ${JSON.stringify(name)}.`,
      `Name one of: ${EXPORTABLE.map((d) => `${d.name} (${d.title})`).join(', ')}.`
    )
  }
  return destination
}

/** The metadata.json we ship must be what the definition generates, or the PR fails assert-metadata-payload. */
export function assertMetadataCurrent(files: FolderFiles, proposed: CatalogMetadata, name: string): void {
  const shipped = files.get('metadata.json')
  let parsed: unknown
  try {
    parsed = shipped ? JSON.parse(shipped.toString('utf8')) : undefined
  } catch {
    parsed = undefined
  }
  if (!isDeepStrictEqual(parsed, proposed)) {
    throw new ExportRefusal(
      `src/destinations/${name}/metadata.json is not what the definition generates.`,
      'Run `npm run generate`, commit the result, and export again.'
    )
  }
}

/** A path inside this repository relative to its root (as a reader of the PR finds it), any other as given. */
function shownPath(root: string, file: string): string {
  const relative = path.relative(root, file)
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative.split(path.sep).join('/')
}

const testSuitesOf = (files: FolderFiles) => [...files.keys()].filter((file) => file.endsWith('.test.ts'))

export function runExport(options: ExportOptions): ExportResult {
  const destination = findDestination(options.destination)
  const checkout = openCheckout(options.checkout)
  const root = repositoryRoot()
  const ours = ourFolderFiles(root, destination.name)
  const proposed = ourMetadata(destination)
  assertMetadataCurrent(ours, proposed, destination.name)
  const catalogFile = options.catalog ? path.resolve(options.catalog) : path.join(root, destination.catalogFile)
  const today = readCatalogMetadata(catalogFile)

  const folder = path.join(checkout.destinationsDir, destination.name)
  const plan = planReplacement(ours, folderFiles(folder))
  const warnings: string[] = []
  const dirty = uncommittedChanges(checkout, destination.name)
  if (dirty === undefined)
    warnings.push('The checkout is not a git work tree: nothing could tell whether the replacement loses work.')
  if (dirty?.length && !options.force && !options.dryRun) {
    throw new ExportRefusal(
      `${folder} has uncommitted changes that replacing it would lose: ${dirty.join(', ')}.`,
      'Commit them (an earlier export is fine to commit) or stash them, or pass --force to replace them anyway.'
    )
  }
  const source = ourSourceState(root, destination.name)
  if (source.modified.length) {
    warnings.push(`Uncommitted changes in our folder are exported as they are: ${source.modified.join(', ')}.`)
  }
  if (source.untracked.length) {
    warnings.push(`Files git does not track are left out: ${source.untracked.join(', ')}.`)
  }
  const registered = registration(checkout, destination) === 'registered'
  if (!registered) {
    warnings.push(`The checkout's index.ts does not register('${destination.catalogId}', './${destination.name}').`)
  }
  let dependency: { folder: string; inStep: boolean; differing: number } | undefined
  if (destination.importsFrom) {
    const other = planReplacement(
      ourFolderFiles(root, destination.importsFrom),
      folderFiles(path.join(checkout.destinationsDir, destination.importsFrom))
    )
    const differing = other.added.length + other.changed.length + other.removed.length
    dependency = { folder: destination.importsFrom, inStep: differing === 0, differing }
    if (differing) {
      warnings.push(
        `The checkout's ${destination.importsFrom}/ is not ours (${differing} files differ), and ${destination.name} imports ` +
          `from it: export ${destination.importsFrom} first; this PR can merge only after that one.`
      )
    }
  }

  const compatibility = compareCompatibility(today, proposed)
  const exported = { [destination.name]: folderDigest(ours) }
  if (destination.importsFrom)
    exported[destination.importsFrom] = folderDigest(ourFolderFiles(root, destination.importsFrom))
  const reportFile = options.monorepoReport ? path.resolve(options.monorepoReport) : path.join(root, REPORT_FILE)
  const monorepo = monorepoEvidence(readReport(reportFile), shownPath(root, reportFile), exported)
  const description = prDescription({
    destination,
    source,
    catalogFile: shownPath(root, catalogFile),
    plan,
    registered,
    dependency,
    changes: userChanges(today, proposed),
    compatibility,
    checklist: checklist({
      folder: destination.name,
      proposed,
      compatibility,
      testSuites: testSuitesOf(ours),
      monorepo
    }),
    monorepo,
    commands: repositoryCommands(destination.name)
  })

  if (!options.dryRun) {
    replaceFolder(folder, ours)
    const written = planReplacement(ours, folderFiles(folder))
    if (written.added.length || written.changed.length || written.removed.length) {
      throw new Error(`${folder} does not hold exactly our files after the copy; inspect it before committing.`)
    }
  }
  const prDescriptionFile = path.resolve(
    options.prDescription ?? path.join(root, 'dist', 'export', `${destination.name}-pr-description.md`)
  )
  mkdirSync(path.dirname(prDescriptionFile), { recursive: true })
  writeFileSync(prDescriptionFile, description)
  return { destination, folder, plan, prDescriptionFile, warnings, replaced: !options.dryRun, monorepo }
}
