/**
 * docs/sandbox.md against the code: its inspection table lists exactly the
 * routes, methods and filters the router takes, and every endpoint the sandbox serves is named.
 */
import { ORTTO_ENDPOINTS } from '../contract'
import { HEADER_BYTES } from '../data-file/checksum'
import { salvageCommand } from '../data-file/damage'
import { DATA_FILE_VERSION } from '../data-file/format'
import { USAGE } from '../cli'
import { startSandbox, type Sandbox } from '../index'
import { INSPECTION_ROUTES } from '../inspection'
import { callSandbox, getJson } from '../../../../../test/helpers/http-client'
import { readDoc } from '../../../../../test/helpers/docs'

function sandboxSection(): string {
  return readDoc('docs/sandbox.md')
}

/** The inspection table's rows: route → its method(s) and the filters listed, as written. */
function documentedRoutes(): Map<string, { methods: string[]; filters: string[] }> {
  const routes = new Map<string, { methods: string[]; filters: string[] }>()
  for (const line of sandboxSection().split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim())
    const route = /^`(GET|POST) (\/sandbox\/[a-z]+)`$/.exec(cells[1] ?? '')
    if (!route) continue
    const [, method, routePath] = route
    const filters = [...(cells[2] ?? '').matchAll(/`([a-z_]+)`/g)].map((match) => match[1])
    const known = routes.get(routePath) ?? { methods: [], filters: [] }
    routes.set(routePath, { methods: [...known.methods, method], filters: [...known.filters, ...filters] })
  }
  return routes
}

const sorted = (values: string[]): string[] => [...values].sort()

let sandbox: Sandbox

beforeEach(async () => {
  sandbox = await startSandbox()
})

afterEach(async () => {
  await sandbox.stop()
})

describe('docs/sandbox.md', () => {
  it('lists every inspection route with exactly the methods and filters the router takes', () => {
    const documented = documentedRoutes()
    expect(sorted([...documented.keys()])).toEqual(sorted([...INSPECTION_ROUTES.keys()]))
    for (const [routePath, { methods, filters }] of INSPECTION_ROUTES) {
      const row = documented.get(routePath)!
      expect({ routePath, methods: sorted(row.methods), filters: sorted(row.filters) }).toEqual({
        routePath,
        methods: sorted(methods),
        filters: sorted(filters)
      })
    }
  })

  it('documents only filters the sandbox accepts, and an unknown one is refused with those it has', async () => {
    for (const [routePath, { filters }] of documentedRoutes()) {
      for (const filter of filters) {
        expect({ routePath, filter, status: (await getJson(sandbox.url, `${routePath}?${filter}=x`)).status }).toEqual({
          routePath,
          filter,
          status: 200
        })
      }
    }
    const misspelt = await getJson(sandbox.url, '/sandbox/activities?contactId=x')
    expect(misspelt.status).toBe(400)
    expect(misspelt.json).toEqual({
      error: {
        code: 'bad-request',
        message: '/sandbox/activities has no filter "contactId"; its filters are contact_id'
      }
    })
    const none = await callSandbox(sandbox.url, 'GET', '/sandbox/stats?verbose=1')
    expect(none.json).toEqual({
      error: { code: 'bad-request', message: '/sandbox/stats takes no query parameters (got "verbose")' }
    })
  })

  it('names every Ortto endpoint the sandbox serves, with its method', () => {
    const section = sandboxSection()
    for (const { method, path: endpointPath } of Object.values(ORTTO_ENDPOINTS)) {
      expect(section).toContain(`\`${method} ${endpointPath}\``)
    }
  })

  it('describes the data file as the code writes it, and the salvage command the refusal gives', () => {
    const section = sandboxSection()
    expect(section).toContain(`"version": ${DATA_FILE_VERSION}`)
    expect(section).toContain(`every byte after that ${HEADER_BYTES}-byte header`)
    expect(section).toContain(`**Salvage: \`${salvageCommand('FILE')}\`**`)
    expect(USAGE).toContain('--salvage FILE')
  })
})
