import { promises as fs } from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { DEFAULT_CLI_PORT, USAGE, parseCliArgs, runCli, type CliOutput } from '../cli'
import type { Sandbox } from '../index'
import { loadDataFile } from '../data-file/open'
import { getJson, postJson } from '../../../../../test/helpers/http-client'
import { spawnTs } from '../../../../../test/helpers/run-ts'
import type { TsProcess } from '../../../../../test/helpers/run-ts'
import { writeVersion1File } from './data-files'

function capture(): CliOutput & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = []
  const stderr: string[] = []
  return { stdout, stderr, out: (line) => stdout.push(line), err: (line) => stderr.push(line) }
}

describe('parseCliArgs', () => {
  it('defaults to port 4318 on loopback with no faults and no data file', () => {
    expect(parseCliArgs([])).toEqual({ kind: 'run', options: { port: DEFAULT_CLI_PORT, faults: {} } })
  })

  it('maps every flag to an option', () => {
    const argv = [
      '--port=0',
      '--host=::1',
      '--data',
      'state.json',
      '--rate-limit',
      '10',
      '--retry-after',
      '2.5',
      '--fail-rate',
      '0.1',
      '--slow-rate',
      '0.2',
      '--slow-ms',
      '150',
      '--drop-rate',
      '0.05',
      '--malformed-rate',
      '1',
      '--seed',
      '99'
    ]
    expect(parseCliArgs(argv)).toEqual({
      kind: 'run',
      options: {
        port: 0,
        host: '::1',
        dataFile: 'state.json',
        faults: {
          rateLimitPerSecond: 10,
          retryAfterSeconds: 2.5,
          failRate: 0.1,
          slowRate: 0.2,
          slowMs: 150,
          dropRate: 0.05,
          malformedRate: 1,
          seed: 99
        }
      }
    })
  })

  it('reads --salvage FILE as a command of its own', () => {
    expect(parseCliArgs(['--salvage', 'state.json'])).toEqual({ kind: 'salvage', file: 'state.json' })
  })

  it('recognises --help', () => {
    expect(parseCliArgs(['--port', '1', '--help'])).toEqual({ kind: 'help' })
  })

  it.each([
    [['--port', '70000'], '--port must be a whole number from 0 to 65535, not "70000"'],
    [['--port', '12a'], '--port must be a whole number from 0 to 65535, not "12a"'],
    [['--fail-rate', '1.5'], '--fail-rate must be a number from 0 to 1, not "1.5"'],
    [['--drop-rate', ''], '--drop-rate must be a number from 0 to 1, not ""'],
    [['--rate-limit=-1'], '--rate-limit must be a whole number from 0 to 9007199254740991, not "-1"'],
    [['--slow-ms', '100'], '--slow-ms only makes sense with --slow-rate'],
    [['--retry-after', '3'], '--retry-after only makes sense with --rate-limit'],
    [['--seed', '1.5'], '--seed must be a whole number from 0 to 4294967295, not "1.5"'],
    [['--host', ' '], '--host must not be empty'],
    [['--data', ''], '--data must name a file'],
    [['--salvage', ' '], '--salvage must name the data file'],
    [['--salvage', 'state.json', '--port', '0'], '--salvage runs on its own; leave out --port'],
    [['--data', 'state.json', '--salvage', 'state.json'], '--salvage runs on its own; leave out --data']
  ])('refuses %j', (argv, message) => {
    expect(parseCliArgs(argv)).toEqual({ kind: 'error', message })
  })

  it('refuses unknown flags and positional arguments', () => {
    expect(parseCliArgs(['--fail_rate', '0.1'])).toMatchObject({
      kind: 'error',
      message: expect.stringContaining("Unknown option '--fail_rate'") as string
    })
    expect(parseCliArgs(['extra'])).toMatchObject({ kind: 'error' })
    const ambiguous = parseCliArgs(['--rate-limit', '-1'])
    expect(ambiguous).toMatchObject({ kind: 'error' })
    expect(ambiguous.kind === 'error' && ambiguous.message).not.toContain('\n')
  })
})

describe('runCli', () => {
  let running: Sandbox | undefined
  let folder: string

  beforeEach(async () => {
    folder = await fs.mkdtemp(path.join(os.tmpdir(), 'ortto-sandbox-cli-'))
  })

  afterEach(async () => {
    await running?.stop()
    running = undefined
    await fs.rm(folder, { recursive: true, force: true })
  })

  it('prints the usage for --help and exits 0', async () => {
    const output = capture()
    expect(await runCli(['--help'], output)).toEqual({ exitCode: 0 })
    expect(output.stdout).toEqual([USAGE])
  })

  it('exits 2 with one clear line (plus a hint) for a bad flag', async () => {
    const output = capture()
    expect(await runCli(['--fail-rate', 'lots'], output)).toEqual({ exitCode: 2 })
    expect(output.stderr).toEqual([
      'ortto sandbox: --fail-rate must be a number from 0 to 1, not "lots"',
      'Run with --help to see the options.'
    ])
  })

  it('starts, says where it listens and how to point the destination at it', async () => {
    const output = capture()
    const result = await runCli(['--port', '0', '--fail-rate', '0.25'], output)
    if (!('sandbox' in result)) throw new Error(`expected a running sandbox, got exit code ${result.exitCode}`)
    running = result.sandbox
    const { url } = result.sandbox
    expect(output.stdout[0]).toBe(`Ortto sandbox listening on ${url}`)
    expect(output.stdout).toContain(`Point the destination at it with ORTTO_LOCAL_ENDPOINT=${url}`)
    expect(output.stdout).toContain(`  GET  ${url}/sandbox/stats`)
    expect(output.stdout).toContain('Data file: none (state is kept in memory only)')
    expect(output.stdout).toContain('Faults: failRate=0.25')
    expect(output.stderr).toEqual([])
    expect((await getJson(url, '/v1/me')).status).toBe(200)
  })

  it('exits 1 with one line and no stack trace for a corrupt data file', async () => {
    const dataFile = path.join(folder, 'state.json')
    await fs.writeFile(dataFile, 'not json at all')
    const output = capture()
    expect(await runCli(['--port', '0', '--data', dataFile], output)).toEqual({ exitCode: 1 })
    expect(output.stdout).toEqual([])
    expect(output.stderr).toHaveLength(1)
    expect(output.stderr[0]).toMatch(
      /^ortto sandbox: The sandbox data file .*state\.json cannot be used: it is not valid JSON \(.*\)\. Fix the file, or delete it to start with an empty sandbox\.$/
    )
    expect(output.stderr[0]).not.toMatch(/\n|at .*\.[jt]s:\d+/)
  })

  it('refuses a damaged data file, and the salvage command its message gives makes it usable again', async () => {
    const dataFile = path.join(folder, 'state.json')
    const first = await runCli(['--port', '0', '--data', dataFile], capture())
    if (!('sandbox' in first)) throw new Error('expected a running sandbox')
    for (const userId of ['u1', 'u2', 'u3']) {
      expect((await postJson(first.sandbox.url, '/v1/identify', [{ user_id: userId }])).status).toBe(200)
    }
    // The file as a kill leaves it (stop would fold the journal into one line), with a byte changed in line 3.
    const lines = (await fs.readFile(dataFile, 'utf8')).split('\n')
    await first.sandbox.stop()
    expect(lines).toHaveLength(4)
    await fs.writeFile(dataFile, [lines[0], lines[1], lines[2].replace('"u3"', '"u9"'), ''].join('\n'))

    const refused = capture()
    expect(await runCli(['--port', '0', '--data', dataFile], refused)).toEqual({ exitCode: 1 })
    expect(refused.stderr).toHaveLength(1)
    const command = /`npm run sandbox -- (.+?)`/.exec(refused.stderr[0])
    expect(command?.[1]).toBe(`--salvage ${dataFile}`)

    const salvaged = capture()
    expect(await runCli(command![1].split(' '), salvaged)).toEqual({ exitCode: 0 })
    const offset = Buffer.byteLength(lines[0]) + Buffer.byteLength(lines[1]) + 2
    expect(salvaged.stdout).toEqual([
      `${dataFile} was damaged at line 3 (byte offset ${offset}): its checksum does not match its content.`,
      `Kept lines 1 to 2: ${dataFile} now holds 2 contacts, 0 activities, 0 audiences, 0 membership changes.`,
      expect.stringMatching(
        new RegExp(
          `^Moved line 3 and everything after it \\(${Buffer.byteLength(lines[2]) + 1} bytes\\) to .*state\\.json\\.damaged-`
        )
      )
    ])
    expect(salvaged.stderr).toEqual([])

    const again = capture()
    expect(await runCli(['--salvage', dataFile], again)).toEqual({ exitCode: 0 })
    expect(again.stdout).toEqual([
      `${dataFile} is not damaged: nothing to salvage. It holds 2 contacts, 0 activities, 0 audiences, 0 membership changes.`
    ])
    const restarted = capture()
    const result = await runCli(['--port', '0', '--data', dataFile], restarted)
    if (!('sandbox' in result)) throw new Error(`expected a running sandbox, got ${JSON.stringify(restarted.stderr)}`)
    running = result.sandbox
    expect(restarted.stdout).toContain(
      `Data file: ${dataFile} (2 contacts, 0 activities, 0 audiences, 0 membership changes loaded)`
    )
  })

  it('exits 1 with one line when there is nothing to salvage', async () => {
    const missing = path.join(folder, 'none.json')
    const output = capture()
    expect(await runCli(['--salvage', missing], output)).toEqual({ exitCode: 1 })
    expect(output.stderr).toEqual([`ortto sandbox: There is no sandbox data file ${missing} to salvage.`])
  })

  it('exits 1 naming the port when it is already taken', async () => {
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const { port } = blocker.address() as net.AddressInfo
    try {
      const output = capture()
      expect(await runCli(['--port', String(port)], output)).toEqual({ exitCode: 1 })
      expect(output.stderr).toEqual([
        `ortto sandbox: Port 127.0.0.1:${port} is already in use; choose another with --port (0 picks a free one).`
      ])
    } finally {
      await new Promise((resolve) => blocker.close(resolve))
    }
  })

  it('reports how much state it loaded from the data file', async () => {
    const dataFile = path.join(folder, 'state.json')
    const output = capture()
    const first = await runCli(['--port', '0', '--data', dataFile], capture())
    if (!('sandbox' in first)) throw new Error('expected a running sandbox')
    await fetch(`${first.sandbox.url}/v1/identify`, {
      method: 'POST',
      headers: { authorization: 'Bearer pau-cli-test', 'content-type': 'application/json' },
      body: JSON.stringify([{ user_id: 'u1' }])
    })
    await first.sandbox.stop()

    const second = await runCli(['--port', '0', '--data', dataFile], output)
    if (!('sandbox' in second)) throw new Error('expected a running sandbox')
    running = second.sandbox
    expect(output.stdout).toContain(
      `Data file: ${dataFile} (1 contacts, 0 activities, 0 audiences, 0 membership changes loaded)`
    )
  })
})

describe('the CLI as a process', () => {
  let folder: string
  let child: TsProcess | undefined

  beforeEach(async () => {
    folder = await fs.mkdtemp(path.join(os.tmpdir(), 'ortto-sandbox-kill-'))
  })

  afterEach(async () => {
    // Only the child this test started, by its handle.
    if (child && child.child.exitCode === null && child.child.signalCode === null) child.child.kill()
    child = undefined
    await fs.rm(folder, { recursive: true, force: true })
  })

  it('has everything it acknowledged in the data file after a SIGKILL, and starts again from it', async () => {
    const dataFile = path.join(folder, 'state.json')
    // A store big enough that writing all of it takes a while, as a real one would.
    await writeVersion1File(dataFile, 30_000)
    child = spawnTs('packages/ortto-sandbox/src/sandbox/cli.ts', ['--port', '0', '--data', dataFile])
    const url = (await child.waitForLine(/^Ortto sandbox listening on /)).replace('Ortto sandbox listening on ', '')

    const { id: audienceId } = (await postJson(url, '/v1/audiences/create', { name: 'Kept' })).json as { id: string }
    const requests = Array.from({ length: 30 }, (_, i) =>
      i % 2 === 0
        ? postJson(url, '/v1/identify', [
            { user_id: `new-${i}`, traits: { i }, audience: { mode: 'add', id: audienceId } },
            { user_id: `stored-${i}`, traits: { updated: true } }
          ])
        : postJson(url, '/v1/track', [
            { user_id: `tracked-${i}`, event: 'Killed', message_id: `m-${i}`, timestamp: '2024-05-01T00:00:00.000Z' }
          ])
    )
    const answers = await Promise.all(requests)
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 200))
    child.child.kill('SIGKILL')
    expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' })

    const state = await loadDataFile(dataFile)
    const byUser = new Map(state.contacts.map((contact) => [contact.user_id, contact]))
    expect(state.contacts).toHaveLength(30_000 + 30)
    for (let i = 0; i < 30; i++) {
      if (i % 2 === 0) {
        expect(byUser.get(`new-${i}`)?.traits).toEqual({ i })
        expect(byUser.get(`stored-${i}`)?.traits).toMatchObject({ updated: true })
      } else {
        expect(byUser.get(`tracked-${i}`)).toBeDefined()
      }
    }
    expect(state.activities.map((activity) => activity.message_id).sort()).toEqual(
      Array.from({ length: 15 }, (_, k) => `m-${2 * k + 1}`).sort()
    )
    expect(state.audiences).toEqual([expect.objectContaining({ name: 'Kept', id: audienceId })])
    expect(state.audiences[0].member_ids).toHaveLength(15)
    expect(state.membership_history.map((change) => change.user_id).sort()).toEqual(
      Array.from({ length: 15 }, (_, k) => `new-${2 * k}`).sort()
    )

    const output = capture()
    const again = await runCli(['--port', '0', '--data', dataFile], output)
    if (!('sandbox' in again)) throw new Error(`expected a running sandbox, got ${JSON.stringify(output.stderr)}`)
    await again.sandbox.stop()
    expect(output.stdout).toContain(
      `Data file: ${dataFile} (30030 contacts, 15 activities, 1 audiences, 15 membership changes loaded)`
    )
  }, 60_000)

  it('answers 200 only for what the file holds when it is made read-only mid-run, and a SIGKILL loses none of it', async () => {
    const dataFile = path.join(folder, 'state.json')
    child = spawnTs('packages/ortto-sandbox/src/sandbox/cli.ts', ['--port', '0', '--data', dataFile])
    const url = (await child.waitForLine(/^Ortto sandbox listening on /)).replace('Ortto sandbox listening on ', '')
    const track = (i: number) =>
      postJson(url, '/v1/track', [
        { user_id: `u${i}`, event: 'Bought', message_id: `m-${i}`, timestamp: '2024-05-01T00:00:00.000Z' }
      ])
    /** As a client that retries what is not answered 200 (the pipeline does): true once one attempt is. */
    const deliver = async (i: number, attempts: number): Promise<boolean> => {
      for (let attempt = 0; attempt < attempts; attempt++) if ((await track(i)).status === 200) return true
      return false
    }
    const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, k) => from + k)
    const storedAfterKill = async (file: string): Promise<string[]> =>
      (await loadDataFile(file)).activities.map((activity) => activity.message_id ?? '')

    const acknowledged: number[] = []
    for (let i = 0; i < 100; i++) {
      if (i === 50) await fs.chmod(dataFile, 0o444)
      if (await deliver(i, 4)) acknowledged.push(i)
    }
    // Made read-only after 50: none of the other 50 was acknowledged, though each was tried 4 times.
    expect(acknowledged).toEqual(range(0, 50))
    // A SIGKILL now would leave the file as it is (the sandbox writes nothing to it): all 50 are there.
    const readOnlyCopy = path.join(folder, 'read-only-copy.json')
    await fs.copyFile(dataFile, readOnlyCopy)
    expect(await storedAfterKill(readOnlyCopy)).toEqual(range(0, 50).map((i) => `m-${i}`))

    // Writable again: the next retries are answered 200 (the first save takes every change memory holds).
    await fs.chmod(dataFile, 0o644)
    for (let i = 50; i < 75; i++) if (await deliver(i, 1)) acknowledged.push(i)
    expect(acknowledged).toEqual(range(0, 75))
    child.child.kill('SIGKILL')
    expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' })

    const stored = await storedAfterKill(dataFile)
    expect(acknowledged.filter((i) => !stored.includes(`m-${i}`))).toEqual([])
    // The 25 never acknowledged are there too (memory held them when the file caught up), each once.
    expect([...stored].sort()).toEqual(
      range(0, 100)
        .map((i) => `m-${i}`)
        .sort()
    )
  }, 60_000)
})
