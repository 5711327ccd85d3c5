/**
 * Event delivery: per subscription, what was delivered, retried and failed since start, what is
 * held now, and the last 15 minutes by minute (a chart, and the same numbers in a table).
 */
import { createChart } from '../chart.js'
import { clock, facts, h, mount, plural } from '../dom.js'

const keyOf = (s) => JSON.stringify([s.name, s.partnerAction])

/** The numbers of one subscription. */
export function countsView(s) {
  const counts = [
    ['Delivered', 'delivered', s.delivered],
    ['Retried', 'retried', s.retried],
    ['Failed', 'failed', s.failed],
    ['Held now', 'held', s.held]
  ]
  return h(
    'dl',
    { class: 'facts', 'data-counts': s.name },
    counts.map(([term, key, value]) => h('div', null, h('dt', null, term), h('dd', { 'data-count': key }, value)))
  )
}

/** The per-minute numbers as a table: the chart's text alternative. */
export function minutesTable(s) {
  return h(
    'details',
    { class: 'minutes' },
    h('summary', null, 'Per minute, as a table'),
    h(
      'table',
      null,
      h('caption', null, `${s.name}: the last ${s.minutes.length} minutes`),
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          ['Minute', 'Delivered', 'Retried', 'Failed'].map((c) => h('th', { scope: 'col' }, c))
        )
      ),
      h(
        'tbody',
        null,
        s.minutes.map((m) =>
          h(
            'tr',
            null,
            h('th', { scope: 'row' }, clock(m.minute)),
            h('td', null, m.delivered),
            h('td', null, m.retried),
            h('td', null, m.failed)
          )
        )
      )
    )
  )
}

export const chartLabel = (s) =>
  `${s.name}, last 15 minutes: ${plural(
    s.minutes.reduce((n, m) => n + m.delivered, 0),
    'delivery',
    'deliveries'
  )} ` +
  `delivered, ${s.minutes.reduce((n, m) => n + m.retried, 0)} retried, ${s.minutes.reduce((n, m) => n + m.failed, 0)} failed`

export function totalsView(totals) {
  return facts([
    ['Events received', String(totals.received)],
    ['Matched no mapping', String(totals.unsubscribed)],
    ['Delivered', String(totals.delivered)],
    ['Retried', String(totals.retried)],
    ['Failed', String(totals.failed)],
    ['Held now', String(totals.pending)]
  ])
}

export function createDeliveryView(panel) {
  const totals = document.createElement('div')
  const list = document.createElement('div')
  list.className = 'cards'
  panel.append(totals, list)
  /** key → its elements and chart; rebuilt when the subscriptions change (a mapping reload). */
  let cards = new Map()
  let shownKeys = ''

  function build(subscriptions) {
    for (const card of cards.values()) card.chart?.destroy()
    cards = new Map()
    list.replaceChildren()
    for (const s of subscriptions) {
      const article = document.createElement('article')
      article.className = 'card'
      article.setAttribute('aria-labelledby', `sub-${cards.size}`)
      const title = document.createElement('h3')
      title.id = `sub-${cards.size}`
      title.textContent = s.name
      const what = document.createElement('p')
      what.className = 'muted'
      what.textContent = `${s.partnerAction} · ${s.destination}`
      const counts = document.createElement('div')
      const chart = document.createElement('div')
      chart.className = 'chart'
      chart.setAttribute('role', 'img')
      const table = document.createElement('div')
      article.append(title, what, counts, chart, table)
      list.append(article)
      cards.set(keyOf(s), { counts, chartElement: chart, table, chart: undefined })
    }
  }

  return {
    onState(state) {
      mount(totals, totalsView(state.totals))
      const keys = state.subscriptions.map(keyOf).join('\n')
      if (keys !== shownKeys) {
        build(state.subscriptions)
        shownKeys = keys
      }
      for (const s of state.subscriptions) {
        const card = cards.get(keyOf(s))
        mount(card.counts, countsView(s))
        const open = card.table.querySelector('details')?.open
        mount(card.table, minutesTable(s))
        if (open) card.table.querySelector('details').open = true
        card.chartElement.setAttribute('aria-label', chartLabel(s))
        if (card.chart) card.chart.update(s.minutes)
        else if (window.uPlot) card.chart = createChart(card.chartElement, s.minutes)
      }
    }
  }
}
