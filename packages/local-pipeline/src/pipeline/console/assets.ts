/**
 * The console's files, served by the pipeline itself so the page needs nothing from outside:
 * our own (static/, plain ES modules with no build step) and uPlot's, from node_modules. Each is
 * read once, at its first request; nothing in them depends on the pipeline's settings or keys.
 */
import { existsSync, readFileSync } from 'node:fs'
import * as path from 'node:path'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8'
}

/** Where the console's files are: src/pipeline/console/static of this package, from src or from dist. */
function staticFolder(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'src', 'pipeline', 'console', 'static')
    if (existsSync(path.join(dir, 'package.json')) && existsSync(candidate)) return candidate
  }
  throw new Error(`the console's files (src/pipeline/console/static) are not found above ${__dirname}`)
}

export interface Asset {
  body: Buffer
  type: string
}

/** A served name (what follows /console/assets/) → the file. uPlot's come from node_modules, as released. */
function assetFiles(): Map<string, string> {
  const folder = staticFolder()
  const files = new Map<string, string>([
    ['uPlot.iife.min.js', require.resolve('uplot/dist/uPlot.iife.min.js')],
    ['uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css')]
  ])
  for (const name of ['console.css', 'app.js', 'dom.js', 'live.js', 'chart.js'])
    files.set(name, path.join(folder, name))
  for (const view of ['delivery', 'failures', 'tester', 'sandbox', 'mappings']) {
    files.set(`views/${view}.js`, path.join(folder, 'views', `${view}.js`))
  }
  files.set('index.html', path.join(folder, 'index.html'))
  return files
}

export class Assets {
  private files: Map<string, string> | undefined
  private readonly read = new Map<string, Asset>()

  /** The page itself. */
  page(): Asset {
    const page = this.get('index.html')
    if (!page) throw new Error('the console page (static/index.html) is missing')
    return page
  }

  /** A file by its served name; undefined for any name not in the table (no path is ever taken from the URL). */
  get(name: string): Asset | undefined {
    const known = this.read.get(name)
    if (known) return known
    this.files ??= assetFiles()
    const file = this.files.get(name)
    if (file === undefined) return undefined
    const asset = { body: readFileSync(file), type: TYPES[path.extname(file)] ?? 'application/octet-stream' }
    this.read.set(name, asset)
    return asset
  }

  /** Every served name, for the page-weight figure and the tests. */
  names(): string[] {
    this.files ??= assetFiles()
    return [...this.files.keys()]
  }
}
