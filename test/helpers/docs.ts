/** The documentation's pages, for the tests that hold their examples and tables to the code. */
import { readFileSync } from 'node:fs'
import * as path from 'node:path'

/** The repository's root, where README.md, CHANGELOG.md and docs/ are. */
export const REPOSITORY = path.join(__dirname, '..', '..')

/** The text of a page, by its path from the repository's root (`README.md`, `docs/operating.md`). */
export function readDoc(page: string): string {
  return readFileSync(path.join(REPOSITORY, page), 'utf8')
}

/** The part of `page`'s text from `marker` on; a test fails, naming both, when the page lacks it. */
export function docFrom(page: string, marker: string): string {
  const text = readDoc(page)
  const at = text.indexOf(marker)
  if (at < 0) throw new Error(`${page} has no "${marker}"`)
  return text.slice(at)
}
