/**
 * The PR description `npm run export` writes: the changes for users, the backward-compatibility
 * table and the checklist are computed from the catalog metadata compared with ours, so a
 * different catalog gives a different table and different ticks.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { main } from '../../scripts/export'
import type { CatalogMetadata, FieldMetadata } from '../../scripts/export/catalog-metadata'
import { userChanges } from '../../scripts/export/changes'
import { checklist, secretLike } from '../../scripts/export/checklist'
import { compareCompatibility } from '../../scripts/export/compatibility'
import type { CompatibilityRow } from '../../scripts/export/compatibility'
import { EXPORTABLE, ourMetadata } from '../../scripts/export/destinations'
import { findDestination } from '../../scripts/export/run'
import type { MonorepoEvidence } from '../../scripts/export/monorepo-evidence'
import { ourFolderFiles } from '../../scripts/export/folder'
import { folderDigest } from '../../scripts/folder-digest'
import { STEP_NAMES } from '../../scripts/monorepo/steps'
import type { MonorepoReport } from '../../scripts/monorepo/report'
import { createCheckout, REPOSITORY } from '../helpers/action-destinations-checkout'
import type { FixtureCheckout } from '../helpers/action-destinations-checkout'

const field = (overrides: Partial<FieldMetadata> = {}): FieldMetadata => ({
  label: 'A field',
  description: 'What it holds',
  type: 'string',
  required: false,
  multiple: false,
  allowNull: false,
  default: null,
  choices: null,
  format: null,
  ...overrides
})

/** A small catalog payload; `change` edits a copy. */
function catalog(change: (metadata: CatalogMetadata) => void = () => undefined): CatalogMetadata {
  const metadata: CatalogMetadata = {
    slug: 'actions-example',
    name: 'Example',
    description: 'Sends things',
    authentication: {
      scheme: 'custom',
      fields: { api_key: field({ label: 'API Key', type: 'password', required: true }) }
    },
    audienceConfig: null,
    actions: {
      track: {
        title: 'Track',
        description: 'Track things',
        hidden: false,
        defaultSubscription: 'type = "track"',
        hooks: null,
        fields: {
          event: field({ label: 'Event', required: true, default: { '@path': '$.event' } }),
          ip: field({ label: 'IP', allowNull: true, default: { '@path': '$.context.ip' } }),
          user_id: field({ required: { conditions: [{ fieldKey: 'anonymous_id', operator: 'is' }] } }),
          anonymous_id: field({ required: { conditions: [{ fieldKey: 'user_id', operator: 'is' }] } }),
          mode: field({
            choices: [
              { label: 'Add', value: 'add' },
              { label: 'Remove', value: 'remove' }
            ],
            default: 'add'
          })
        }
      }
    },
    presets: [{ name: 'Track', type: 'automatic', partnerAction: 'track', subscribe: 'type = "track"', mapping: {} }]
  }
  const copy = JSON.parse(JSON.stringify(metadata)) as CatalogMetadata
  change(copy)
  return copy
}

const row = (rows: CompatibilityRow[], check: CompatibilityRow['check'], subject: string) => {
  const found = rows.find((r) => r.check === check && r.subject === subject)
  if (!found) throw new Error(`no ${check} row for ${subject}`)
  return found
}

describe('the backward-compatibility table', () => {
  it('finds nothing to report between equal payloads', () => {
    const report = compareCompatibility(catalog(), catalog())
    expect(report.breaking).toEqual([])
    expect(report.rows.map((r) => [r.check, r.subject, r.verdict])).toEqual([
      ['settings', 'settings', 'compatible'],
      ['action key', '`track`', 'compatible'],
      ['field keys', '`track`', 'compatible'],
      ['required fields', '`track`', 'compatible'],
      ['defaults', '`track`', 'compatible'],
      ['field validation', '`track`', 'compatible'],
      ['presets', '`Track`', 'compatible']
    ])
  })

  it('reports a field key the catalog has and we do not as breaking', () => {
    const today = catalog((m) => (m.actions.track.fields.legacy = field()))
    const report = compareCompatibility(today, catalog())
    expect(row(report.rows, 'field keys', '`track`')).toMatchObject({
      today: '6 keys',
      proposed: '5 keys',
      verdict: 'breaking',
      note: 'removed: `legacy` (saved mappings set them)'
    })
    expect(report.breaking).toEqual(['field keys of `track`: removed: `legacy` (saved mappings set them)'])
  })

  it('reports a field that became required, or required always instead of under conditions, as breaking', () => {
    const today = catalog((m) => {
      m.actions.track.fields.event.required = false
      m.actions.track.fields.user_id.required = true
    })
    const proposed = catalog((m) => (m.actions.track.fields.user_id.required = { conditions: [] }))
    const forward = row(compareCompatibility(today, catalog()).rows, 'required fields', '`track`')
    expect(forward.verdict).toBe('breaking')
    expect(forward.note).toBe('newly required: `event`; no longer required: `user_id`')
    expect(forward.today).toBe('`user_id`, `anonymous_id` (conditional)')
    const stricter = row(
      compareCompatibility(
        proposed,
        catalog((m) => (m.actions.track.fields.user_id.required = true))
      ).rows,
      'required fields',
      '`track`'
    )
    expect(stricter).toMatchObject({ verdict: 'breaking', note: 'newly required: `user_id`' })
    const reworded = row(compareCompatibility(catalog(), proposed).rows, 'required fields', '`track`')
    expect(reworded).toMatchObject({ verdict: 'changed', note: 'conditions changed: `user_id`' })
  })

  it('reports changed defaults as affecting new mappings only', () => {
    const today = catalog((m) => (m.actions.track.fields.ip.default = { '@path': '$.traits.ip' }))
    const report = compareCompatibility(today, catalog())
    expect(row(report.rows, 'defaults', '`track`')).toEqual({
      check: 'defaults',
      subject: '`track`',
      today: '`ip`: `{"@path":"$.traits.ip"}`',
      proposed: '`ip`: `{"@path":"$.context.ip"}`',
      verdict: 'changed',
      note: 'new mappings only: saved mappings keep the values they hold'
    })
    expect(report.breaking).toEqual([])
  })

  it('tells a stricter field from a looser one', () => {
    const stricter = compareCompatibility(
      catalog(),
      catalog((m) => {
        const { fields } = m.actions.track
        fields.ip.format = 'ipv4'
        fields.ip.allowNull = false
        fields.mode.choices = [{ label: 'Add', value: 'add' }]
        fields.event.type = 'object'
      })
    )
    expect(row(stricter.rows, 'field validation', '`track`')).toMatchObject({
      verdict: 'breaking',
      note:
        '`event` type `"string"` → `"object"` (stricter); `ip` format none → `"ipv4"` (stricter); ' +
        '`ip` allowNull `true` → `false` (stricter); `mode` choices `[{"label":"Add","value":"add"},{"label":"Remove","value":"remove"}]` → `[{"label":"Add","value":"add"}]` (stricter)'
    })
    const looser = compareCompatibility(
      catalog((m) => (m.actions.track.fields.ip.format = 'ipv4')),
      catalog((m) => {
        m.actions.track.fields.mode.choices = null
      })
    )
    expect(row(looser.rows, 'field validation', '`track`')).toMatchObject({ verdict: 'changed' })
    expect(looser.breaking).toEqual([])
  })

  it('keeps a hidden action key, and breaks on a removed one', () => {
    const hidden = compareCompatibility(
      catalog(),
      catalog((m) => (m.actions.track.hidden = true))
    )
    expect(row(hidden.rows, 'action key', '`track`')).toMatchObject({
      today: 'offered',
      proposed: 'hidden',
      verdict: 'compatible',
      note: 'kept, hidden: saved mappings keep working; new mappings cannot pick it'
    })
    const removed = compareCompatibility(
      catalog((m) => (m.actions.identify = { ...m.actions.track, title: 'Identify' })),
      catalog()
    )
    expect(row(removed.rows, 'action key', '`identify`')).toMatchObject({ proposed: 'absent', verdict: 'breaking' })
    expect(removed.breaking).toEqual(['action key of `identify`: removed: mappings saved under it stop working'])
  })

  it('sees presets and settings', () => {
    const report = compareCompatibility(
      catalog(),
      catalog((m) => {
        m.presets[0].partnerAction = 'gone'
        m.presets.push({ name: 'Identify', partnerAction: 'track', subscribe: 'type = "identify"' })
        if (m.authentication?.fields) m.authentication.fields.region = field({ label: 'Region', required: true })
      })
    )
    expect(row(report.rows, 'presets', '`Track`')).toMatchObject({
      proposed: '`gone` on `type = "track"`',
      verdict: 'breaking',
      note: 'points at `gone`, which is no action of the destination'
    })
    expect(row(report.rows, 'presets', '`Identify`')).toMatchObject({ today: 'absent', verdict: 'changed' })
    expect(row(report.rows, 'settings', 'settings')).toMatchObject({
      verdict: 'breaking',
      note: 'newly required: `region` (saved instances lack a value); added: `region`'
    })
  })
})

describe('what changes for users', () => {
  it('lists each difference where it is', () => {
    const hook = (description: string) => ({
      onMappingSave: { label: 'Associate Audience', outputFields: { audience_name: { label: 'Name', description } } }
    })
    const changes = userChanges(
      catalog((m) => (m.actions.track.hooks = hook('linkted'))),
      catalog((m) => {
        m.actions.track.hooks = hook('linked')
        m.description = 'Sends things, honestly'
        m.actions.track.fields.ip.description = 'IPv4 only'
        m.actions.track.fields.namespace = field({ label: 'Namespace' })
        m.actions.extra = { ...m.actions.track, title: 'Extra', hidden: true }
        m.presets[0].subscribe = 'type = "track" or type = "page"'
      })
    )
    expect(changes).toEqual([
      { where: 'destination', change: 'description: `"Sends things"` → `"Sends things, honestly"`' },
      {
        where: 'action `track` hooks',
        change: 'onMappingSave.outputFields.audience_name.description: `"linkted"` → `"linked"`'
      },
      { where: '`track` › field `ip`', change: 'description: `"What it holds"` → `"IPv4 only"`' },
      { where: '`track` › field `namespace`', change: 'new field `"Namespace"`' },
      { where: 'action `extra`', change: 'new action `"Extra"`, hidden (not offered for new mappings)' },
      {
        where: 'preset `Track`',
        change: 'subscribe: `"type = \\"track\\""` → `"type = \\"track\\" or type = \\"page\\""`'
      }
    ])
  })
})

const NO_REPORT: MonorepoEvidence = {
  file: 'reports/monorepo-check.json',
  steps: [],
  gap: 'there is no report of `npm run check:monorepo` at reports/monorepo-check.json'
}

/** A report of a full passing check, as check:monorepo writes it. */
const passingSteps = () =>
  STEP_NAMES.map((name) => ({
    name,
    ok: true,
    seconds: 1.25,
    detail: name === 'jest' ? '14 suites, 651 passed, 0 failed' : ''
  }))

describe('the checklist', () => {
  const answers = (today: CatalogMetadata, proposed: CatalogMetadata, monorepo: MonorepoEvidence = NO_REPORT) =>
    checklist({
      folder: 'example',
      proposed,
      compatibility: compareCompatibility(today, proposed),
      testSuites: ['a.test.ts'],
      monorepo
    })

  it('ticks backward compatibility only when nothing breaks, and says what does', () => {
    const clean = answers(catalog(), catalog()).find((item) => item.line.includes('backward compatibility'))
    expect(clean?.ticked).toBe(true)
    const broken = answers(
      catalog((m) => (m.actions.track.fields.event.required = false)),
      catalog()
    ).find((item) => item.line.includes('backward compatibility'))
    expect(broken?.ticked).toBe(false)
    expect(broken?.answer).toContain('required fields of `track`: newly required: `event`')
  })

  it('never ticks what the export cannot run, and gives the command instead', () => {
    const items = answers(catalog(), catalog())
    const unit = items.find((item) => item.line.startsWith('Added [unit tests]'))
    const e2e = items.find((item) => item.line.startsWith('Tested end-to-end'))
    expect(unit).toMatchObject({ ticked: false })
    expect(unit?.answer).toContain('`yarn cloud test --testPathPattern=src/destinations/example/`')
    expect(unit?.answer).toContain('1 test suites (`a.test.ts`)')
    expect(e2e).toMatchObject({ ticked: false })
    expect(e2e?.answer).toContain('`./bin/run serve --destination=example`')
    expect(items.filter((item) => item.line.startsWith('[Segmenters]')).every((item) => !item.ticked)).toBe(true)
  })

  it('ticks the unit tests from a passing check:monorepo report of the exported contents, quoting its jest run', () => {
    const evidence: MonorepoEvidence = { file: 'r.json', checkedAt: '2026-12-06T10:00:00.000Z', steps: passingSteps() }
    const unit = answers(catalog(), catalog(), evidence).find((item) => item.line.startsWith('Added [unit tests]'))
    expect(unit?.ticked).toBe(true)
    expect(unit?.answer).toContain(
      'on 2026-12-06T10:00:00.000Z on these very contents: the 1 test suites (`a.test.ts`)'
    )
    expect(unit?.answer).toContain('14 suites, 651 passed, 0 failed')
    const failing = answers(catalog(), catalog(), {
      ...evidence,
      gap: '`npm run check:monorepo` failed at jest on then'
    })
    expect(failing.find((item) => item.line.startsWith('Added [unit tests]'))).toMatchObject({
      ticked: false,
      answer: expect.stringContaining('**not ticked**: `npm run check:monorepo` failed at jest on then.') as unknown
    })
  })

  it('ticks password-typed secrets only when every secret-like setting is a password', () => {
    const security = (metadata: CatalogMetadata) =>
      answers(metadata, metadata).find((item) => item.section === 'Security Review')
    const good = security(catalog())
    expect(good?.ticked).toBe(true)
    expect(good?.line).toBe(
      "**Reviewed all field definitions** for sensitive data (API keys, tokens, passwords, client secrets) and confirmed they use `type: 'password'`"
    )
    const bad = security(
      catalog((m) => {
        if (m.authentication?.fields) m.authentication.fields.client_secret = field({ label: 'Client Secret' })
      })
    )
    expect(bad).toMatchObject({
      ticked: false,
      answer: '**not ticked**: secret-like `client_secret` is not of type password.'
    })
    expect(['api_key', 'client-secret', 'Token', 'auth.code', 'password'].every(secretLike)).toBe(true)
    expect(['apiKey', 'keyword', 'region', 'passcode'].some(secretLike)).toBe(false)
  })
})

describe('the description written for our folders', () => {
  let scratch: string
  let fixture: FixtureCheckout
  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'pr-description-'))
    fixture = createCheckout()
  })
  afterAll(() => {
    fixture.remove()
    rmSync(scratch, { recursive: true, force: true })
  })

  /** The description; without `report`, check:monorepo's report is one that does not exist. */
  function descriptionFor(name: string, catalogFile?: string, report = path.join(scratch, 'no-report.json')): string {
    const file = path.join(scratch, `${name}-${Math.random()}.md`)
    const args = [fixture.root, name, '--dry-run', '--pr-description', file, '--monorepo-report', report]
    if (catalogFile) args.push('--catalog', catalogFile)
    const lines: string[] = []
    expect(main(args, { log: (l) => lines.push(l), error: (l) => lines.push(l) })).toBe(0)
    return readFileSync(file, 'utf8')
  }

  const published = (name: string) =>
    JSON.parse(
      readFileSync(path.join(REPOSITORY, EXPORTABLE.find((d) => d.name === name)?.catalogFile ?? ''), 'utf8')
    ) as CatalogMetadata

  it('keeps today’s catalog key of the contact action, hidden, and moves the preset to upsertContact', () => {
    const text = descriptionFor('ortto')
    expect(text).toContain(
      '| action key | `upsertContactProfile` | offered | hidden | compatible | kept, hidden: saved mappings keep working; new mappings cannot pick it |'
    )
    expect(text).toContain(
      '| action key | `upsertContact` | absent | offered | compatible | new: no mapping is saved under it yet |'
    )
    expect(text).toContain('- preset `Upsert Contact`: partnerAction: `"upsertContactProfile"` → `"upsertContact"`')
    for (const key of Object.keys(published('ortto').actions)) expect(text).toContain(`| field keys | \`${key}\` |`)
  })

  it('reports a field key the catalog has and our definition lacks, and unticks backward compatibility', () => {
    const today = published('ortto')
    today.actions.trackActivity.fields.legacy_field = field({ label: 'Legacy' })
    const file = path.join(scratch, 'extra-field.json')
    writeFileSync(file, JSON.stringify(today))
    const count = Object.keys(today.actions.trackActivity.fields).length
    const text = descriptionFor('ortto', file)
    expect(text).toContain(
      `| field keys | \`trackActivity\` | ${count} keys | ${count - 1} keys | breaking | removed: \`legacy_field\` (saved mappings set them) |`
    )
    expect(text).toContain('**1 breaking change(s)** for what customers have saved:')
    expect(text).toContain(
      '- [ ] [If destination is already live] Tested for backward compatibility of destination. **Note:** New required fields are a breaking change.\n' +
        "  — **not ticked**: against today's published catalog metadata, field keys of `trackActivity`: removed: `legacy_field`"
    )
    expect(text).toContain('- `trackActivity` › field `legacy_field`: field removed')
  })

  it('reports a required set that differs from the catalog’s', () => {
    const today = published('ortto-audiences')
    const requiredKey = Object.entries(
      ourMetadata(findDestination('ortto-audiences')).actions.syncAudience.fields
    ).find(([, f]) => f.required === true)?.[0]
    expect(requiredKey).toBeDefined()
    today.actions.syncAudience.fields[requiredKey ?? ''].required = false
    const file = path.join(scratch, 'fewer-required.json')
    writeFileSync(file, JSON.stringify(today))
    const text = descriptionFor('ortto-audiences', file)
    expect(text).toMatch(
      new RegExp(
        `\\| required fields \\| \`syncAudience\` \\|[^\\n]*\\| breaking \\| newly required: \`${requiredKey}\` \\|`
      )
    )
    expect(text).toContain('- [ ] [If destination is already live] Tested for backward compatibility')
  })

  it('says what changed for users in a label, from the data', () => {
    const today = published('ortto')
    const ours = ourMetadata(findDestination('ortto')).actions.trackActivity.fields.event
    today.actions.trackActivity.fields.event.label = 'Old label'
    const file = path.join(scratch, 'label.json')
    writeFileSync(file, JSON.stringify(today))
    expect(descriptionFor('ortto', file)).toContain(
      `- \`trackActivity\` › field \`event\`: label: \`"Old label"\` → \`${JSON.stringify(ours.label)}\``
    )
  })

  it('ticks only the boxes the export established, and the security box in the wording Segment’s check reads', () => {
    const text = descriptionFor('ortto')
    expect(text).toContain('- [ ] Added [unit tests]')
    expect(text).toContain('- [ ] Tested end-to-end using the [local server]')
    expect(text).toContain(
      "- [x] **Reviewed all field definitions** for sensitive data (API keys, tokens, passwords, client secrets) and confirmed they use `type: 'password'`"
    )
  })

  describe('with check:monorepo’s report', () => {
    const digestOf = (name: string) => folderDigest(ourFolderFiles(REPOSITORY, name))
    function reportFile(change: (report: MonorepoReport) => void = () => undefined): string {
      const report: MonorepoReport = {
        ok: true,
        checkedAt: '2026-12-06T10:00:00.000Z',
        folders: { ortto: digestOf('ortto'), 'ortto-audiences': digestOf('ortto-audiences') },
        steps: passingSteps()
      }
      change(report)
      const file = path.join(scratch, `report-${Math.random()}.json`)
      writeFileSync(file, JSON.stringify(report))
      return file
    }

    it('ticks the unit tests and lists what was run when the report passed on these contents', () => {
      const text = descriptionFor('ortto', undefined, reportFile())
      expect(text).toContain('- [x] Added [unit tests]')
      expect(text).toContain(
        "What was run before this export: `npm run check:monorepo` (2026-12-06T10:00:00.000Z), this repository's toolchain on these contents:"
      )
      for (const name of STEP_NAMES) expect(text).toContain(`- passed \`${name}\` in 1.3 s`)
      expect(text).toContain('- passed `jest` in 1.3 s: 14 suites, 651 passed, 0 failed')
    })

    it('does not tick them from a report of other contents, naming the folder that differs', () => {
      const changed = reportFile((report) => (report.folders.ortto = 'sha256:0000'))
      const text = descriptionFor('ortto', undefined, changed)
      expect(text).toContain('- [ ] Added [unit tests]')
      expect(text).toContain('(2026-12-06T10:00:00.000Z) is of other contents of ortto/ than those exported')
      expect(text).toContain('Nothing was run before this export that covers these contents')
      // Ortto (Audiences) runs ortto's client in its tests: a change there matters to it too.
      expect(descriptionFor('ortto-audiences', undefined, changed)).toContain('is of other contents of ortto/')
    })

    it('does not tick them after a failed or partial check, and lists the failed step', () => {
      const failed = descriptionFor(
        'ortto',
        undefined,
        reportFile((report) => {
          report.ok = false
          report.steps[5] = { ...report.steps[5], ok: false, detail: '1 failed' }
        })
      )
      expect(failed).toContain('**not ticked**: `npm run check:monorepo` failed at jest on 2026-12-06T10:00:00.000Z.')
      expect(failed).toContain('- **failed** `jest` in 1.3 s')
      const partial = descriptionFor(
        'ortto',
        undefined,
        reportFile((report) => report.steps.splice(4))
      )
      expect(partial).toContain('**not ticked**: `npm run check:monorepo` did not run eslint, jest on')
    })

    it('says what is wrong with a report it cannot use, and when there is none', () => {
      const broken = path.join(scratch, 'broken.json')
      writeFileSync(broken, '{"ok": true')
      expect(descriptionFor('ortto', undefined, broken)).toMatch(
        /the report at \S*broken\.json cannot be used: it is not JSON/
      )
      const foreign = path.join(scratch, 'foreign.json')
      writeFileSync(foreign, JSON.stringify({ ok: true, steps: [] }))
      expect(descriptionFor('ortto', undefined, foreign)).toContain(
        'cannot be used: it is not a report `npm run check:monorepo` writes'
      )
      expect(descriptionFor('ortto')).toMatch(
        /\*\*not ticked\*\*: there is no report of `npm run check:monorepo` at \S*no-report\.json/
      )
    })
  })
})
