/**
 * Failures: the deliveries that ended failed, with their reasons; the last attempts that did not
 * deliver everything, each with the exact requests to Ortto and Ortto's answers (the API key
 * already removed by the pipeline); and what the dead-letter file holds from this run.
 */
import { clock, errorText, exchangeView, facts, h, mount, plural, request } from '../dom.js'

export function deadLetterText(deadLetter) {
  if (!deadLetter) return 'none: DEAD_LETTER_FILE is not set, so failed events are not written anywhere'
  return `${plural(deadLetter.written, 'event')} written by this run to ${deadLetter.file}`
}

export function failuresView(data) {
  const { recentFailures, attempts } = data
  return h(
    'div',
    null,
    facts([
      ['Deliveries failed since start', String(data.failed)],
      ['Dead-letter file', deadLetterText(data.deadLetter)]
    ]),
    h('h3', null, 'Failed deliveries (the latest first)'),
    recentFailures.length === 0
      ? h('p', { class: 'muted' }, 'No delivery has failed.')
      : h(
          'table',
          { class: 'failures' },
          h(
            'thead',
            null,
            h(
              'tr',
              null,
              ['Message id', 'Mapping', 'Status', 'Reason', 'Attempts'].map((c) => h('th', { scope: 'col' }, c))
            )
          ),
          h(
            'tbody',
            null,
            recentFailures.map((f) =>
              h(
                'tr',
                null,
                h('td', null, h('code', null, f.messageId)),
                h('td', null, f.subscription),
                h('td', null, f.errortype ? `${f.status} ${f.errortype}` : f.status),
                h('td', { class: 'reason' }, f.reason),
                h('td', null, f.attempts)
              )
            )
          )
        ),
    h('h3', null, 'Attempts that did not deliver everything, with their requests'),
    attempts.latest.length === 0
      ? h('p', { class: 'muted' }, 'None yet.')
      : h('ol', { class: 'attempts', reversed: true }, attempts.latest.map(attemptView))
  )
}

function attemptView(a) {
  const outcome = [
    a.failed > 0 && `${a.failed} failed`,
    a.retrying > 0 && `${a.retrying} to be retried`,
    a.delivered > 0 && `${a.delivered} delivered`
  ]
    .filter(Boolean)
    .join(', ')
  const ids = a.messageIds.join(', ') + (a.moreMessageIds > 0 ? ` and ${a.moreMessageIds} more` : '')
  return h(
    'li',
    { class: 'card' },
    h('h4', null, `${clock(a.at)} · ${a.subscription} (${a.partnerAction}) · ${a.status}`),
    h('p', { class: 'reason' }, a.reason),
    h('p', null, `${outcome}. Events: `, h('code', null, ids)),
    a.exchanges.length === 0
      ? h('p', { class: 'muted' }, 'No request was made: the event was refused before anything was sent.')
      : a.exchanges.map((exchange, i) =>
          h(
            'details',
            { class: 'exchange-details' },
            h(
              'summary',
              null,
              `Request ${i + 1}: ${exchange.request.method} ${exchange.request.url} → ${exchange.response.statusCode}`
            ),
            exchangeView(exchange)
          )
        ),
    a.moreExchanges > 0 && h('p', { class: 'muted' }, `${plural(a.moreExchanges, 'more request')} not kept.`)
  )
}

export function createFailuresView(panel) {
  const body = document.createElement('div')
  body.setAttribute('aria-live', 'polite')
  panel.append(body)
  let seen = ''
  let visible = false

  async function load() {
    const answer = await request('GET', '/console/failures')
    if (answer.status !== 200) mount(body, h('p', { role: 'alert' }, errorText(answer)))
    else mount(body, failuresView(answer.body))
  }

  return {
    onShow() {
      visible = true
      seen = ''
    },
    onHide() {
      visible = false
    },
    onState(state) {
      // Read again only when something failed since.
      const now = `${state.failures.attempts}/${state.totals.failed}`
      if (!visible || now === seen) return
      seen = now
      load().catch((error) => mount(body, h('p', { role: 'alert' }, String(error))))
    }
  }
}
