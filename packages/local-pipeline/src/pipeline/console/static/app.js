/**
 * The console's page: five views as tabs (the WAI-ARIA tabs pattern: arrow keys, Home and End
 * move between tabs; Tab goes into the view), the URL's #hash naming the view shown, and one live
 * stream whose state goes to every view.
 */
import { connectLive } from './live.js'
import { createDeliveryView } from './views/delivery.js'
import { createFailuresView } from './views/failures.js'
import { createMappingsView } from './views/mappings.js'
import { createSandboxView } from './views/sandbox.js'
import { createTesterView } from './views/tester.js'

const VIEWS = {
  delivery: createDeliveryView,
  failures: createFailuresView,
  tester: createTesterView,
  sandbox: createSandboxView,
  mappings: createMappingsView
}

const tabs = [...document.querySelectorAll('[role="tab"]')]
const views = Object.fromEntries(
  Object.entries(VIEWS).map(([name, create]) => [name, create(document.getElementById(`panel-${name}`))])
)
let shown
let lastState
/** The view the URL asked for, shown once the first state says whether it exists (the Sandbox may not). */
let wanted = location.hash.slice(1)

const nameOf = (tab) => tab.id.replace(/^tab-/, '')
const visibleTabs = () => tabs.filter((tab) => !tab.hidden)

function show(name, focus = false) {
  const tab = document.getElementById(`tab-${name}`)
  if (!tab || tab.hidden) return show('delivery', focus)
  for (const other of tabs) {
    const selected = other === tab
    other.setAttribute('aria-selected', String(selected))
    other.tabIndex = selected ? 0 : -1
    document.getElementById(other.getAttribute('aria-controls')).hidden = !selected
  }
  if (shown !== name) {
    views[shown]?.onHide?.()
    shown = name
    views[name].onShow?.()
    if (lastState) views[name].onState?.(lastState)
  }
  if (focus) tab.focus()
  if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`)
}

for (const tab of tabs) {
  tab.addEventListener('click', () => show(nameOf(tab)))
  tab.addEventListener('keydown', (event) => {
    const list = visibleTabs()
    const at = list.indexOf(tab)
    const next = {
      ArrowRight: list[(at + 1) % list.length],
      ArrowLeft: list[(at - 1 + list.length) % list.length],
      Home: list[0],
      End: list[list.length - 1]
    }[event.key]
    if (!next) return
    event.preventDefault()
    show(nameOf(next), true)
  })
}
window.addEventListener('hashchange', () => show(location.hash.slice(1)))

function onState(state) {
  lastState = state
  document.getElementById('destination').textContent = `Delivering to ${state.destination}`
  const sandboxTab = document.getElementById('tab-sandbox')
  if (sandboxTab.hidden === state.sandbox) {
    sandboxTab.hidden = !state.sandbox
    if (!state.sandbox && shown === 'sandbox') show('delivery')
  }
  if (wanted) {
    if (wanted !== shown) show(wanted)
    wanted = ''
  }
  const badge = document.getElementById('failure-count')
  badge.hidden = state.totals.failed === 0
  badge.textContent = String(state.totals.failed)
  badge.setAttribute('aria-label', `${state.totals.failed} failed`)
  // The delivery view is fed whether shown or not (its charts keep their minutes); others when shown.
  views.delivery.onState(state)
  if (shown !== 'delivery') views[shown].onState?.(state)
}

const STATUS_TEXT = { live: 'Live', reconnecting: 'Reconnecting…', stopped: 'Not live: the pipeline stopped' }
function onStatus(status) {
  const element = document.getElementById('live-status')
  element.dataset.status = status
  element.textContent = STATUS_TEXT[status]
}

show(location.hash.slice(1) || 'delivery')
connectLive(onState, onStatus)
