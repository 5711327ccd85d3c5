/**
 * Mappings: each subscription with its trigger and fields, the mapping file's version and the last
 * check's problems, from GET /status's `mappings`. A pipeline that reports the older shape (a bare
 * list of subscriptions) is shown with what it has.
 */
import { clock, facts, h, mount, pretty, request } from '../dom.js'

/** How often the view reads /status while it is shown (a mapping file may be reloaded at any time). */
const READ_EVERY_MS = 2_000

/** /status's `mappings` in the shape the view shows, whichever shape the pipeline reports. */
export function normalizeMappings(mappings) {
  if (Array.isArray(mappings)) {
    return {
      file: null,
      version: null,
      loadedAt: null,
      checkedAt: null,
      problems: [],
      subscriptions: mappings.map((s) => ({ ...s, mapping: s.mapping ?? null })),
      reportsVersion: false
    }
  }
  const m = mappings ?? {}
  return {
    file: m.file ?? null,
    version: m.version ?? null,
    loadedAt: m.loadedAt ?? null,
    checkedAt: m.checkedAt ?? null,
    problems: Array.isArray(m.problems) ? m.problems : [],
    subscriptions: Array.isArray(m.subscriptions) ? m.subscriptions : [],
    reportsVersion: true
  }
}

/** Where a problem is: `entry 2 "Purchases", mapping.event at column 5` (as the pipeline's log says it). */
export function problemPlace(p) {
  const entry =
    p.index === undefined ? '' : `entry ${p.index}${p.name === undefined ? '' : ` ${JSON.stringify(p.name)}`}`
  const key = `${(p.path ?? []).join('.')}${p.column === undefined ? '' : ` at column ${p.column}`}`
  return [entry, key].filter((part) => part !== '').join(', ')
}

export function mappingsView(raw) {
  const m = normalizeMappings(raw)
  const when = (iso) => (iso ? clock(iso) : 'not reported')
  return h(
    'div',
    null,
    facts([
      [
        'Mapping file',
        m.file ?? (m.reportsVersion ? 'none: the presets are in force' : 'not reported by this pipeline')
      ],
      ['Version in force', m.version ?? 'not reported by this pipeline'],
      ['Loaded', when(m.loadedAt)],
      ['Last checked', when(m.checkedAt)]
    ]),
    h('h3', null, 'Problems found by the last check'),
    m.problems.length === 0
      ? h(
          'p',
          { class: 'ok', 'data-problems': 0 },
          m.reportsVersion ? 'None: the last check passed.' : 'None reported.'
        )
      : h(
          'ul',
          { class: 'problems', role: 'alert', 'data-problems': m.problems.length },
          m.problems.map((p) => {
            const place = problemPlace(p)
            return h('li', null, place && h('strong', null, `${place}: `), p.message)
          })
        ),
    h('h3', null, `Subscriptions (${m.subscriptions.length})`),
    h(
      'ol',
      { class: 'subscriptions', start: 0 },
      m.subscriptions.map((s, i) =>
        h(
          'li',
          { class: 'card', 'data-subscription': s.name ?? `entry ${i}` },
          h(
            'h4',
            null,
            s.name ?? `entry ${i}`,
            h('span', { class: 'muted' }, ` \u00b7 ${s.partnerAction} \u00b7 ${s.destination}`)
          ),
          h('p', null, 'Trigger: ', h('code', null, s.subscribe || '(none)')),
          s.mapping === null
            ? h('p', { class: 'muted' }, 'Fields: not reported by this pipeline.')
            : fieldsTable(s.mapping)
        )
      )
    )
  )
}

function fieldsTable(mapping) {
  const entries = Object.entries(mapping)
  if (entries.length === 0) return h('p', { class: 'muted' }, 'Fields: the action\u2019s defaults.')
  return h(
    'table',
    { class: 'fields' },
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Value'))),
    h(
      'tbody',
      null,
      entries.map(([key, value]) =>
        h(
          'tr',
          null,
          h('th', { scope: 'row' }, h('code', null, key)),
          h('td', null, h('pre', { class: 'code' }, pretty(value)))
        )
      )
    )
  )
}

export function createMappingsView(panel) {
  const body = document.createElement('div')
  panel.append(body)
  let timer
  let shown = ''

  async function load() {
    const answer = await request('GET', '/status')
    if (answer.status !== 200) return mount(body, h('p', { role: 'alert' }, `GET /status answered ${answer.status}`))
    const text = JSON.stringify(answer.body.mappings)
    if (text === shown) return
    shown = text
    mount(body, mappingsView(answer.body.mappings))
  }
  const reload = () => load().catch((error) => mount(body, h('p', { role: 'alert' }, String(error))))

  return {
    onShow() {
      shown = ''
      reload()
      timer = setInterval(reload, READ_EVERY_MS)
    },
    onHide() {
      clearInterval(timer)
    }
  }
}
