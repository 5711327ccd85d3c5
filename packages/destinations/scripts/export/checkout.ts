/**
 * The action-destinations checkout the export writes into: recognised by its root package.json
 * (named `action-destinations`) and its destinations folder, or refused with the reason.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { DESTINATIONS_DIR } from './destinations'
import type { ExportableDestination } from './destinations'
import { ExportRefusal } from './refusal'

export interface Checkout {
  root: string
  destinationsDir: string
}

const POINT_AT_CHECKOUT =
  'Pass the root of a clone of your fork of https://github.com/segmentio/action-destinations (the folder holding its package.json).'

export function openCheckout(given: string): Checkout {
  const root = path.resolve(given)
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new ExportRefusal(`${root} is not a folder.`, POINT_AT_CHECKOUT)
  }
  const manifest = path.join(root, 'package.json')
  if (!existsSync(manifest)) {
    throw new ExportRefusal(
      `${root} has no package.json, so it is not an action-destinations checkout.`,
      POINT_AT_CHECKOUT
    )
  }
  let name: unknown
  try {
    name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name
  } catch {
    throw new ExportRefusal(`${manifest} is not valid JSON.`, POINT_AT_CHECKOUT)
  }
  if (name !== 'action-destinations') {
    throw new ExportRefusal(
      `${manifest} is named ${JSON.stringify(name ?? null)}, not "action-destinations": this is not the root of an action-destinations checkout.`,
      POINT_AT_CHECKOUT
    )
  }
  const destinationsDir = path.join(root, DESTINATIONS_DIR)
  if (!existsSync(destinationsDir) || !statSync(destinationsDir).isDirectory()) {
    throw new ExportRefusal(
      `${root} has no ${DESTINATIONS_DIR}/ folder, where cloud destinations live.`,
      `${POINT_AT_CHECKOUT} If it is one, update it from upstream: the folder may have moved.`
    )
  }
  return { root, destinationsDir }
}

/** Whether the checkout's destinations/index.ts registers the folder under its catalog id. */
export function registration(checkout: Checkout, destination: ExportableDestination): 'registered' | 'missing' {
  const index = path.join(checkout.destinationsDir, 'index.ts')
  const text = existsSync(index) ? readFileSync(index, 'utf8') : ''
  const entry = new RegExp(
    `register\\(\\s*['"]${destination.catalogId}['"]\\s*,\\s*['"]\\./${destination.name}['"]\\s*\\)`
  )
  return entry.test(text) ? 'registered' : 'missing'
}

/**
 * Files under the folder that git reports as changed or untracked in the checkout (they would be
 * lost by the replacement), or `undefined` when the checkout is not a git work tree.
 */
export function uncommittedChanges(checkout: Checkout, folder: string): string[] | undefined {
  const relative = path.posix.join(DESTINATIONS_DIR, folder)
  const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=all', '--', relative], {
    cwd: checkout.root,
    encoding: 'utf8'
  })
  if (status.status !== 0) return undefined
  return status.stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.slice(3))
}
