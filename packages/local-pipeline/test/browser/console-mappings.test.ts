/**
 * The console's Mappings view while the mapping file changes under it, in headless Chromium: a
 * pipeline of its own on a mapping file (its own process: one pipeline with a sandbox per process),
 * the page left open while the file is saved with a problem and then fixed.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import * as path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { startPipeline, type Pipeline } from '../../src/pipeline'
import { TEST_WRITE_KEY, tempDir } from '../helpers/pipeline-helpers'
import { launchChromium, SCREENSHOTS } from '../helpers/chromium'

/** Generous: a loaded two-core machine runs other suites at the same time. */
const WAIT = { timeout: 30_000 }

jest.setTimeout(120_000)

const temp = tempDir('console-mappings-')
const file = temp.file('mappings.json')
let browser: Browser
let pipeline: Pipeline

/** Saves as editors do: a new file renamed over the old one. */
function save(trigger: string): void {
  const text = JSON.stringify([{ name: 'Orders', partnerAction: 'trackActivity', subscribe: trigger, mapping: {} }])
  writeFileSync(`${file}.saving`, text)
  renameSync(`${file}.saving`, file)
}

beforeAll(async () => {
  save('event = "Order Completed"')
  pipeline = await startPipeline(
    {
      port: 0,
      target: { kind: 'sandbox', port: 0 },
      mappingsFile: file,
      writeKey: TEST_WRITE_KEY,
      flushIntervalMs: 20,
      maxAttempts: 1
    },
    () => undefined
  )
  browser = await launchChromium()
  mkdirSync(SCREENSHOTS, { recursive: true })
})

afterAll(async () => {
  await browser?.close()
  await pipeline?.stop()
  temp.remove()
})

async function openMappings(): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    httpCredentials: { username: TEST_WRITE_KEY, password: '' }
  })
  const page = await context.newPage()
  expect((await page.goto(`${pipeline.url}/#mappings`))?.status()).toBe(200)
  return page
}

it('shows the problem of a save the check refuses, the mapping in force kept, then the fixed version', async () => {
  const page = await openMappings()
  const panel = page.locator('#panel-mappings')
  const orders = (trigger: string) => panel.locator('li[data-subscription="Orders"]', { hasText: trigger })
  await orders('event = "Order Completed"').waitFor(WAIT)
  await panel.locator('[data-problems="0"]').waitFor(WAIT)
  const first = pipeline.mappings.status().version
  await expect(panel.textContent()).resolves.toContain(first)

  // An unclosed parenthesis: the reload is refused, the problem is shown where it is, the old trigger stays.
  save('(event = "Order Completed"')
  const problems = panel.locator('ul.problems[data-problems="1"]')
  await problems.waitFor(WAIT)
  await expect(problems.textContent()).resolves.toMatch(/entry 0 "Orders", subscribe at column \d+: /)
  await orders('event = "Order Completed"').waitFor(WAIT)
  await expect(panel.textContent()).resolves.toContain(first)
  await page.screenshot({ path: path.join(SCREENSHOTS, 'mappings-problem-1280x800.png'), fullPage: true })

  save('event = "Order Refunded"')
  await panel.locator('[data-problems="0"]').waitFor(WAIT)
  await orders('event = "Order Refunded"').waitFor(WAIT)
  const fixed = pipeline.mappings.status().version
  expect(fixed).not.toBe(first)
  await expect(panel.textContent()).resolves.toContain(fixed)
})
