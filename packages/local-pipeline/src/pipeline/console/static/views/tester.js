/**
 * Event tester: paste an event; "Dry run" shows which subscriptions match it, each mapped payload
 * and the exact requests (POST /dry-run, nothing sent); "Send" posts it through the normal ingest
 * (POST /v1/batch) and follows its outcome (GET /outcomes) until every delivery has ended.
 */
import { bodyShown, clock, errorText, h, mount, pretty, request } from '../dom.js'

const EXAMPLE = {
  type: 'identify',
  userId: 'ada',
  traits: { email: 'ada@example.com', first_name: 'Ada', last_name: 'Lovelace' }
}

/** How often, and how long, a sent event's outcome is asked for. */
const OUTCOME_EVERY_MS = 1_000
const OUTCOME_FOR_MS = 120_000

/** The pasted text as an event, or why it is not one. */
export function readEvent(text) {
  let event
  try {
    event = JSON.parse(text)
  } catch (error) {
    return {
      error: `The event is not valid JSON: ${error.message}. Paste one Segment event, e.g. {"type": "identify", "userId": "ada"}.`
    }
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    return { error: 'Paste one Segment event: a JSON object such as {"type": "identify", "userId": "ada"}.' }
  }
  if (typeof event.type !== 'string') {
    return { error: 'The event has no "type": give it one of identify, track, page, screen, group or alias.' }
  }
  return { event }
}

/** What /dry-run answered, one section per event and subscription. */
export function dryRunView(answer) {
  const planned = answer.events ?? []
  return h(
    'div',
    { class: 'dry-run' },
    answer.rejected?.map((r) => h('p', { role: 'alert' }, `Refused: ${r.reason}`)),
    planned.map((event) =>
      event.unsubscribed
        ? h(
            'p',
            { class: 'muted', 'data-unsubscribed': true },
            `No subscription matches this event: it ${event.unsubscribed}.`
          )
        : [
            h(
              'p',
              null,
              `${event.subscriptions.length} matching: ${event.subscriptions.map((s) => s.subscription).join(', ')}`
            ),
            event.subscriptions.map((s) =>
              h(
                'section',
                { class: 'card', 'data-subscription': s.subscription },
                h('h4', null, `${s.subscription} (${s.partnerAction})`),
                h(
                  'p',
                  { class: s.valid ? 'ok' : 'bad' },
                  s.valid
                    ? (s.note ?? `Would be sent: ${s.requests.length} request${s.requests.length === 1 ? '' : 's'}.`)
                    : `Would fail: ${s.failure.status} ${s.failure.reason}`
                ),
                s.payload && [h('h5', null, 'Mapped payload'), h('pre', { class: 'code' }, pretty(s.payload))],
                s.requests.map((r, i) => [
                  h('h5', null, `Request ${i + 1}`),
                  h(
                    'pre',
                    { class: 'code', 'data-request': i },
                    `${r.method} ${r.url}\n${Object.entries(r.headers)
                      .map(([k, v]) => `${k}: ${v}`)
                      .join('\n')}\n\n${bodyShown(r.body)}`
                  )
                ])
              )
            )
          ]
    )
  )
}

/** What /outcomes answered for a sent event. */
export function outcomesView(messageId, answer) {
  const outcomes = answer.outcomes ?? []
  return h(
    'div',
    null,
    h('p', null, 'Message id ', h('code', null, messageId), outcomes.length === 0 ? ': no outcome yet.' : ':'),
    outcomes.length > 0 &&
      h(
        'table',
        { class: 'outcomes' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['Mapping', 'Outcome', 'Status', 'Reason', 'Attempts', 'At'].map((c) => h('th', { scope: 'col' }, c))
          )
        ),
        h(
          'tbody',
          null,
          outcomes.map((o) =>
            h(
              'tr',
              { 'data-outcome': o.outcome },
              h('td', null, o.subscription ?? '(none)'),
              h('td', null, o.outcome),
              h('td', null, o.status ?? ''),
              h('td', { class: 'reason' }, o.reason ?? ''),
              h('td', null, o.attempts),
              h('td', null, clock(o.at))
            )
          )
        )
      )
  )
}

const settled = (answer) => answer.found > 0 && answer.outcomes.every((o) => o.outcome !== 'pending')

export function createTesterView(panel) {
  const form = document.createElement('form')
  form.noValidate = true
  mount(
    form,
    h('label', { for: 'event-text' }, 'Event (JSON, in the shape of Segment\u2019s HTTP Tracking API)'),
    h('textarea', { id: 'event-text', rows: 12, spellcheck: 'false', class: 'code' }),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'submit', id: 'dry-run' }, 'Dry run'),
      h('button', { type: 'button', id: 'send' }, 'Send')
    )
  )
  const textarea = form.querySelector('textarea')
  textarea.value = pretty(EXAMPLE)
  const result = document.createElement('div')
  result.id = 'tester-result'
  result.setAttribute('aria-live', 'polite')
  panel.append(form, result)
  let following = 0

  const fail = (message) => mount(result, h('p', { role: 'alert' }, message))

  async function dryRun() {
    const read = readEvent(textarea.value)
    if (read.error) return fail(read.error)
    const answer = await request('POST', '/dry-run', read.event)
    if (answer.status !== 200) return fail(`The dry run was refused: ${errorText(answer)}`)
    mount(result, h('h3', null, 'Dry run: nothing was sent'), dryRunView(answer.body))
  }

  async function send() {
    const read = readEvent(textarea.value)
    if (read.error) return fail(read.error)
    const event = read.event
    const added = typeof event.messageId !== 'string' || event.messageId === ''
    // The outcome is looked up by messageId: an event without one gets one here, and the text shows it.
    if (added) {
      event.messageId = `console-${crypto.randomUUID()}`
      textarea.value = pretty(event)
    }
    const answer = await request('POST', '/v1/batch', { batch: [event] })
    if (answer.status !== 200) return fail(`The pipeline refused the event: ${errorText(answer)}`)
    if (answer.body.accepted === 0) return fail(`The pipeline refused the event: ${answer.body.rejected?.[0]?.reason}`)
    const heading = h('h3', null, `Sent${added ? ' (with a messageId added)' : ''}: its outcome`)
    const mine = ++following
    const until = Date.now() + OUTCOME_FOR_MS
    for (;;) {
      const outcome = await request('GET', `/outcomes?messageId=${encodeURIComponent(event.messageId)}`)
      if (mine !== following) return
      if (outcome.status !== 200) return fail(`The outcome could not be read: ${errorText(outcome)}`)
      mount(result, heading, outcomesView(event.messageId, outcome.body))
      if (settled(outcome.body)) return
      if (Date.now() > until) {
        return result.append(
          Object.assign(document.createElement('p'), {
            textContent: 'Still pending: the pipeline keeps trying; look it up later in GET /outcomes.'
          })
        )
      }
      await new Promise((resolve) => setTimeout(resolve, OUTCOME_EVERY_MS))
    }
  }

  const run = (action) => action().catch((error) => fail(`No answer from the pipeline: ${error}`))
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    run(dryRun)
  })
  form.querySelector('#send').addEventListener('click', () => run(send))
  return {}
}
