import { promises as fs } from 'node:fs'
import * as path from 'node:path'
import { SandboxDataError } from '../index'
import type { SandboxState } from '../index'
import { journalRecord } from '../data-file/format'
import { DataFileDamage } from '../data-file/damage'
import { loadDataFile } from '../data-file/open'
import { callSandbox, postJson } from '../../../../../test/helpers/http-client'
import { changeOf, dataFileHarness, ok, stderrOf, withoutChecksum } from './data-file-harness'
import { writeVersion1File } from './data-files'

const h = dataFileHarness()
const { start, startError, lines, stateAfterKill } = h

describe('data file', () => {
  it('starts empty when the file does not exist yet, and creates none until something changes', async () => {
    const sandbox = await start()
    expect(sandbox.snapshot()).toEqual({ contacts: [], activities: [], audiences: [], membership_history: [] })
    await sandbox.stop()
    expect(await fs.readdir(h.folder)).toEqual([])
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

  it('has a change in the file before the request that made it is answered', async () => {
    const sandbox = await start()
    for (let i = 0; i < 5; i++) {
      await ok(sandbox.url, '/v1/identify', [{ user_id: `u${i}` }])
      expect((await loadDataFile(h.dataFile)).contacts.map((c) => c.user_id)).toContain(`u${i}`)
    }
  })

  it('leaves no temporary files behind after many concurrent changes', async () => {
    const sandbox = await start()
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => ok(sandbox.url, '/v1/identify', [{ user_id: `u${i}`, traits: { i } }]))
    )
    await sandbox.stop()
    expect(await fs.readdir(h.folder)).toEqual(['state.json'])
    expect((await loadDataFile(h.dataFile)).contacts).toHaveLength(40)
  })

  it('reset() empties the file too, at once', async () => {
    const sandbox = await start()
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'u1' }])
    await sandbox.reset()
    expect((await loadDataFile(h.dataFile)).contacts).toEqual([])
    expect(await lines()).toHaveLength(1)
  })

  it('answers 500 for a change it could not save, and stop() rejects with SandboxDataError', async () => {
    const sandbox = await start()
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'u0' }])
    let answer: Awaited<ReturnType<typeof postJson>> | undefined
    const errors = await stderrOf(async () => {
      await fs.rm(h.folder, { recursive: true, force: true })
      answer = await postJson(sandbox.url, '/v1/identify', [{ user_id: 'u1' }])
      await expect(sandbox.stop()).rejects.toThrow(SandboxDataError)
      await expect(sandbox.stop()).rejects.toThrow(/^Could not save the sandbox data file .*state\.json: /)
    })
    expect(answer?.status).toBe(500)
    expect(answer?.json).toEqual({
      error: {
        code: 'not-saved',
        message: expect.stringMatching(/^the change was not saved: Could not save the sandbox data file /) as string
      }
    })
    // One line for the whole streak of failures, not one per attempt.
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/^ortto sandbox: Could not save the sandbox data file /)
  })
})

describe('checks at start', () => {
  it('refuses a read-only data file, saying what to do', async () => {
    await writeVersion1File(h.dataFile, 1)
    await fs.chmod(h.dataFile, 0o444)
    const error = await startError()
    expect(error.message).toBe(
      `The sandbox data file ${h.dataFile} is read-only, so nothing could be saved to it. ` +
        `Make it writable (chmod u+w ${h.dataFile}) or choose another data file.`
    )
  })

  it.each([
    ['does not exist yet', false],
    ['exists', true]
  ])('refuses a read-only folder when the file %s', async (_what, exists) => {
    if (exists) await writeVersion1File(h.dataFile, 1)
    await fs.chmod(h.folder, 0o555)
    const error = await startError()
    expect(error.message).toBe(
      `The sandbox data file ${h.dataFile} cannot be saved: its folder ${h.folder} is read-only ` +
        '(saving writes a temporary file there). Make the folder writable or choose another data file.'
    )
  })

  it('refuses a folder given as the data file', async () => {
    await fs.mkdir(h.dataFile)
    const error = await startError()
    expect(error.message).toBe(
      `The sandbox data file ${h.dataFile} is a folder, not a file. Name a file, such as ${path.join(h.dataFile, 'sandbox.json')}.`
    )
  })

  it('reports a data file whose folder does not exist', async () => {
    const missing = path.join(h.folder, 'no-such-folder', 'state.json')
    await expect(start(missing)).rejects.toThrow(
      new SandboxDataError(
        `The folder of the sandbox data file ${missing} does not exist. Create ${path.dirname(missing)} or choose another data file.`
      )
    )
  })

  it('names the link and its target when the target cannot be written', async () => {
    const target = path.join(h.folder, 'real.json')
    await writeVersion1File(target, 1)
    await fs.chmod(target, 0o444)
    await fs.symlink(target, h.dataFile)
    const error = await startError()
    expect(error.message).toBe(
      `The sandbox data file ${h.dataFile} (a link to ${target}) is read-only, so nothing could be saved to it. ` +
        `Make it writable (chmod u+w ${target}) or choose another data file.`
    )
  })

  it('removes temporary files a killed writer left next to the data file, and nothing else', async () => {
    await writeVersion1File(h.dataFile, 1)
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
    for (const name of [...stale, ...kept]) await fs.writeFile(path.join(h.folder, name), 'partial')
    const errors = await stderrOf(async () => {
      await start()
    })
    expect((await fs.readdir(h.folder)).sort()).toEqual(['state.json', ...kept].sort())
    expect(errors).toEqual([
      `ortto sandbox: removed 2 temporary files left next to ${h.dataFile} by a sandbox that was stopped mid-save ` +
        `(${stale.join(', ')})\n`
    ])
  })
})

describe('symbolic links', () => {
  it('keeps a link to the data file and writes its target', async () => {
    await fs.mkdir(path.join(h.folder, 'real'))
    const target = path.join(h.folder, 'real', 'state.json')
    await writeVersion1File(target, 2)
    await fs.symlink(path.join('real', 'state.json'), h.dataFile)

    const sandbox = await start()
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'through-the-link' }])
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'appended-through-the-link' }])
    expect((await fs.lstat(h.dataFile)).isSymbolicLink()).toBe(true)
    await sandbox.stop()

    expect((await fs.lstat(h.dataFile)).isSymbolicLink()).toBe(true)
    expect(await fs.readlink(h.dataFile)).toBe(path.join('real', 'state.json'))
    expect((await loadDataFile(target)).contacts.map((c) => c.user_id)).toEqual([
      'stored-0',
      'stored-1',
      'through-the-link',
      'appended-through-the-link'
    ])
    expect(await fs.readdir(path.join(h.folder, 'real'))).toEqual(['state.json'])
  })

  it('creates the target of a dangling link', async () => {
    await fs.mkdir(path.join(h.folder, 'real'))
    const target = path.join(h.folder, 'real', 'new.json')
    await fs.symlink(target, h.dataFile)
    const sandbox = await start()
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'u1' }])
    await sandbox.stop()
    expect((await fs.lstat(h.dataFile)).isSymbolicLink()).toBe(true)
    expect((await loadDataFile(target)).contacts.map((c) => c.user_id)).toEqual(['u1'])
  })
})

describe('journal', () => {
  it('appends one line per request, which loads as the same state', async () => {
    const sandbox = await start()
    const vip = (await ok(sandbox.url, '/v1/audiences/create', { name: 'VIP' })) as { id: string }
    const later = (await ok(sandbox.url, '/v1/audiences/create', { name: 'Later' })) as { id: string }
    // Anonymous contacts, merges, a moved anonymous id, memberships in and out, repeats and
    // activities without a (message_id, timestamp) pair: everything the store changes.
    await ok(sandbox.url, '/v1/identify', [
      { anonymous_id: 'a1', traits: { seen: 1 }, audience: { mode: 'add', id: later.id } },
      { anonymous_id: 'a2', traits: { seen: 2 } }
    ])
    await ok(sandbox.url, '/v1/track', [
      { anonymous_id: 'a1', event: 'Viewed', message_id: 'm1', timestamp: '2024-05-01T00:00:00.000Z' },
      { anonymous_id: 'a1', event: 'No key' },
      { anonymous_id: 'a1', event: 'No key' }
    ])
    await ok(sandbox.url, '/v1/identify', [
      { user_id: 'u1', traits: { plan: 'pro' }, audience: { mode: 'add', id: vip.id } },
      { user_id: 'u1', anonymous_id: 'a1', audience: { mode: 'add', id: vip.id } }
    ])
    await ok(sandbox.url, '/v1/track', [
      { user_id: 'u2', anonymous_id: 'a2', event: 'Bought', message_id: 'm2', timestamp: '2024-05-02T00:00:00.000Z' },
      { user_id: 'u3', anonymous_id: 'a2', event: 'Shared device' },
      { user_id: 'u1', event: 'Viewed', message_id: 'm1', timestamp: '2024-05-01T00:00:00.000Z' }
    ])
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'u1', audience: { mode: 'remove', id: later.id } }])

    // The first change created the file (one snapshot line); the six after it appended a line each.
    expect(await lines()).toHaveLength(7)
    const live = sandbox.snapshot()
    // a2's contact became u2's; u1 absorbed a1's contact; u3 took a2 from u2 (a shared device).
    expect(live.contacts.map((c) => [c.user_id, c.anonymous_ids])).toEqual([
      ['u2', []],
      ['u1', ['a1']],
      ['u3', ['a2']]
    ])
    expect(live.audiences.map((a) => a.member_ids.length)).toEqual([1, 0])
    expect(live.activities.map((a) => a.event)).toEqual(['Viewed', 'No key', 'No key', 'Bought', 'Shared device'])
    expect(await stateAfterKill()).toEqual(live)
    expect((await loadDataFile(h.dataFile)).activities).toEqual(live.activities)
  })

  it('costs the same bytes for one small change whatever the size of the store', async () => {
    const probe = async (contacts: number): Promise<number> => {
      const file = path.join(h.folder, `store-${contacts}.json`)
      await writeVersion1File(file, contacts)
      const sandbox = await start(file)
      // The first change rewrites a version 1 file in the journal layout.
      await ok(sandbox.url, '/v1/identify', [{ user_id: 'warm-up' }])
      const before = await fs.stat(file)
      await ok(sandbox.url, '/v1/identify', [{ user_id: 'probe', traits: { note: 'one small change' } }])
      const after = await fs.stat(file)
      expect((await loadDataFile(file)).contacts.map((c) => c.user_id)).toContain('probe')
      // A replaced file (a new inode) was written whole; the same file grew by what was appended.
      return after.ino === before.ino ? after.size - before.size : after.size
    }
    const small = await probe(10)
    const large = await probe(20_000)
    expect(large).toBe(small)
    expect(small).toBeLessThan(1_000)
  })

  it('compacts the journal into a fresh snapshot once it outgrows the snapshot, and at stop', async () => {
    const sandbox = await start()
    const big = 'x'.repeat(3_000)
    const counts: number[] = []
    // 100 contacts of about 3 kB a request: past the 1 MiB minimum within a few requests.
    for (let request = 0; request < 6; request++) {
      const batch = Array.from({ length: 100 }, (_, i) => ({ user_id: `u${request}-${i}`, traits: { big } }))
      await ok(sandbox.url, '/v1/identify', batch)
      counts.push((await lines()).length)
      expect(await stateAfterKill()).toEqual(sandbox.snapshot())
    }
    // One snapshot line, a journal line per request, then a single line again after compacting.
    expect(counts).toEqual([1, 2, 3, 4, 1, 2])
    const live = sandbox.snapshot()
    await sandbox.stop()
    expect(await lines()).toHaveLength(1)
    expect(JSON.parse((await lines())[0])).toMatchObject({ format: 'ortto-sandbox', version: 3 })
    expect((await start()).snapshot()).toEqual(live)
    expect(await fs.readdir(h.folder)).toEqual(['state.json'])
  })
})

describe('membership history', () => {
  const put = async (url: string, members: unknown[]): Promise<void> => {
    const answer = await callSandbox(url, 'PUT', '/v1/audiences/members', { body: members })
    expect({ status: answer.status, json: answer.json }).toEqual({ status: 200, json: {} })
  }

  it('keeps members and history across a restart, and numbers the next change after them', async () => {
    const first = await start()
    const { id } = (await ok(first.url, '/v1/audiences/create', { name: 'VIP' })) as { id: string }
    await put(first.url, [
      { user_id: 'u1', message_id: 'm-1', audience: { mode: 'add', id } },
      { user_id: 'u2', message_id: 'm-2', audience: { mode: 'add', id } }
    ])
    await put(first.url, [{ user_id: 'u1', message_id: 'm-3', audience: { mode: 'remove', id } }])
    const before = first.snapshot()
    expect(before.membership_history).toHaveLength(3)
    await first.stop()

    const second = await start()
    expect(second.snapshot()).toEqual(before)
    await put(second.url, [{ user_id: 'u1', message_id: 'm-4', audience: { mode: 'add', id } }])
    const after = second.snapshot()
    expect(after.membership_history.map((change) => [change.sequence, change.message_id, change.changed])).toEqual([
      [1, 'm-1', true],
      [2, 'm-2', true],
      [3, 'm-3', true],
      [4, 'm-4', true]
    ])
    expect(after.audiences[0].member_ids).toHaveLength(2)
  })

  it('journals each request, and loads the same state when every journal line is replayed twice', async () => {
    const sandbox = await start()
    const { id } = (await ok(sandbox.url, '/v1/audiences/create', { name: 'VIP' })) as { id: string }
    await put(sandbox.url, [{ anonymous_id: 'a1', audience: { mode: 'add', id } }])
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'u1', anonymous_id: 'a1', audience: { mode: 'add', id } }])
    await ok(sandbox.url, '/v1/track', [{ user_id: 'u1', event: 'Left', audience: { mode: 'remove', id } }])
    await put(sandbox.url, [{ user_id: 'u1', audience: { mode: 'remove', id } }])
    const live = sandbox.snapshot()
    expect(live.membership_history.map((change) => [change.via, change.changed])).toEqual([
      ['/v1/audiences/members', true],
      ['/v1/identify', false],
      ['/v1/track', true],
      ['/v1/audiences/members', false]
    ])

    const [snapshot, ...journal] = await lines()
    expect(journal).toHaveLength(4)
    expect(journal.map((line) => changeOf(line).membership_history?.length)).toEqual([1, 1, 1, 1])
    expect(await stateAfterKill()).toEqual(live)
    const twice = path.join(h.folder, 'twice.json')
    const doubled = journal.flatMap((line) => [changeOf(line), changeOf(line)])
    const records = doubled.map((change, i) => journalRecord(i + 1, JSON.stringify(change)))
    await fs.writeFile(twice, [snapshot, ...records, ''].join('\n'))
    expect(await loadDataFile(twice)).toEqual(live)
  })

  it('keeps the history when the journal is compacted, as it grows and at stop', async () => {
    const sandbox = await start()
    const { id } = (await ok(sandbox.url, '/v1/audiences/create', { name: 'VIP' })) as { id: string }
    const big = 'x'.repeat(3_000)
    const counts: number[] = []
    for (let request = 0; request < 5; request++) {
      const mode = request % 2 === 0 ? 'add' : 'remove'
      await put(
        sandbox.url,
        Array.from({ length: 100 }, (_, i) => ({ user_id: `u${i}`, traits: { big, request }, audience: { mode, id } }))
      )
      counts.push((await lines()).length)
      expect(await stateAfterKill()).toEqual(sandbox.snapshot())
    }
    // The audience's creation wrote the snapshot; a line per request; the third (past 1 MiB) compacted them.
    expect(counts).toEqual([2, 3, 1, 2, 3])
    const live = sandbox.snapshot()
    expect(live.membership_history).toHaveLength(500)
    await sandbox.stop()
    expect(await lines()).toHaveLength(1)
    expect((JSON.parse((await lines())[0]) as SandboxState).membership_history).toHaveLength(500)
    expect((await start()).snapshot()).toEqual(live)
  })

  it('loads a snapshot written before the sandbox kept a history, with an empty one', async () => {
    const sandbox = await start()
    const { id } = (await ok(sandbox.url, '/v1/audiences/create', { name: 'VIP' })) as { id: string }
    await put(sandbox.url, [{ user_id: 'u1', audience: { mode: 'add', id } }])
    await sandbox.stop()
    const { membership_history, ...older } = withoutChecksum((await lines())[0]) as unknown as SandboxState
    expect(membership_history).toHaveLength(1)
    await fs.writeFile(h.dataFile, `${JSON.stringify({ ...older, version: 2 })}\n`)
    const restarted = await start()
    expect(restarted.snapshot().membership_history).toEqual([])
    expect(restarted.snapshot().audiences[0].member_ids).toHaveLength(1)
  })

  it.each([
    [
      'a snapshot whose history skips a number',
      (state: Record<string, object[]>) => ({
        ...state,
        membership_history: [{ ...state.membership_history[0], sequence: 2 }]
      }),
      'membership_history[0].sequence is 2, not 1'
    ],
    [
      'a snapshot whose history names an audience it does not have',
      (state: Record<string, object[]>) => ({ ...state, audiences: [] }),
      'membership_history[0].audience_id names audience "AUDIENCE", which is not in audiences'
    ],
    [
      'a history entry with an unknown mode',
      (state: Record<string, object[]>) => ({
        ...state,
        membership_history: [{ ...state.membership_history[0], mode: 'join' }]
      }),
      'membership_history[0].mode must be one of add, remove'
    ]
  ])('refuses %s, naming the entry', async (_what, change, why) => {
    const sandbox = await start()
    const { id } = (await ok(sandbox.url, '/v1/audiences/create', { name: 'VIP' })) as { id: string }
    await put(sandbox.url, [{ user_id: 'u1', audience: { mode: 'add', id } }])
    await sandbox.stop()
    const copy = path.join(h.folder, 'changed.json')
    // Hand-written, as a version 1 file (one JSON document without checksums) would be.
    const snapshot = { ...withoutChecksum((await lines())[0]), version: 1 } as unknown as Record<string, object[]>
    await fs.writeFile(copy, JSON.stringify(change(snapshot)))
    const error = await startError(copy)
    expect(error.message).toBe(
      `The sandbox data file ${copy} cannot be used: ${why.replace('AUDIENCE', id)}. Fix the file, or delete it to start with an empty sandbox.`
    )
  })

  it('refuses a journal line whose history entry comes after a gap', async () => {
    const sandbox = await start()
    const { id } = (await ok(sandbox.url, '/v1/audiences/create', { name: 'VIP' })) as { id: string }
    await put(sandbox.url, [{ user_id: 'u1', audience: { mode: 'add', id } }])
    const [snapshot, line] = await lines()
    const entry = changeOf(line)
    entry.membership_history![0].sequence = 3
    const copy = path.join(h.folder, 'gap.json')
    // With a checksum that matches: the line is as written, but does not fit the state before it.
    await fs.writeFile(copy, `${snapshot}\n${journalRecord(1, JSON.stringify(entry))}\n`)
    const error = await startError(copy)
    expect(error).toBeInstanceOf(DataFileDamage)
    expect(error.message).toMatch(
      `The sandbox data file ${copy} is damaged at line 2 (byte offset ${Buffer.byteLength(snapshot) + 1}): ` +
        'membership_history[0].sequence is 3, but only 0 history entries come before it. Line 1 is intact.'
    )
  })
})

describe('unusable data files', () => {
  async function startWith(content: string): Promise<SandboxDataError> {
    await fs.writeFile(h.dataFile, content)
    return startError()
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

  it('loads a hand-written file in the documented format (version 1), pretty-printed or not', async () => {
    for (const text of [JSON.stringify(valid), JSON.stringify(valid, null, 2)]) {
      await fs.writeFile(h.dataFile, text)
      const sandbox = await start()
      expect(sandbox.snapshot().contacts).toEqual([{ ...valid.contacts[0], anonymous_id: null, audience_ids: [] }])
      await sandbox.stop()
      // Nothing changed, so the file is left as it was.
      expect(await fs.readFile(h.dataFile, 'utf8')).toBe(text)
    }
  })

  it('rewrites a version 1 file in the journal layout at the first change', async () => {
    await fs.writeFile(h.dataFile, JSON.stringify(valid, null, 2))
    const sandbox = await start()
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'u2' }])
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'u3' }])
    expect(await lines()).toHaveLength(2)
    expect(JSON.parse((await lines())[0])).toMatchObject({ format: 'ortto-sandbox', version: 3 })
    expect((await loadDataFile(h.dataFile)).contacts.map((c) => c.user_id)).toEqual(['u1', 'u2', 'u3'])
  })

  it('reports a file that is not JSON, naming the file and what to do', async () => {
    const error = await startWith('{"format": "ortto-sandbox", ')
    expect(error.message).toMatch(
      new RegExp(
        `^The sandbox data file ${h.dataFile.replace(/[.\\]/g, '\\$&')} cannot be used: it is not valid JSON \\(.+\\)\\. ` +
          'Fix the file, or delete it to start with an empty sandbox\\.$'
      )
    )
    expect(error.message).not.toContain('\n')
  })

  it('reports a snapshot line cut short (which a rename never leaves) as damage at line 1', async () => {
    const sandbox = await start()
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'u1' }])
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'u2' }])
    const [snapshot, ...journal] = await lines()
    const copy = path.join(h.folder, 'short.json')
    await fs.writeFile(copy, [snapshot.slice(0, -10), ...journal, ''].join('\n'))
    const error = await startError(copy)
    expect(error.message).toMatch(
      `The sandbox data file ${copy} is damaged at line 1 (byte offset 0): its checksum does not match its content.`
    )
  })

  it.each([
    ['an empty file', '', 'it is empty'],
    [
      'another JSON document',
      '{"hello": "world"}',
      'it is not an Ortto sandbox data file (no "format": "ortto-sandbox")'
    ],
    [
      'another version',
      JSON.stringify({ ...valid, version: 4 }),
      'its version is 4; this sandbox reads versions 1, 2 and 3'
    ],
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
      `The sandbox data file ${h.dataFile} cannot be used: ${why}. Fix the file, or delete it to start with an empty sandbox.`
    )
  })
})
