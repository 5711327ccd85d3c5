/**
 * `npm run export` on a stand-in action-destinations checkout: what it refuses and why, the
 * folder replaced wholly (stale upstream files gone, ours byte for byte, siblings untouched),
 * and the listing of what it added, changed and removed.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { main, USAGE } from '../../scripts/export'
import { EXPORTABLE, ourMetadata } from '../../scripts/export/destinations'
import { folderFiles, ourFolderFiles, ourSourceState } from '../../scripts/export/folder'
import { ExportRefusal } from '../../scripts/export/refusal'
import { assertMetadataCurrent, findDestination } from '../../scripts/export/run'
import { createCheckout, DESTINATIONS, REPOSITORY, SIBLING } from '../helpers/action-destinations-checkout'
import type { FixtureCheckout } from '../helpers/action-destinations-checkout'
import { spawnTs } from '../../../../test/helpers/run-ts'
import { readDoc } from '../../../../test/helpers/docs'

let scratch: string
const checkouts: FixtureCheckout[] = []

beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'export-test-'))
})
afterAll(() => {
  for (const checkout of checkouts) checkout.remove()
  rmSync(scratch, { recursive: true, force: true })
})

function checkout(options: Parameters<typeof createCheckout>[0] = {}): FixtureCheckout {
  const created = createCheckout(options)
  checkouts.push(created)
  return created
}

/** Runs the export in-process; the PR description goes to the scratch folder unless given. */
function runExport(args: string[]) {
  const log: string[] = []
  const errors: string[] = []
  const description = path.join(scratch, `pr-${checkouts.length}-${log.length}-${Math.random()}.md`)
  const withDescription = args.includes('--pr-description') ? args : [...args, '--pr-description', description]
  const code = main(withDescription, { log: (line) => log.push(line), error: (line) => errors.push(line) })
  return { code, log, errors: errors.join('\n'), description }
}

/** Every file of a folder with its bytes, as the comparisons below need them. */
const snapshotOf = (dir: string) =>
  new Map([...folderFiles(dir)].map(([file, bytes]) => [file, bytes.toString('base64')]))

/** The files git tracks under src/destinations/<name>/ in this repository, read from disk. */
function ourFiles(name: string): Map<string, string> {
  const prefix = `src/destinations/${name}/`
  const tracked = execFileSync('git', ['ls-files', '-z', '--', prefix], { cwd: REPOSITORY, encoding: 'utf8' })
    .split('\0')
    .filter(Boolean)
  return new Map(
    tracked.map((file) => [file.slice(prefix.length), readFileSync(path.join(REPOSITORY, file)).toString('base64')])
  )
}

describe('refusals', () => {
  it('prints the usage when the checkout or the destination is missing', () => {
    for (const args of [[], ['/some/checkout']]) {
      const run = runExport(args)
      expect(run.code).toBe(1)
      expect(run.errors).toContain('Give the checkout and the destination.')
      expect(run.errors).toContain(USAGE)
    }
  })

  it('refuses an unknown option and a flag without its file, with the usage', () => {
    const fixture = checkout()
    const unknown = runExport([fixture.root, 'ortto', '--push'])
    expect(unknown.code).toBe(1)
    expect(unknown.errors).toContain('Unknown option --push.')
    expect(unknown.errors).toContain(USAGE)
    const log: string[] = []
    const missing = main([fixture.root, 'ortto', '--catalog'], { log: (l) => log.push(l), error: (l) => log.push(l) })
    expect(missing).toBe(1)
    expect(log.join('\n')).toContain('--catalog needs a file name.')
    expect(snapshotOf(path.join(fixture.destinationsDir, 'ortto')).has('ortto-client.ts')).toBe(true)
  })

  it('refuses an unknown destination and names the valid ones', () => {
    const fixture = checkout()
    const run = runExport([fixture.root, 'ortto-actions'])
    expect(run.code).toBe(1)
    expect(run.errors).toContain('Unknown destination "ortto-actions".')
    expect(run.errors).toContain('ortto (Ortto (Actions)), ortto-audiences (Ortto (Audiences))')
  })

  it('refuses a path that is not an action-destinations checkout, saying why and what to pass', () => {
    const missing = path.join(scratch, 'no-such-folder')
    const noManifest = mkdtempSync(path.join(scratch, 'empty-'))
    const otherName = mkdtempSync(path.join(scratch, 'other-'))
    writeFileSync(path.join(otherName, 'package.json'), JSON.stringify({ name: 'actions-ortto' }))
    const brokenManifest = mkdtempSync(path.join(scratch, 'broken-'))
    writeFileSync(path.join(brokenManifest, 'package.json'), '{ not json')
    const noDestinations = mkdtempSync(path.join(scratch, 'bare-'))
    writeFileSync(path.join(noDestinations, 'package.json'), JSON.stringify({ name: 'action-destinations' }))

    const cases: Array<[string, string]> = [
      [missing, `${missing} is not a folder.`],
      [noManifest, `${noManifest} has no package.json, so it is not an action-destinations checkout.`],
      [otherName, 'is named "actions-ortto", not "action-destinations"'],
      [brokenManifest, 'package.json is not valid JSON.'],
      [noDestinations, `has no ${DESTINATIONS}/ folder, where cloud destinations live.`]
    ]
    for (const [given, reason] of cases) {
      const run = runExport([given, 'ortto'])
      expect(run.code).toBe(1)
      expect(run.errors).toContain(reason)
      expect(run.errors).toContain(
        'Pass the root of a clone of your fork of https://github.com/segmentio/action-destinations'
      )
    }
    expect(existsSync(path.join(noDestinations, DESTINATIONS))).toBe(false)
  })

  it('refuses a catalog file that is not a catalog metadata payload, touching nothing', () => {
    const fixture = checkout()
    const before = snapshotOf(fixture.destinationsDir)
    const notJson = path.join(scratch, 'not-json.json')
    writeFileSync(notJson, 'nope')
    const noActions = path.join(scratch, 'no-actions.json')
    writeFileSync(noActions, JSON.stringify({ slug: 'actions-ortto', presets: [] }))
    expect(runExport([fixture.root, 'ortto', '--catalog', notJson]).errors).toContain(
      `Cannot read the catalog metadata ${notJson}`
    )
    const noPresets = path.join(scratch, 'no-presets.json')
    writeFileSync(noPresets, JSON.stringify({ actions: { trackActivity: { fields: {} } } }))
    const noFields = path.join(scratch, 'no-fields.json')
    writeFileSync(noFields, JSON.stringify({ actions: { trackActivity: { title: 'Track' } }, presets: [] }))
    for (const file of [noActions, noPresets, noFields]) {
      const run = runExport([fixture.root, 'ortto', '--catalog', file])
      expect(run.code).toBe(1)
      expect(run.errors).toContain(`${file} is not a catalog metadata payload`)
    }
    expect(snapshotOf(fixture.destinationsDir)).toEqual(before)
  })

  it('refuses a file where the destination folder belongs', () => {
    const fixture = checkout()
    rmSync(path.join(fixture.destinationsDir, 'ortto'), { recursive: true })
    fixture.write(`${DESTINATIONS}/ortto`, 'not a folder\n')
    const run = runExport([fixture.root, 'ortto'])
    expect(run.code).toBe(1)
    expect(run.errors).toContain(
      `${path.join(fixture.destinationsDir, 'ortto')} is a file, where a destination folder belongs.`
    )
    expect(readFileSync(path.join(fixture.destinationsDir, 'ortto'), 'utf8')).toBe('not a folder\n')
  })

  it('refuses to export a metadata.json that is not what the definition generates', () => {
    const files = ourFolderFiles(REPOSITORY, 'ortto')
    const proposed = ourMetadata(findDestination('ortto'))
    expect(() => assertMetadataCurrent(files, proposed, 'ortto')).not.toThrow()
    const stale = new Map(files)
    stale.set('metadata.json', Buffer.from(JSON.stringify({ ...proposed, description: 'an older description' })))
    expect(() => assertMetadataCurrent(stale, proposed, 'ortto')).toThrow(
      'src/destinations/ortto/metadata.json is not what the definition generates.\nRun `npm run generate`'
    )
    stale.delete('metadata.json')
    expect(() => assertMetadataCurrent(stale, proposed, 'ortto')).toThrow(ExportRefusal)
  })

  it('refuses to replace a folder with uncommitted changes in a git checkout, unless forced', () => {
    const fixture = checkout({ git: true })
    fixture.write(`${DESTINATIONS}/ortto/utils.ts`, 'export const edited = true\n')
    fixture.write(`${DESTINATIONS}/ortto/notes.md`, 'work in progress\n')
    const before = snapshotOf(fixture.destinationsDir)

    const refused = runExport([fixture.root, 'ortto'])
    expect(refused.code).toBe(1)
    expect(refused.errors).toContain('has uncommitted changes that replacing it would lose')
    expect(refused.errors).toContain(`${DESTINATIONS}/ortto/utils.ts`)
    expect(refused.errors).toContain(`${DESTINATIONS}/ortto/notes.md`)
    expect(refused.errors).toContain('pass --force')
    expect(snapshotOf(fixture.destinationsDir)).toEqual(before)

    const forced = runExport([fixture.root, 'ortto', '--force'])
    expect(forced.code).toBe(0)
    expect(snapshotOf(path.join(fixture.destinationsDir, 'ortto'))).toEqual(ourFiles('ortto'))
  })
})

describe('replacing the folder', () => {
  it('replaces ortto/ wholly: stale files gone, ours byte for byte, siblings and index.ts untouched', () => {
    const fixture = checkout()
    const sibling = snapshotOf(path.join(fixture.destinationsDir, 'webhook'))
    const audiences = snapshotOf(path.join(fixture.destinationsDir, 'ortto-audiences'))
    const index = readFileSync(path.join(fixture.destinationsDir, 'index.ts'), 'utf8')

    const run = runExport([fixture.root, 'ortto'])
    expect(run.errors).toBe('')
    expect(run.code).toBe(0)

    const folder = snapshotOf(path.join(fixture.destinationsDir, 'ortto'))
    expect(folder).toEqual(ourFiles('ortto'))
    for (const stale of [
      'ortto-client.ts',
      'utils.ts',
      'common-fields.ts',
      '__tests__/__snapshots__/snapshot.test.ts.snap'
    ]) {
      expect(folder.has(stale)).toBe(false)
    }
    expect([...folder.keys()].some((file) => file.includes('__snapshots__'))).toBe(false)
    expect(snapshotOf(path.join(fixture.destinationsDir, 'webhook'))).toEqual(sibling)
    expect([...sibling.keys()].sort()).toEqual(Object.keys(SIBLING).sort())
    expect(snapshotOf(path.join(fixture.destinationsDir, 'ortto-audiences'))).toEqual(audiences)
    expect(readFileSync(path.join(fixture.destinationsDir, 'index.ts'), 'utf8')).toBe(index)
  })

  it('lists what it added, changed and removed, relative to the folder', () => {
    const fixture = checkout()
    const theirs = snapshotOf(path.join(fixture.destinationsDir, 'ortto'))
    const ours = ourFiles('ortto')
    const added = [...ours.keys()].filter((file) => !theirs.has(file)).sort()
    const removed = [...theirs.keys()].filter((file) => !ours.has(file)).sort()
    const changed = [...ours.keys()].filter((file) => theirs.has(file) && theirs.get(file) !== ours.get(file)).sort()
    // The fixture holds upstream's index.ts and types.ts (changed) and our constants.ts (unchanged).
    expect(changed).toEqual(expect.arrayContaining(['index.ts', 'types.ts']))
    expect(changed).not.toContain('constants.ts')

    const run = runExport([fixture.root, 'ortto'])
    const section = (title: string, sign: string) => {
      const start = run.log.findIndex((line) => line.startsWith(`  ${title} (`))
      const entries: string[] = []
      for (const line of run.log.slice(start + 1)) {
        if (!line.startsWith('    ')) break
        entries.push(line)
      }
      expect(run.log[start]).toBe(`  ${title} (${entries.length})`)
      return entries.map((line) => {
        expect(line.startsWith(`    ${sign} `)).toBe(true)
        return line.slice(6)
      })
    }
    expect(section('added', '+')).toEqual(added)
    expect(section('changed', '~')).toEqual(changed)
    expect(section('removed', '-')).toEqual(removed)
    expect(removed).toEqual(expect.arrayContaining(['ortto-client.ts', 'utils.ts', 'common-fields.ts']))
    expect(run.log).toContain('  unchanged (1)')
    expect(run.log[0]).toBe(`Replaced ${path.join(fixture.destinationsDir, 'ortto')} with Ortto (Actions):`)
    expect(run.log).toContain(`PR description: ${run.description}`)
  })

  it('with --dry-run lists the same and writes the description, leaving the checkout untouched', () => {
    const fixture = checkout()
    const before = snapshotOf(fixture.destinationsDir)
    const dry = runExport([fixture.root, 'ortto', '--dry-run'])
    expect(dry.code).toBe(0)
    expect(dry.log[0]).toContain('Would replace')
    expect(snapshotOf(fixture.destinationsDir)).toEqual(before)
    expect(readFileSync(dry.description, 'utf8')).toContain('## Backward compatibility')
    const real = runExport([fixture.root, 'ortto'])
    expect(real.log.slice(1, real.log.indexOf('  unchanged (1)') + 1)).toEqual(
      dry.log.slice(1, dry.log.indexOf('  unchanged (1)') + 1)
    )
  })

  it('a second export of a committed result finds nothing to change', () => {
    const fixture = checkout({ git: true })
    expect(runExport([fixture.root, 'ortto']).code).toBe(0)
    const uncommitted = runExport([fixture.root, 'ortto'])
    expect(uncommitted.code).toBe(1)
    expect(uncommitted.errors).toContain('an earlier export is fine to commit')
    fixture.git('add', '-A')
    fixture.git('commit', '--quiet', '-m', 'ortto: export')
    const again = runExport([fixture.root, 'ortto'])
    expect(again.code).toBe(0)
    expect(again.log).toEqual(
      expect.arrayContaining([
        '  added (0)',
        '  changed (0)',
        '  removed (0)',
        `  unchanged (${ourFiles('ortto').size})`
      ])
    )
    expect(again.log.some((line) => line.startsWith('Warning:') && line.includes('not a git work tree'))).toBe(false)
  })

  it('replaces ortto-audiences/ alone, and says its ortto/ must land first while the checkout has upstream’s', () => {
    const fixture = checkout()
    const ortto = snapshotOf(path.join(fixture.destinationsDir, 'ortto'))
    const first = runExport([fixture.root, 'ortto-audiences'])
    expect(first.code).toBe(0)
    expect(snapshotOf(path.join(fixture.destinationsDir, 'ortto-audiences'))).toEqual(ourFiles('ortto-audiences'))
    expect(snapshotOf(path.join(fixture.destinationsDir, 'ortto'))).toEqual(ortto)
    const warning = first.log.find((line) => line.includes("The checkout's ortto/ is not ours"))
    expect(warning).toContain('export ortto first')
    expect(readFileSync(first.description, 'utf8')).toMatch(
      /`ortto\/` differs from it in \d+ files: merge the `ortto` PR first/
    )

    runExport([fixture.root, 'ortto'])
    const second = runExport([fixture.root, 'ortto-audiences'])
    expect(second.log.some((line) => line.includes('ortto/ is not ours'))).toBe(false)
    expect(readFileSync(second.description, 'utf8')).toContain('`ortto/` is exactly that folder')
  })

  it('warns when the checkout does not register the folder under its catalog id', () => {
    const fixture = checkout({ registered: false })
    const run = runExport([fixture.root, 'ortto'])
    expect(run.code).toBe(0)
    expect(run.log).toContain(
      "Warning: The checkout's index.ts does not register('682db7017819e7e055f55cb4', './ortto')."
    )
    expect(readFileSync(run.description, 'utf8')).toContain(
      'does not register `./ortto` under `682db7017819e7e055f55cb4`'
    )
    const registered = runExport([checkout().root, 'ortto'])
    expect(registered.log.some((line) => line.includes('does not register'))).toBe(false)
  })

  it('runs as `npm run export` does, as a process with an exit code', async () => {
    const fixture = checkout()
    const description = path.join(scratch, 'process.md')
    const child = spawnTs('packages/destinations/scripts/export.ts', [
      fixture.root,
      'ortto',
      '--dry-run',
      '--pr-description',
      description
    ])
    const { code } = await child.exited
    expect(child.stderr.join('\n')).toBe('')
    expect(code).toBe(0)
    expect(child.stdout[0]).toContain('Would replace')
    expect(readFileSync(description, 'utf8')).toContain('## What changes for users')
    const refused = spawnTs('packages/destinations/scripts/export.ts', [fixture.root])
    expect((await refused.exited).code).toBe(1)
    expect(refused.stderr.join('\n')).toContain('Usage: npm run export')
  }, 60_000)
})

describe('what counts as our folder', () => {
  it('is what git tracks under src/destinations/<name>/: untracked and ignored files stay behind', () => {
    const repo = mkdtempSync(path.join(scratch, 'ours-'))
    const git = (...args: string[]) =>
      execFileSync(
        'git',
        ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-c', 'commit.gpgsign=false', ...args],
        {
          cwd: repo
        }
      )
    const write = (file: string, text: string) => {
      execFileSync('mkdir', ['-p', path.dirname(path.join(repo, file))])
      writeFileSync(path.join(repo, file), text)
    }
    write('.gitignore', 'dist/\n*.log\n')
    write('src/destinations/ortto/index.ts', 'tracked\n')
    write('src/destinations/ortto/client/deliver.ts', 'tracked too\n')
    write('src/destinations/other/index.ts', 'another folder\n')
    write('README.md', 'outside the folder\n')
    git('init', '--quiet')
    git('add', '-A')
    git('commit', '--quiet', '-m', 'x')
    write('src/destinations/ortto/scratch.ts', 'untracked\n')
    write('src/destinations/ortto/dist/index.js', 'build output\n')
    write('src/destinations/ortto/debug.log', 'ignored\n')
    write('src/destinations/ortto/index.ts', 'edited in the work tree\n')

    const files = ourFolderFiles(repo, 'ortto')
    expect([...files.keys()]).toEqual(['client/deliver.ts', 'index.ts'])
    expect(files.get('index.ts')?.toString()).toBe('edited in the work tree\n')
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim()
    expect(ourSourceState(repo, 'ortto')).toEqual({
      commit: head,
      modified: ['src/destinations/ortto/index.ts'],
      untracked: ['src/destinations/ortto/scratch.ts']
    })
  })
})

describe('docs/registering.md', () => {
  const page = readDoc('docs/registering.md')
  const section = page.slice(page.indexOf('## `npm run export`'), page.indexOf('## `npm run check:monorepo`'))

  it('documents every option of the export and the catalog files it compares with', () => {
    expect(section.length).toBeGreaterThan(0)
    for (const option of USAGE.match(/--[a-z-]+/g) ?? []) expect(section).toContain(`\`${option}`)
    for (const { catalogFile } of EXPORTABLE) {
      expect(existsSync(path.join(REPOSITORY, catalogFile))).toBe(true)
      expect(section).toContain(path.basename(catalogFile))
    }
  })
})
