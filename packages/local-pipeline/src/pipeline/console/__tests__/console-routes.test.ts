/**
 * The console's routes on a running pipeline (the browser suite, test/browser, drives the page):
 * who gets the page, what stays as it was for curl, the live stream and stop, the pipeline's own
 * page passing the browser guard, and no key in anything the console serves.
 */
import { startPipeline, type Pipeline } from '../../index'
import type { PipelineConfig } from '../../config'
import { TEST_WRITE_KEY, basicAuth, call, get, post, waitFor } from '../../../../test/helpers/pipeline-helpers'

const running: Pipeline[] = []
const HTML = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' }

async function start(overrides: Partial<PipelineConfig> = {}): Promise<Pipeline> {
  const pipeline = await startPipeline(
    {
      port: 0,
      target: { kind: 'sandbox', port: 0 },
      flushIntervalMs: 20,
      maxAttempts: 1,
      writeKey: TEST_WRITE_KEY,
      ...overrides
    },
    () => undefined
  )
  running.push(pipeline)
  return pipeline
}

afterEach(async () => {
  for (const pipeline of running.splice(0)) await pipeline.stop()
})

describe('GET / and /console/*', () => {
  it('gives a browser the page behind the write key, with the basic-auth challenge when it is missing or wrong', async () => {
    const p = await start()
    for (const writeKey of [null, 'wrong-key']) {
      const refused = await get(p.url, '/', { writeKey, headers: HTML })
      expect(refused.status).toBe(401)
      expect(refused.headers.get('www-authenticate')).toBe('Basic realm="Ortto local pipeline", charset="UTF-8"')
    }
    const page = await get(p.url, '/', { headers: HTML })
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'")
    expect(page.headers.get('x-frame-options')).toBe('DENY')
    expect(page.text).toContain('<script type="module" src="/console/assets/app.js"></script>')
  })

  it('answers curl at / with the JSON route list, without the write key, and lists no console route', async () => {
    const p = await start()
    const list = await get(p.url, '/', { writeKey: null })
    expect(list.status).toBe(200)
    const routes = Object.keys((list.json as { routes: Record<string, string> }).routes)
    expect(routes[0]).toBe('GET /')
    expect(routes.some((route) => route.includes('/console'))).toBe(false)
  })

  it('serves its files and answers, all behind the write key; unknown ones get 404 and other methods 405', async () => {
    const p = await start()
    for (const path of ['/console/assets/app.js', '/console/assets/uPlot.iife.min.js', '/console/state']) {
      const refused = await get(p.url, path, { writeKey: null })
      expect({ path, status: refused.status }).toEqual({ path, status: 401 })
      expect(refused.headers.get('www-authenticate')).toMatch(/^Basic /)
      expect((await get(p.url, path)).status).toBe(200)
    }
    expect((await get(p.url, '/console/assets/app.js')).headers.get('content-type')).toBe(
      'text/javascript; charset=utf-8'
    )
    for (const path of ['/console/assets/../index.ts', '/console/assets/nope.js', '/console/nope']) {
      expect({ path, status: (await get(p.url, path)).status }).toEqual({ path, status: 404 })
    }
    expect((await post(p.url, '/console/state', {})).status).toBe(405)
    expect((await get(p.url, '/console/sandbox?user_id=x')).status).toBe(400)
  })

  it("lets the pipeline's own page post (its Origin is the pipeline's), and still refuses other pages", async () => {
    const p = await start()
    const event = { type: 'identify', userId: 'own-origin' }
    expect((await post(p.url, '/dry-run', event, { headers: { origin: p.url } })).status).toBe(200)
    const otherPort = `http://127.0.0.1:${Number(new URL(p.url).port) + 1}`
    expect((await post(p.url, '/dry-run', event, { headers: { origin: otherPort } })).status).toBe(403)
    expect((await post(p.url, '/dry-run', event, { headers: { origin: 'http://localhost:1' } })).status).toBe(403)
  })

  it('has no Sandbox search without the embedded sandbox', async () => {
    const p = await start({ target: { kind: 'endpoint', url: 'http://127.0.0.1:9' } })
    const state = (await get(p.url, '/console/state')).json as { sandbox: boolean; sandboxRequests: unknown }
    expect(state).toMatchObject({ sandbox: false, sandboxRequests: null })
    expect((await get(p.url, '/console/sandbox')).status).toBe(404)
  })
})

describe('what the console shows', () => {
  it('counts per subscription and keeps the failed request with its answer, without the key', async () => {
    const p = await start({ maxAttempts: 2, baseBackoffMs: 10, maxBackoffMs: 20 })
    p.sandbox?.setFaults({ failRate: 1 })
    await post(p.url, '/v1/track', { userId: 'u1', event: 'Failing', messageId: 'fail-1' })
    await waitFor('the delivery to fail', () => p.delivery.status().failed === 1)
    p.sandbox?.setFaults({})
    await post(p.url, '/v1/identify', { userId: 'u2', messageId: 'ok-1' })
    await waitFor('the delivery', () => p.delivery.status().delivered === 1)

    const state = (await get(p.url, '/console/state')).json as {
      subscriptions: Array<{ name: string; delivered: number; retried: number; failed: number; held: number }>
      failures: { attempts: number }
    }
    const byName = Object.fromEntries(state.subscriptions.map((s) => [s.name, s]))
    expect(byName['Track Activity']).toMatchObject({ delivered: 0, retried: 1, failed: 1, held: 0 })
    expect(byName['Upsert Contact']).toMatchObject({ delivered: 1, retried: 0, failed: 0, held: 0 })
    expect(state.failures.attempts).toBe(2)

    const failures = await get(p.url, '/console/failures')
    expect(failures.text).not.toContain(p.apiKey)
    const { attempts, recentFailures } = failures.json as {
      recentFailures: Array<{ messageId: string; message: string }>
      attempts: {
        latest: Array<{
          failed: number
          retrying: number
          exchanges: Array<{
            request: { url: string; headers: Record<string, string> }
            response: { statusCode: number }
          }>
        }>
      }
    }
    expect(recentFailures[0].messageId).toBe('fail-1')
    const [last, first] = attempts.latest
    expect([first.retrying, last.failed]).toEqual([1, 1])
    expect(last.exchanges[0].request.url).toBe(`${p.sandbox?.url}/v1/track`)
    expect(last.exchanges[0].request.headers.authorization).toBe('<redacted>')
    expect([500, 502, 503]).toContain(last.exchanges[0].response.statusCode)
  })

  it('finds sandbox contacts by email or user id, any part and any case', async () => {
    const p = await start()
    await post(p.url, '/v1/identify', { userId: 'ada', traits: { email: 'Ada@Example.com' } })
    await post(p.url, '/v1/identify', { userId: 'bob', traits: { email: 'bob@example.com' } })
    await waitFor('both contacts', () => p.sandbox?.snapshot().contacts.length === 2)
    const found = async (q: string) =>
      (
        (await get(p.url, `/console/sandbox?q=${encodeURIComponent(q)}`)).json as {
          contacts: Array<{ user_id: string }>
        }
      ).contacts.map((c) => c.user_id)
    expect(await found('ada@example')).toEqual(['ada'])
    expect(await found('BOB')).toEqual(['bob'])
    expect((await found('')).sort()).toEqual(['ada', 'bob'])
    expect(await found('nobody')).toEqual([])
  })
})

describe('the live stream', () => {
  it('sends the state at once and on each change, and ends when the pipeline stops, which does not wait for it', async () => {
    const p = await start()
    const controller = new AbortController()
    const answer = await fetch(`${p.url}/console/live`, {
      headers: { authorization: basicAuth(TEST_WRITE_KEY) },
      signal: controller.signal
    })
    expect(answer.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
    const reader = answer.body!.getReader()
    let text = ''
    const readUntil = async (done: (text: string) => boolean) => {
      while (!done(text)) {
        const chunk = await reader.read()
        if (chunk.done) return true
        text += Buffer.from(chunk.value).toString('utf8')
      }
      return false
    }
    await readUntil((t) => t.includes('event: state\ndata: {'))
    expect(text).toContain('"delivered":0')
    await post(p.url, '/v1/identify', { userId: 'live', messageId: 'live-1' })
    await readUntil((t) => /"name":"Upsert Contact","partnerAction":"upsertContact","delivered":1/.test(t))
    expect(text).not.toContain(p.apiKey)
    await p.stop()
    running.splice(0)
    // The server ended the stream: reading comes to its end without the client aborting.
    await expect(readUntil(() => false)).resolves.toBe(true)
    controller.abort()
  })
})

describe('the write key and the API key', () => {
  it('appear in no file the console serves', async () => {
    const p = await start()
    const names = ['app.js', 'dom.js', 'live.js', 'chart.js', 'console.css', 'uPlot.iife.min.js', 'uPlot.min.css']
    const views = ['delivery', 'failures', 'tester', 'sandbox', 'mappings'].map((v) => `views/${v}.js`)
    for (const name of [...names, ...views]) {
      const answer = await get(p.url, `/console/assets/${name}`)
      expect({ name, status: answer.status }).toEqual({ name, status: 200 })
      expect(answer.text).not.toContain(p.apiKey)
      expect(answer.text).not.toContain(TEST_WRITE_KEY)
    }
    const page = await call(p.url, 'GET', '/', { headers: HTML })
    expect(page.text).not.toContain(TEST_WRITE_KEY)
  })
})
