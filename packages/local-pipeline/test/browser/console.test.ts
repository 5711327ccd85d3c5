/**
 * The console in a real browser: headless Chromium (Debian's package, /usr/bin/chromium, or
 * CHROMIUM_PATH) driven through playwright-core, against a pipeline with its embedded sandbox on
 * free ports, started and stopped here. Every request the browser makes anywhere but the pipeline
 * is aborted and recorded, and the test ends by asserting there was none. Screenshots of each view,
 * at 1280×800 and at a phone's 390×844, go to packages/local-pipeline/screenshots/ (git ignores it).
 */
import { mkdirSync } from 'node:fs'
import * as path from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { startPipeline, type Pipeline } from '../../src/pipeline'
import { TEST_WRITE_KEY, post } from '../helpers/pipeline-helpers'
import { launchChromium, SCREENSHOTS } from '../helpers/chromium'

const DESKTOP = { width: 1280, height: 800 }
const PHONE = { width: 390, height: 844 }
/** Generous: a loaded two-core machine runs other suites at the same time. */
const WAIT = { timeout: 30_000 }

jest.setTimeout(180_000)

let browser: Browser
let pipeline: Pipeline
const contexts: BrowserContext[] = []
/** Requests the browser tried to make anywhere but the pipeline. */
const outside: string[] = []
/** Bodies of the pipeline's answers to the browser (the live stream, which never ends, aside). */
const bodies: string[] = []
const logLines: string[] = []

beforeAll(async () => {
  pipeline = await startPipeline(
    {
      port: 0,
      target: { kind: 'sandbox', port: 0 },
      flushIntervalMs: 20,
      maxAttempts: 2,
      baseBackoffMs: 20,
      maxBackoffMs: 50,
      writeKey: TEST_WRITE_KEY
    },
    (line) => logLines.push(line)
  )
  browser = await launchChromium()
  mkdirSync(SCREENSHOTS, { recursive: true })
})

afterAll(async () => {
  for (const context of contexts) await context.close()
  await browser?.close()
  await pipeline?.stop()
})

/** A browser context, with the write key for the prompt unless `withKey` is false; nothing but the pipeline is reachable. */
async function newContext(viewport = DESKTOP, withKey = true): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport,
    ...(withKey && { httpCredentials: { username: TEST_WRITE_KEY, password: '' } })
  })
  contexts.push(context)
  const origin = new URL(pipeline.url).origin
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url())
    if (url.origin === origin) return route.continue()
    outside.push(url.href)
    return route.abort()
  })
  context.on('response', (response) => {
    if (response.url().endsWith('/console/live')) return
    response.text().then(
      (text) => bodies.push(text),
      () => undefined
    )
  })
  return context
}

async function openConsole(view = 'delivery', viewport = DESKTOP): Promise<Page> {
  const page = await (await newContext(viewport)).newPage()
  const answer = await page.goto(`${pipeline.url}/#${view}`)
  expect(answer?.status()).toBe(200)
  await page.locator('#live-status[data-status="live"]').waitFor(WAIT)
  return page
}

const showView = async (page: Page, name: string) => {
  await page.locator(`#tab-${name}`).click()
  await page.locator(`#panel-${name}`).waitFor({ state: 'visible', ...WAIT })
}

/** The number a subscription's counts show for `kind`, once it equals `expected`. */
const countShown = (page: Page, subscription: string, kind: string, expected: number) =>
  page.waitForFunction(
    ([name, what, want]) =>
      document.querySelector(`[data-counts="${name}"] [data-count="${what}"]`)?.textContent === String(want),
    [subscription, kind, expected] as const,
    WAIT
  )

describe('the console in headless Chromium', () => {
  it('asks for the write key with the browser prompt: 401 with WWW-Authenticate: Basic, then the page', async () => {
    // Headless Chromium has no prompt to show: it cancels it, and the navigation fails with the 401 seen.
    const anonymous = await (await newContext(DESKTOP, false)).newPage()
    const [refused, navigation] = await Promise.all([
      anonymous.waitForResponse(`${pipeline.url}/`, WAIT),
      anonymous.goto(`${pipeline.url}/`).catch((error: Error) => error)
    ])
    expect(navigation).toBeInstanceOf(Error)
    expect(refused.status()).toBe(401)
    expect(refused.headers()['www-authenticate']).toMatch(/^Basic realm=/)

    const page = await openConsole()
    await expect(page.locator('h1').textContent()).resolves.toBe('Ortto local pipeline')
    // Filled in by the first state of the live stream, which follows the stream's opening.
    await page.locator('#destination', { hasText: 'the embedded Ortto sandbox' }).waitFor(WAIT)
  })

  it('shows events live: counts, the per-minute table and the chart move without a reload', async () => {
    const page = await openConsole('delivery')
    await page.evaluate(() => Object.assign(window, { notReloaded: true }))
    const calls = ['ada', 'grace', 'edsger'].map((user) => ({
      type: 'identify',
      userId: `${user}-live`,
      traits: { email: `${user}@example.com` },
      messageId: `live-${user}`
    }))
    expect((await post(pipeline.url, '/v1/batch', { batch: calls })).status).toBe(200)

    await countShown(page, 'Upsert Contact', 'delivered', 3)
    const perMinute = await page
      .locator('[data-counts="Upsert Contact"]')
      .locator('xpath=ancestor::article')
      .locator('details.minutes tbody tr td:nth-of-type(1)')
      .allTextContents()
    expect(perMinute).toHaveLength(15)
    expect(perMinute.reduce((sum, cell) => sum + Number(cell), 0)).toBe(3)
    const chart = page.locator('article', { has: page.locator('[data-counts="Upsert Contact"]') }).locator('.chart')
    await expect(chart.getAttribute('aria-label')).resolves.toContain('3 deliveries delivered')
    await expect(chart.locator('canvas').count()).resolves.toBe(1)
    await expect(page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).resolves.toBe(true)
    await page.screenshot({ path: path.join(SCREENSHOTS, 'delivery-1280x800.png') })
  })

  it('shows a failure with its reason and the exact request and answer after a sandbox fault, without the key', async () => {
    const page = await openConsole('failures')
    pipeline.sandbox?.setFaults({ failRate: 1 })
    try {
      const event = { type: 'track', userId: 'fault-user', event: 'Fault Test', messageId: 'fault-1' }
      expect((await post(pipeline.url, '/v1/track', event)).status).toBe(200)
      const row = page.locator('table.failures tbody tr', { hasText: 'fault-1' })
      await row.waitFor(WAIT)
      const reason = await row.locator('td.reason').textContent()
      expect(reason).toMatch(/50[023]/)
    } finally {
      pipeline.sandbox?.setFaults({})
    }
    const attempt = page.locator('ol.attempts > li', { hasText: 'fault-1' }).first()
    await attempt.locator('summary').first().click()
    const exchange = await attempt.locator('.exchange').first().textContent()
    expect(exchange).toContain(`POST ${pipeline.sandbox?.url}/v1/track`)
    expect(exchange).toContain('fault-user')
    expect(exchange).toMatch(/Answer50[023]/)
    expect(exchange).toContain('authorization: <redacted>')
    const html = await page.content()
    expect(html).not.toContain(pipeline.apiKey)
    // The tab's count comes with the live state, which may arrive after the view read its failures.
    await page.waitForFunction(() => document.getElementById('failure-count')?.textContent === '1', undefined, WAIT)
    await page.screenshot({ path: path.join(SCREENSHOTS, 'failures-1280x800.png'), fullPage: true })
  })

  it("tests an event: the dry run shows /dry-run's payload and requests, Send delivers it and shows its outcome", async () => {
    const page = await openConsole('tester')
    const event = { type: 'identify', userId: 'tester-user', traits: { email: 'tester@example.com' } }
    await page.locator('#event-text').fill(JSON.stringify(event))
    await page.locator('#dry-run').click()
    const section = page.locator('#tester-result [data-subscription="Upsert Contact"]')
    await section.waitFor(WAIT)
    const expected = (await post(pipeline.url, '/dry-run', event)).json as {
      events: Array<{ subscriptions: Array<{ requests: Array<{ method: string; url: string }> }> }>
    }
    const [request] = expected.events[0].subscriptions[0].requests
    const shown = await section.locator('[data-request="0"]').textContent()
    expect(shown?.startsWith(`${request.method} ${request.url}\n`)).toBe(true)
    expect(shown).toContain('"user_id": "tester-user"')
    await expect(section.locator('pre').first().textContent()).resolves.toContain('tester@example.com')
    expect(pipeline.sandbox?.snapshot().contacts.some((c) => c.user_id === 'tester-user')).toBe(false)

    await page.locator('#send').click()
    await page.locator('#tester-result tr[data-outcome="delivered"]', { hasText: 'Upsert Contact' }).waitFor(WAIT)
    expect(pipeline.sandbox?.snapshot().contacts.some((c) => c.user_id === 'tester-user')).toBe(true)
    await page.screenshot({ path: path.join(SCREENSHOTS, 'tester-1280x800.png'), fullPage: true })
  })

  it('searches the sandbox by email and by user id', async () => {
    await post(pipeline.url, '/v1/identify', {
      userId: 'search-ada',
      traits: { email: 'Search.Ada@example.com' },
      messageId: 'search-1'
    })
    await post(pipeline.url, '/v1/identify', { userId: 'search-bob', traits: { email: 'bob@example.com' } })
    const page = await openConsole('sandbox')
    await page.locator('#sandbox-result li[data-contact="search-bob"]').waitFor(WAIT)
    await page.locator('#sandbox-query').fill('search.ada@')
    await page.keyboard.press('Enter')
    await page.locator('#sandbox-result p', { hasText: 'Matching “search.ada@”: 1 contact' }).waitFor(WAIT)
    await expect(
      page
        .locator('#sandbox-result li[data-contact]')
        .evaluateAll((items) => items.map((i) => i.getAttribute('data-contact')))
    ).resolves.toEqual(['search-ada'])
    await page.locator('#sandbox-query').fill('search-bob')
    await page.locator('#panel-sandbox button[type="submit"]').click()
    await page.locator('#sandbox-result p', { hasText: 'Matching “search-bob”' }).waitFor(WAIT)
    await expect(
      page
        .locator('#sandbox-result li[data-contact]')
        .evaluateAll((items) => items.map((i) => i.getAttribute('data-contact')))
    ).resolves.toEqual(['search-bob'])
    await page.screenshot({ path: path.join(SCREENSHOTS, 'sandbox-1280x800.png'), fullPage: true })
  })

  it('shows the mappings with their triggers', async () => {
    const page = await openConsole('mappings')
    const card = page.locator('#panel-mappings li[data-subscription="Track Activity"]')
    await card.waitFor(WAIT)
    await expect(card.textContent()).resolves.toContain('type = "track"')
    await page.screenshot({ path: path.join(SCREENSHOTS, 'mappings-1280x800.png'), fullPage: true })
  })

  it('moves between the views with the keyboard alone', async () => {
    const page = await openConsole('delivery')
    await page.locator('#tab-delivery').focus()
    await page.keyboard.press('ArrowRight')
    await expect(page.locator('#tab-failures').getAttribute('aria-selected')).resolves.toBe('true')
    await expect(page.locator('#panel-failures').isVisible()).resolves.toBe(true)
    await page.keyboard.press('End')
    await expect(page.locator('#tab-mappings').getAttribute('aria-selected')).resolves.toBe('true')
    await page.keyboard.press('Home')
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('tab-delivery')
    await page.keyboard.press('Tab')
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('panel-delivery')
  })

  it('is readable on a phone: each view fits 390 px without sideways scrolling', async () => {
    const page = await openConsole('delivery', PHONE)
    for (const view of ['delivery', 'failures', 'tester', 'sandbox', 'mappings']) {
      await showView(page, view)
      await page.locator(`#panel-${view} > :nth-child(2)`).waitFor(WAIT)
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
      expect({ view, overflow }).toEqual({ view, overflow: 0 })
      await page.screenshot({ path: path.join(SCREENSHOTS, `${view}-390x844.png`), fullPage: true })
    }
  })

  it('made no request outside the pipeline, and no page, asset or answer carried a key', () => {
    expect(outside).toEqual([])
    expect(bodies.length).toBeGreaterThan(10)
    for (const body of bodies) {
      expect(body).not.toContain(pipeline.apiKey)
      expect(body).not.toContain(TEST_WRITE_KEY)
    }
    expect(logLines.join('\n')).not.toContain(pipeline.apiKey)
  })
})
