/**
 * What every view shares. Views build plain trees with h() (testable without a browser, see
 * console/__tests__) and toDom() makes elements of them: text always goes in as text, never as
 * HTML, so nothing an event or Ortto's answer carries can become markup.
 */

/**
 * A node of a view: `{tag, attrs, children}`; children are nodes or strings.
 * @typedef {{ tag: string, attrs: Record<string, unknown>, children: Array<ViewNode | string> }} ViewNode
 */

/** @returns {ViewNode} */
export function h(tag, attrs, ...children) {
  return { tag, attrs: attrs ?? {}, children: flat(children) }
}

function flat(children) {
  const out = []
  for (const child of children) {
    if (Array.isArray(child)) out.push(...flat(child))
    else if (child === null || child === undefined || child === false) continue
    else out.push(typeof child === 'object' ? child : String(child))
  }
  return out
}

/** The DOM of a tree. Attributes `on<event>` are listeners; `true` is a bare attribute; false/null/undefined none. */
export function toDom(node, doc = document) {
  if (typeof node === 'string') return doc.createTextNode(node)
  const element = doc.createElement(node.tag)
  for (const [name, value] of Object.entries(node.attrs)) {
    if (value === false || value === null || value === undefined) continue
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value)
    else element.setAttribute(name, value === true ? '' : String(value))
  }
  for (const child of node.children) element.append(toDom(child, doc))
  return element
}

/** Replaces what `container` holds with the tree(s). */
export function mount(container, ...nodes) {
  container.replaceChildren(...flat(nodes).map((node) => toDom(node)))
}

/**
 * A tree's text, as a reader would see it (tests use it).
 * @param {ViewNode | string} node
 * @returns {string}
 */
export function textOf(node) {
  return typeof node === 'string' ? node : node.children.map(textOf).join('')
}

/**
 * Every node of a tree that `test` accepts, in document order (tests use it).
 * @param {ViewNode | string} node
 * @param {(node: ViewNode) => boolean} test
 * @returns {ViewNode[]}
 */
export function findAll(node, test) {
  if (typeof node === 'string') return []
  return [...(test(node) ? [node] : []), ...node.children.flatMap((child) => findAll(child, test))]
}

export const pretty = (value) => (typeof value === 'string' ? value : JSON.stringify(value, null, 2))

/** A request or answer body for reading: JSON text pretty-printed, anything else as it is. */
export function bodyShown(body) {
  if (typeof body !== 'string') return pretty(body)
  try {
    return JSON.stringify(JSON.parse(body), null, 2)
  } catch {
    return body
  }
}

/** An ISO time as the reader's local clock time (with the date when it is not today). */
export function clock(iso, now = new Date()) {
  const at = new Date(iso)
  if (Number.isNaN(at.getTime())) return String(iso)
  const time = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' })
  return at.toDateString() === now.toDateString() ? time : `${at.toLocaleDateString()} ${time}`
}

export const plural = (count, one, many = `${one}s`) => `${count} ${count === 1 ? one : many}`

/** A definition list of [term, description] pairs. */
export const facts = (pairs, attrs = {}) =>
  h(
    'dl',
    { class: 'facts', ...attrs },
    pairs.map(([term, description]) => h('div', null, h('dt', null, term), h('dd', null, description)))
  )

/** An HTTP exchange as the console shows it: the request, then the answer, each with headers and body. */
export function exchangeView({ request, response }) {
  const headers = (record) =>
    Object.entries(record ?? {})
      .map(([name, value]) => `${name}: ${value}`)
      .join('\n')
  return h(
    'div',
    { class: 'exchange' },
    h('h4', null, 'Request'),
    h(
      'pre',
      { class: 'code' },
      `${request.method} ${request.url}\n${headers(request.headers)}\n\n${bodyShown(request.body)}`
    ),
    response && h('h4', null, 'Answer'),
    response &&
      h(
        'pre',
        { class: 'code' },
        `${response.statusCode} ${response.statusMessage ?? ''}\n${headers(response.headers)}\n\n${bodyShown(response.body)}`
      )
  )
}

/** JSON from the pipeline: `{status, body}`; the body is the parsed answer (or its text). Throws only when no answer came. */
export async function request(method, path, body) {
  const init = { method, headers: { accept: 'application/json' }, credentials: 'same-origin' }
  if (body !== undefined) {
    init.body = JSON.stringify(body)
    init.headers['content-type'] = 'application/json'
  }
  const answer = await fetch(path, init)
  const text = await answer.text()
  let parsed = text
  try {
    parsed = JSON.parse(text)
  } catch {
    // Not JSON: the text as it came.
  }
  return { status: answer.status, body: parsed }
}

/** An error answer's message (`{"error": {"message"}}`), or the status. */
export const errorText = ({ status, body }) => body?.error?.message ?? `HTTP ${status}`
