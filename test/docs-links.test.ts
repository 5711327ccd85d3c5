/**
 * Every relative link of the documentation resolves: README.md, CHANGELOG.md and docs/*.md link to
 * files that exist, and each `#anchor` names a heading of the page it points into (GitHub's anchors).
 * Links inside code (fenced blocks, `inline code`) are text, not links, and are not checked.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import * as path from 'node:path'

const REPOSITORY = path.join(__dirname, '..')

/** The pages checked: the README, the changelog and every page under docs/. */
function documentationPages(): string[] {
  const docs = readdirSync(path.join(REPOSITORY, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => path.join('docs', name))
  return ['README.md', 'CHANGELOG.md', ...docs]
}

/** `markdown` with fenced code blocks blanked out (lines kept, so line numbers stay true). */
function withoutFences(markdown: string): string[] {
  let fence: string | undefined
  return markdown.split('\n').map((line) => {
    const marker = /^ {0,3}(`{3,}|~{3,})/.exec(line)?.[1]
    if (fence === undefined && marker !== undefined) {
      fence = marker
      return ''
    }
    if (fence !== undefined) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined
      return ''
    }
    return line
  })
}

const withoutCodeSpans = (line: string): string => line.replace(/(`+)[^`]*?\1/g, '')

/**
 * The anchor GitHub gives a heading: its text as rendered (code spans keep their content, link
 * syntax and emphasis marks go), lower-cased, punctuation other than `-` and `_` dropped, each space a `-`.
 */
function headingAnchor(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/`/g, '')
    .replace(/(^|\s)[*_]+|[*_]+(?=\s|$)/g, '$1')
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-')
}

/** Every anchor of a page, repeated headings numbered as GitHub numbers them (`-1`, `-2`…). */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  for (const line of withoutFences(markdown)) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)(\s+#+)?\s*$/.exec(line)?.[1]
    if (heading === undefined) continue
    const anchor = headingAnchor(heading)
    const count = seen.get(anchor) ?? 0
    seen.set(anchor, count + 1)
    anchors.add(count === 0 ? anchor : `${anchor}-${count}`)
  }
  return anchors
}

interface Link {
  page: string
  line: number
  target: string
}

/** The inline links (`[text](target)`, images too) and link definitions (`[name]: target`) of a page. */
function linksOf(page: string, markdown: string): Link[] {
  const links: Link[] = []
  withoutFences(markdown).forEach((raw, index) => {
    const line = withoutCodeSpans(raw)
    for (const match of line.matchAll(/\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) {
      links.push({ page, line: index + 1, target: match[1] })
    }
    const definition = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)/.exec(line)
    if (definition) links.push({ page, line: index + 1, target: definition[1] })
  })
  return links
}

/** How the check sees the repository's files: what a path is, and a page's text. */
interface Files {
  kindOf(file: string): 'file' | 'folder' | undefined
  read(file: string): string
}

const REPOSITORY_FILES: Files = {
  kindOf: (file) => {
    const absolute = path.join(REPOSITORY, file)
    if (!existsSync(absolute)) return undefined
    return statSync(absolute).isDirectory() ? 'folder' : 'file'
  },
  read: (file) => readFileSync(path.join(REPOSITORY, file), 'utf8')
}

/** What is wrong with a relative link, or undefined when it resolves (links with a scheme are not checked). */
function problemOf(link: Link, files: Files): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) return undefined
  const hashAt = link.target.indexOf('#')
  const file = hashAt < 0 ? link.target : link.target.slice(0, hashAt)
  const anchor = hashAt < 0 ? undefined : decodeURIComponent(link.target.slice(hashAt + 1))
  const resolved =
    file === '' ? link.page : path.normalize(path.join(path.dirname(link.page), decodeURIComponent(file)))
  if (resolved.startsWith('..')) return `${link.target} points outside the repository`
  const kind = files.kindOf(resolved)
  if (kind === undefined) return `${resolved} does not exist`
  if (anchor === undefined) return undefined
  if (kind !== 'file' || !resolved.endsWith('.md')) return `#${anchor}: ${resolved} is not a page`
  if (!anchorsOf(files.read(resolved)).has(anchor)) return `${resolved} has no heading with the anchor #${anchor}`
  return undefined
}

describe('the documentation links', () => {
  it('checks the README, the changelog and every page under docs/', () => {
    const pages = documentationPages()
    expect(pages).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'docs/ortto-api.md']))
    for (const page of pages) expect({ page, kind: REPOSITORY_FILES.kindOf(page) }).toEqual({ page, kind: 'file' })
  })

  it('resolve: every relative link names a file that exists, and every #anchor a heading of its page', () => {
    const problems = documentationPages().flatMap((page) =>
      linksOf(page, REPOSITORY_FILES.read(page)).flatMap((link) => {
        const problem = problemOf(link, REPOSITORY_FILES)
        return problem === undefined ? [] : [`${link.page}:${link.line}: (${link.target}) ${problem}`]
      })
    )
    expect(problems).toEqual([])
  })
})

describe('the link check itself', () => {
  it("gives a heading GitHub's anchor", () => {
    expect(headingAnchor('Replay: `npm run replay -- FILE…`')).toBe('replay-npm-run-replay----file')
    expect(headingAnchor("Delivery at Ortto's pace")).toBe('delivery-at-orttos-pace')
    expect(headingAnchor('Ortto (Audiences): syncing Engage audiences')).toBe(
      'ortto-audiences-syncing-engage-audiences'
    )
    expect(headingAnchor('Dry run: `POST /dry-run`')).toBe('dry-run-post-dry-run')
    expect(headingAnchor('`createAudience` and `getAudience`')).toBe('createaudience-and-getaudience')
    expect(headingAnchor('Upsert Contact (`upsertContactProfile`, hidden)')).toBe(
      'upsert-contact-upsertcontactprofile-hidden'
    )
    expect(headingAnchor('See [the sandbox](sandbox.md) _now_')).toBe('see-the-sandbox-now')
  })

  it('numbers repeated headings, and ignores headings and links inside code', () => {
    const page =
      '# Settings\n\n```sh\n# not a heading\n[x](nowhere.md)\n```\n\n## Settings\n\n`[y](nowhere.md)` and [z](#settings-1)\n'
    expect([...anchorsOf(page)]).toEqual(['settings', 'settings-1'])
    expect(linksOf('docs/page.md', page)).toEqual([{ page: 'docs/page.md', line: 10, target: '#settings-1' }])
  })

  it('finds a missing page, a missing anchor and a link out of the repository', () => {
    const files: Files = {
      kindOf: (file) =>
        ['docs/page.md', 'README.md'].includes(file) ? 'file' : file === 'examples' ? 'folder' : undefined,
      read: () => '# Page\n\n## A part\n'
    }
    const problem = (target: string) => problemOf({ page: 'docs/page.md', line: 1, target }, files)
    expect(problem('#a-part')).toBeUndefined()
    expect(problem('../README.md')).toBeUndefined()
    expect(problem('https://example.com/#anything')).toBeUndefined()
    expect(problem('#no-such-part')).toBe('docs/page.md has no heading with the anchor #no-such-part')
    expect(problem('missing.md')).toBe('docs/missing.md does not exist')
    expect(problem('../../outside.md')).toBe('../../outside.md points outside the repository')
    expect(problem('../examples#x')).toBe('#x: examples is not a page')
  })
})
