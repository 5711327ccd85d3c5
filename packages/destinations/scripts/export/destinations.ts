/**
 * The destinations `npm run export` can hand to Segment's action-destinations repository, each
 * with its catalog entry as Segment publishes it today (catalog/*.json, kept verbatim as data)
 * and where it sits in that repository.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import type { DestinationDefinition } from '@segment/actions-core'
import ortto from '../../src/destinations/ortto'
import orttoAudiences from '../../src/destinations/ortto-audiences'
import { catalogMetadata } from '../metadata'
import { CATALOG_IDS } from '../monorepo/layout'
import type { CatalogMetadata } from './catalog-metadata'

/** Where destination folders live inside an action-destinations checkout. */
export const DESTINATIONS_DIR = 'packages/destination-actions/src/destinations'

export interface ExportableDestination {
  /** The folder name, the same here (src/destinations/<name>) and there. */
  name: string
  title: string
  catalogId: string
  /** Today's published catalog metadata, relative to this repository's root. */
  catalogFile: string
  /** The docs page in segmentio/segment-docs that describes it. */
  docsPage: string
  /** Another folder whose modules this one imports (`../<folder>/…`), which must land first. */
  importsFrom?: string
  definition: DestinationDefinition<unknown>
}

export const EXPORTABLE: ExportableDestination[] = [
  {
    name: 'ortto',
    title: 'Ortto (Actions)',
    catalogId: CATALOG_IDS.ortto,
    catalogFile: 'scripts/export/catalog/upstream-metadata.json',
    docsPage: 'src/connections/destinations/catalog/actions-ortto/index.md',
    definition: ortto as DestinationDefinition<unknown>
  },
  {
    name: 'ortto-audiences',
    title: 'Ortto (Audiences)',
    catalogId: CATALOG_IDS['ortto-audiences'],
    catalogFile: 'scripts/export/catalog/upstream-audiences-metadata.json',
    docsPage: 'src/connections/destinations/catalog/actions-ortto-audiences/index.md',
    importsFrom: 'ortto',
    definition: orttoAudiences as unknown as DestinationDefinition<unknown>
  }
]

/** This repository's root: the nearest folder up whose package.json is ours (works from dist/ and from sources). */
export function repositoryRoot(from: string = __dirname): string {
  let dir = from
  for (;;) {
    const manifest = path.join(dir, 'package.json')
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'actions-ortto'
    ) {
      return dir
    }
    const parent = path.dirname(dir)
    if (parent === dir) throw new Error(`No package.json named actions-ortto above ${from}.`)
    dir = parent
  }
}

/** Our catalog payload, computed from the definition as it is now (what generate:metadata-payload writes). */
export function ourMetadata(destination: ExportableDestination): CatalogMetadata {
  return catalogMetadata(destination.definition) as unknown as CatalogMetadata
}
