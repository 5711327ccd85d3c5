/**
 * Sandbox: what the embedded Ortto sandbox holds: contacts with their activities, and audiences
 * with their members, searchable by user id or email (GET /console/sandbox?q=). The tab is hidden
 * when deliveries go elsewhere (a stand-in, or real Ortto).
 */
import { clock, errorText, facts, h, mount, plural, pretty, request } from '../dom.js'

export function sandboxView(found) {
  const { totals } = found
  return h(
    'div',
    null,
    h(
      'p',
      null,
      `The sandbox holds ${plural(totals.contacts, 'contact')}, ${plural(totals.activities, 'activity', 'activities')} ` +
        `and ${plural(totals.audiences, 'audience')}.` +
        (found.query
          ? ` Matching \u201c${found.query}\u201d: ${plural(found.contacts.length + found.moreContacts, 'contact')}.`
          : '')
    ),
    h('h3', null, 'Contacts'),
    found.contacts.length === 0
      ? h('p', { class: 'muted' }, found.query ? 'No contact has this user id or email.' : 'No contact yet.')
      : h('ul', { class: 'contacts' }, found.contacts.map(contactView)),
    found.moreContacts > 0 && h('p', { class: 'muted' }, `${found.moreContacts} more not shown: search to narrow.`),
    h('h3', null, 'Audiences'),
    found.audiences.length === 0
      ? h('p', { class: 'muted' }, found.query ? 'None of these contacts is in an audience.' : 'No audience yet.')
      : h('ul', { class: 'audiences' }, found.audiences.map(audienceView)),
    found.moreAudiences > 0 && h('p', { class: 'muted' }, `${found.moreAudiences} more audiences not shown.`)
  )
}

function contactView(c) {
  return h(
    'li',
    { class: 'card', 'data-contact': c.user_id ?? c.id },
    h('h4', null, c.user_id ?? '(no user id)', c.email && h('span', { class: 'muted' }, ` \u00b7 ${c.email}`)),
    facts([
      ['Contact id', c.id],
      ['Anonymous ids', c.anonymous_ids.join(', ') || '(none)'],
      ['Audiences', c.audience_ids.join(', ') || '(none)'],
      ['Updated', clock(c.updated_at)]
    ]),
    h('details', null, h('summary', null, 'Traits'), h('pre', { class: 'code' }, pretty(c.traits))),
    h(
      'details',
      null,
      h('summary', null, `Activities (${c.activities.length + c.moreActivities})`),
      c.activities.length === 0
        ? h('p', { class: 'muted' }, 'None.')
        : h(
            'ul',
            null,
            c.activities.map((a) =>
              h(
                'li',
                null,
                h('strong', null, a.event),
                ` at ${clock(a.timestamp ?? a.received_at)} `,
                h('code', null, JSON.stringify(a.properties))
              )
            )
          ),
      c.moreActivities > 0 && h('p', { class: 'muted' }, `${c.moreActivities} older not shown.`)
    )
  )
}

function audienceView(a) {
  return h(
    'li',
    { class: 'card', 'data-audience': a.name },
    h('h4', null, a.name),
    h(
      'p',
      { class: 'muted' },
      `${a.id} \u00b7 created ${clock(a.created_at)} \u00b7 ${plural(a.members.length + a.moreMembers, 'member')}`
    ),
    a.members.length > 0 &&
      h(
        'ul',
        null,
        a.members.map((m) => h('li', null, m.user_id ?? m.id, m.email && ` (${m.email})`))
      ),
    a.moreMembers > 0 && h('p', { class: 'muted' }, `${a.moreMembers} more members not shown.`)
  )
}

export function createSandboxView(panel) {
  const form = document.createElement('form')
  form.setAttribute('role', 'search')
  mount(
    form,
    h('label', { for: 'sandbox-query' }, 'User id or email'),
    h('input', {
      id: 'sandbox-query',
      type: 'search',
      autocomplete: 'off',
      placeholder: 'e.g. ada or ada@example.com'
    }),
    h('button', { type: 'submit' }, 'Search')
  )
  const body = document.createElement('div')
  body.id = 'sandbox-result'
  body.setAttribute('aria-live', 'polite')
  panel.append(form, body)
  const input = form.querySelector('input')
  let query = ''
  let visible = false
  let seen

  async function load() {
    const answer = await request('GET', `/console/sandbox?q=${encodeURIComponent(query)}`)
    if (answer.status !== 200) mount(body, h('p', { role: 'alert' }, errorText(answer)))
    else mount(body, sandboxView(answer.body))
  }
  const reload = () => load().catch((error) => mount(body, h('p', { role: 'alert' }, String(error))))

  form.addEventListener('submit', (e) => {
    e.preventDefault()
    query = input.value.trim()
    reload()
  })
  return {
    onShow() {
      visible = true
      seen = undefined
    },
    onHide() {
      visible = false
    },
    onState(state) {
      // Read again when the sandbox took requests since (its state may have changed).
      if (!visible || state.sandboxRequests === seen) return
      seen = state.sandboxRequests
      reload()
    }
  }
}
