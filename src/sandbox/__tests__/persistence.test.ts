import { promises as fs } from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { SandboxDataError, startSandbox, type Sandbox, type SandboxState } from '../index'
import { DataFileWriter, loadDataFile } from '../persistence'
import { postJson } from '../../../test/helpers/http-client'
import { writeVersion1File } from './data-files'

let folder: string
let dataFile: string
const started: Sandbox[] = []

async function start(file = dataFile): Promise<Sandbox> {
  const sandbox = await startSandbox({ dataFile: file })
  started.push(sandbox)
  return sandbox
}

beforeEach(async () => {
  folder = await fs.mkdtemp(path.join(os.tmpdir(), 'ortto-sandbox-'))
  dataFile = path.join(folder, 'state.json')
})

afterEach(async () => {
  await Promise.all(started.splice(0).map((sandbox) => sandbox.stop().catch(() => undefined)))
  // Undo any read-only marks, so the folder can be removed by a user who is not root.
  await fs.chmod(folder, 0o755).catch(() => undefined)
  for (const name of await fs.readdir(folder, { recursive: true }).catch(() => [])) {
    await fs.chmod(path.join(folder, name), 0o755).catch(() => undefined)
  }
  await fs.rm(folder, { recursive: true, force: true })
})

async function ok(url: string, requestPath: string, body: unknown): Promise<unknown> {
  const answer = await postJson(url, requestPath, body)
  expect(answer.status).toBe(200)
  return answer.json
}

/** Lines written to stderr while `action` runs (the sandbox reports data file trouble there). */
async function stderrOf(action: () => Promise<void>): Promise<string[]> {
  const lines: string[] = []
  const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    lines.push(String(chunk))
    return true
  })
  try {
    await action()
  } finally {
    write.mockRestore()
  }
  return lines
}

async function startError(file = dataFile): Promise<SandboxDataError> {
  const error: unknown = await start(file).then(
    () => undefined,
    (e: unknown) => e
  )
  expect(error).toBeInstanceOf(SandboxDataError)
  return error as SandboxDataError
}

describe('data file', () => {
  it('starts empty when the file does not exist yet', async () => {
    const sandbox = await start()
    expect(sandbox.snapshot()).toEqual({ contacts: [], activities: [], audiences: [] })
  })

  it('keeps contacts, activities, audiences and de-duplication across a restart', async () => {
    const first = await start()
    const { id } = (await ok(first.url, '/v1/audiences/create', { name: 'VIP' })) as { id: string }
    await ok(first.url, '/v1/identify', [{ anonymous_id: 'a1', traits: { plan: 'pro' }, ip: '1.2.3.4' }])
    await ok(first.url, '/v1/track', [
      {
        user_id: 'u1',
        anonymous_id: 'a1',
        event: 'Bought',
        message_id: 'm1',
        timestamp: '2024-05-01T00:00:00.000Z',
        audience: { mode: 'add', id }
      }
    ])
    const before = first.snapshot()
    await first.stop()

    const second = await start()
    expect(second.snapshot()).toEqual(before)
    // The restored indexes work: the same activity is a repeat, the same ids the same contact.
    await ok(second.url, '/v1/track', [
      { user_id: 'u1', event: 'Bought', message_id: 'm1', timestamp: '2024-05-01T00:00:00.000Z' }
    ])
    await ok(second.url, '/v1/identify', [{ anonymous_id: 'a1', audience: { mode: 'remove', id } }])
    const after = second.snapshot()
    expect(after.activities).toHaveLength(1)
    expect(after.contacts).toHaveLength(1)
    expect(after.audiences[0].member_ids).toEqual([])
    expect(second.stats().duplicateActivitiesDropped).toBe(1)
  })

  it('writes the file after a change without waiting for stop()', async () => {
    const sandbox = await start()
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'u1' }])
    const deadline = Date.now() + 2_000
    let saved: SandboxState | undefined
    while (Date.now() < deadline) {
      saved = await loadDataFile(dataFile)
      if (saved.contacts.length === 1) break
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    expect(saved?.contacts.map((c) => c.user_id)).toEqual(['u1'])
  })

  it('leaves no temporary files behind after many concurrent changes', async () => {
    const sandbox = await start()
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => ok(sandbox.url, '/v1/identify', [{ user_id: `u${i}`, traits: { i } }]))
    )
    await sandbox.stop()
    expect(await fs.readdir(folder)).toEqual(['state.json'])
    expect((await loadDataFile(dataFile)).contacts).toHaveLength(40)
  })

  it('reset() empties the file too', async () => {
    const sandbox = await start()
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'u1' }])
    await sandbox.reset()
    expect((await loadDataFile(dataFile)).contacts).toEqual([])
  })

  it('stop() rejects with SandboxDataError when the final write fails', async () => {
    const sandbox = await start()
    const errors: string[] = []
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      errors.push(String(chunk))
      return true
    })
    try {
      await fs.rm(folder, { recursive: true, force: true })
      await ok(sandbox.url, '/v1/identify', [{ user_id: 'u1' }])
      await expect(sandbox.stop()).rejects.toThrow(SandboxDataError)
      await expect(sandbox.stop()).rejects.toThrow(/^Could not save the sandbox data file .*state\.json: /)
    } finally {
      write.mockRestore()
    }
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/^ortto sandbox: Could not save the sandbox data file /)
  })
})

describe('checks at start', () => {
  it('refuses a read-only data file, saying what to do', async () => {
    await writeVersion1File(dataFile, 1)
    await fs.chmod(dataFile, 0o444)
    const error = await startError()
    expect(error.message).toBe(
      `The sandbox data file ${dataFile} is read-only, so nothing could be saved to it. ` +
        `Make it writable (chmod u+w ${dataFile}) or choose another data file.`
    )
  })

  it.each([
    ['does not exist yet', false],
    ['exists', true]
  ])('refuses a read-only folder when the file %s', async (_what, exists) => {
    if (exists) await writeVersion1File(dataFile, 1)
    await fs.chmod(folder, 0o555)
    const error = await startError()
    expect(error.message).toBe(
      `The sandbox data file ${dataFile} cannot be saved: its folder ${folder} is read-only ` +
        '(saving writes a temporary file there). Make the folder writable or choose another data file.'
    )
  })

  it('refuses a folder given as the data file', async () => {
    await fs.mkdir(dataFile)
    const error = await startError()
    expect(error.message).toBe(
      `The sandbox data file ${dataFile} is a folder, not a file. Name a file, such as ${path.join(dataFile, 'sandbox.json')}.`
    )
  })

  it('reports a data file whose folder does not exist', async () => {
    const missing = path.join(folder, 'no-such-folder', 'state.json')
    await expect(start(missing)).rejects.toThrow(
      new SandboxDataError(
        `The folder of the sandbox data file ${missing} does not exist. Create ${path.dirname(missing)} or choose another data file.`
      )
    )
  })

  it('names the link and its target when the target cannot be written', async () => {
    const target = path.join(folder, 'real.json')
    await writeVersion1File(target, 1)
    await fs.chmod(target, 0o444)
    await fs.symlink(target, dataFile)
    const error = await startError()
    expect(error.message).toBe(
      `The sandbox data file ${dataFile} (a link to ${target}) is read-only, so nothing could be saved to it. ` +
        `Make it writable (chmod u+w ${target}) or choose another data file.`
    )
  })

  it('removes temporary files a killed writer left next to the data file, and nothing else', async () => {
    await writeVersion1File(dataFile, 1)
    const deadPid = 99_999_999
    const stale = [`.state.json.${deadPid}.1.0123abcd.tmp`, `.state.json.${deadPid}.27.deadbeef.tmp`]
    const kept = [
      // This process's own (another sandbox in it may be writing it right now).
      `.state.json.${process.pid}.3.0123abcd.tmp`,
      // Other files' temporaries, and names that only look alike.
      `.other.json.${deadPid}.1.0123abcd.tmp`,
      `.state.json.${deadPid}.1.0123abcd.tmp.keep`,
      `state.json.${deadPid}.1.0123abcd.tmp`,
      `.state.json.${deadPid}.1.0123ABCD.tmp`,
      '.state.json.tmp',
      'state.json.bak'
    ]
    for (const name of [...stale, ...kept]) await fs.writeFile(path.join(folder, name), 'partial')
    const errors = await stderrOf(async () => {
      await start()
    })
    expect((await fs.readdir(folder)).sort()).toEqual(['state.json', ...kept].sort())
    expect(errors).toEqual([
      `ortto sandbox: removed 2 temporary files left next to ${dataFile} by a sandbox that was stopped mid-save ` +
        `(${stale.join(', ')})\n`
    ])
  })
})

describe('symbolic links', () => {
  it('keeps a link to the data file and writes its target', async () => {
    await fs.mkdir(path.join(folder, 'real'))
    const target = path.join(folder, 'real', 'state.json')
    await writeVersion1File(target, 2)
    await fs.symlink(path.join('real', 'state.json'), dataFile)

    const sandbox = await start()
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'through-the-link' }])
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'appended-through-the-link' }])
    expect((await fs.lstat(dataFile)).isSymbolicLink()).toBe(true)
    await sandbox.stop()

    expect((await fs.lstat(dataFile)).isSymbolicLink()).toBe(true)
    expect(await fs.readlink(dataFile)).toBe(path.join('real', 'state.json'))
    expect((await loadDataFile(target)).contacts.map((c) => c.user_id)).toEqual([
      'stored-0',
      'stored-1',
      'through-the-link',
      'appended-through-the-link'
    ])
    expect(await fs.readdir(path.join(folder, 'real'))).toEqual(['state.json'])
  })

  it('creates the target of a dangling link', async () => {
    await fs.mkdir(path.join(folder, 'real'))
    const target = path.join(folder, 'real', 'new.json')
    await fs.symlink(target, dataFile)
    const sandbox = await start()
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'u1' }])
    await sandbox.stop()
    expect((await fs.lstat(dataFile)).isSymbolicLink()).toBe(true)
    expect((await loadDataFile(target)).contacts.map((c) => c.user_id)).toEqual(['u1'])
  })
})

describe('unusable data files', () => {
  async function startWith(content: string): Promise<SandboxDataError> {
    await fs.writeFile(dataFile, content)
    const error: unknown = await start().then(
      () => undefined,
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(SandboxDataError)
    return error as SandboxDataError
  }

  const valid = {
    format: 'ortto-sandbox',
    version: 1,
    contacts: [
      {
        id: 'c1',
        user_id: 'u1',
        anonymous_ids: [],
        traits: {},
        ip: null,
        location: null,
        created_at: '2024-01-01T00:00:00.000Z',
        updated_at: '2024-01-01T00:00:00.000Z'
      }
    ],
    activities: [],
    audiences: []
  }

  it('loads a hand-written file in the documented format', async () => {
    await fs.writeFile(dataFile, JSON.stringify(valid))
    const sandbox = await start()
    expect(sandbox.snapshot().contacts).toEqual([{ ...valid.contacts[0], anonymous_id: null, audience_ids: [] }])
  })

  it('reports a file that is not JSON, naming the file and what to do', async () => {
    const error = await startWith('{"format": "ortto-sandbox", ')
    expect(error.message).toMatch(
      new RegExp(
        `^The sandbox data file ${dataFile.replace(/[.\\]/g, '\\$&')} cannot be used: it is not valid JSON \\(.+\\)\\. ` +
          'Fix the file, or delete it to start with an empty sandbox\\.$'
      )
    )
    expect(error.message).not.toContain('\n')
  })

  it.each([
    ['an empty file', '', 'it is empty'],
    [
      'another JSON document',
      '{"hello": "world"}',
      'it is not an Ortto sandbox data file (no "format": "ortto-sandbox")'
    ],
    ['another version', JSON.stringify({ ...valid, version: 2 }), 'its version is 2; this sandbox reads version 1'],
    ['contacts that are not a list', JSON.stringify({ ...valid, contacts: {} }), 'contacts must be a list'],
    [
      'a contact with a bad user_id',
      JSON.stringify({ ...valid, contacts: [{ ...valid.contacts[0], user_id: 5 }] }),
      'contacts[0].user_id must be a string or null'
    ],
    [
      'two contacts with one user_id',
      JSON.stringify({ ...valid, contacts: [valid.contacts[0], { ...valid.contacts[0], id: 'c2' }] }),
      'contacts[1].user_id repeats "u1", which must be unique'
    ],
    [
      'an activity of an unknown contact',
      JSON.stringify({
        ...valid,
        activities: [
          {
            contact_id: 'c9',
            event: 'e',
            properties: {},
            namespace: null,
            timestamp: null,
            message_id: null,
            received_at: 'x'
          }
        ]
      }),
      'activities[0].contact_id names contact "c9", which is not in contacts'
    ],
    [
      'an audience without a name',
      JSON.stringify({ ...valid, audiences: [{ id: 'a', created_at: 'x', member_ids: [] }] }),
      'audiences[0].name must be a string'
    ]
  ])('reports %s', async (_what, content, why) => {
    const error = await startWith(content)
    expect(error.message).toBe(
      `The sandbox data file ${dataFile} cannot be used: ${why}. Fix the file, or delete it to start with an empty sandbox.`
    )
  })
})

describe('DataFileWriter', () => {
  it('coalesces saves: one write in flight and one pending, however many are asked for', async () => {
    let revision = 0
    let serialized = 0
    const writer = new DataFileWriter(
      { file: dataFile, target: dataFile },
      () => revision,
      () => {
        serialized++
        return { contacts: [], activities: [], audiences: [] }
      },
      () => undefined
    )
    for (let i = 0; i < 100; i++) {
      revision++
      writer.requestSave()
    }
    await writer.flush()
    expect(serialized).toBe(2)
    await writer.flush()
    expect(serialized).toBe(2)
    expect(await fs.readdir(folder)).toEqual(['state.json'])
  })

  it('writes nothing when nothing changed', async () => {
    const writer = new DataFileWriter(
      { file: dataFile, target: dataFile },
      () => 0,
      () => ({ contacts: [], activities: [], audiences: [] }),
      () => undefined
    )
    writer.requestSave()
    await writer.flush()
    expect(await fs.readdir(folder)).toEqual([])
  })
})
