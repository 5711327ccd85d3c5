/**
 * The spool on its own (DiskSpool): what is appended is on disk, checksummed, before the append
 * resolves, with one flush for a group of appends; what ended is not given back; a restart gives
 * back exactly what is still owed; a line cut short by a kill is left out and anything else damaged
 * stops the start with the file and the offset; the files follow the backlog, not the history.
 * A "crash" is a copy of the folder taken while the spool is open: what a kill would leave.
 */
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync, appendFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import * as path from 'node:path'
import type { SegmentEvent } from '@segment/actions-core'
import { DiskSpool, SpoolError, type SpoolRef } from '../delivery/spool/spool'
import { SpoolDamagedError } from '../delivery/spool/recovery'
import type { SpooledSubscription } from '../delivery/spool/records'
import { tempDir } from '../../../test/helpers/pipeline-helpers'

let temp: ReturnType<typeof tempDir>
const opened: DiskSpool[] = []
let logLines: string[]

beforeEach(() => {
  temp = tempDir('spool-')
  logLines = []
})

afterEach(async () => {
  jest.restoreAllMocks()
  for (const spool of opened.splice(0)) await spool.close().catch(() => undefined)
  temp.remove()
})

function openSpool(dir = temp.file('spool'), sizes: { segmentBytes?: number; emptySegmentBytes?: number } = {}) {
  const spool = new DiskSpool({ dir, log: (line) => logLines.push(line), ...sizes })
  const restored = spool.open()
  opened.push(spool)
  return { spool, restored }
}

/** What a kill -9 leaves: the folder as it is on disk right now, in another place. */
function crashCopy(dir: string): string {
  const copy = temp.file(`crash-${readdirSync(temp.dir).length}`)
  cpSync(dir, copy, { recursive: true })
  return copy
}

const CONTACTS: SpooledSubscription = {
  name: 'Upsert Contact',
  destination: 'ortto',
  partnerAction: 'upsertContact',
  subscribe: 'type = "identify"',
  mapping: { user_id: { '@path': '$.userId' } }
}
const ACTIVITIES: SpooledSubscription = { ...CONTACTS, name: 'Track Activity', partnerAction: 'trackActivity' }

const event = (n: number, extra: Record<string, unknown> = {}): SegmentEvent => ({
  type: 'identify',
  userId: `user-${n}`,
  messageId: `m-${n}`,
  traits: { n },
  ...extra
})

const segmentFiles = (dir: string) => readdirSync(dir).filter((name) => name.endsWith('.spool'))
const linesOf = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean)

describe('appending', () => {
  it('writes each event with the subscriptions it is owed to, checksummed, before it resolves', async () => {
    const { spool } = openSpool()
    const refs = await spool.append([
      { event: event(1), subscriptions: [CONTACTS] },
      { event: event(2), subscriptions: [CONTACTS, ACTIVITIES] }
    ])
    expect(refs.map((r) => r.map((ref) => ref.subscription.name))).toEqual([
      ['Upsert Contact'],
      ['Upsert Contact', 'Track Activity']
    ])
    const [file] = segmentFiles(spool.dir)
    expect(file).toBe('00000001.spool')
    const lines = linesOf(path.join(spool.dir, file))
    for (const line of lines) expect(line).toMatch(/^[0-9a-f]{8} \{/)
    expect(lines.map((line) => JSON.parse(line.slice(9)) as unknown)).toEqual([
      { t: 'spool', version: 2 },
      { t: 's', i: 0, subscription: CONTACTS },
      { t: 'e', n: 0, s: [0], e: event(1) },
      { t: 's', i: 1, subscription: ACTIVITIES },
      { t: 'e', n: 1, s: [0, 1], e: event(2) }
    ])
  })

  it('flushes appends made together with one fdatasync (group commit), not one per call or event', async () => {
    const { spool } = openSpool()
    const probe = await open(temp.file('probe'), 'w')
    const datasync = jest.spyOn(Object.getPrototypeOf(probe) as { datasync(): Promise<void> }, 'datasync')
    await probe.close()
    // 20 calls of 25 events each, all arriving while the first write is under way.
    const calls = Array.from({ length: 20 }, (_, c) =>
      spool.append(Array.from({ length: 25 }, (_, i) => ({ event: event(c * 25 + i), subscriptions: [CONTACTS] })))
    )
    await Promise.all(calls)
    // One write and one flush for all 20 (the new file's header, which needs no flush, went first).
    expect(datasync).toHaveBeenCalledTimes(1)
    const events = linesOf(path.join(spool.dir, '00000001.spool')).filter((line) => line.includes('"t":"e"'))
    expect(events).toHaveLength(500)
  })

  it('rejects a call whose write fails, owes nothing of it, and writes the next call to a new file', async () => {
    const { spool } = openSpool()
    await spool.append([{ event: event(1), subscriptions: [CONTACTS] }])
    const probe = await open(temp.file('probe'), 'w')
    const prototype = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => Promise<unknown> }
    await probe.close()
    const write = prototype.write
    jest
      .spyOn(prototype, 'write')
      .mockImplementationOnce(() => Promise.reject(new Error('ENOSPC: no space left on device')))
    await expect(spool.append([{ event: event(2), subscriptions: [CONTACTS] }])).rejects.toThrow(
      /^The spool could not write to .*00000001\.spool \(ENOSPC: no space left on device\)\.$/
    )
    jest.spyOn(prototype, 'write').mockImplementation(write)
    await spool.append([{ event: event(3), subscriptions: [CONTACTS] }])
    expect(segmentFiles(spool.dir).sort()).toEqual(['00000001.spool', '00000002.spool'])
    const { restored } = openSpool(crashCopy(spool.dir))
    expect(restored.map((r) => r.event.messageId).sort()).toEqual(['m-1', 'm-3'])
  })
})

describe('after a crash', () => {
  it('gives back exactly the deliveries whose end was not recorded, each with its subscription', async () => {
    const { spool } = openSpool()
    const refs = await spool.append([
      { event: event(1), subscriptions: [CONTACTS] },
      { event: event(2), subscriptions: [CONTACTS, ACTIVITIES] },
      { event: event(3), subscriptions: [ACTIVITIES] }
    ])
    // Event 1 delivered, and event 2 to Track Activity; their ends are written at the next writeEnds.
    spool.end([refs[0][0], refs[1][1]])
    spool.writeEnds()
    await spool.append([{ event: event(4), subscriptions: [CONTACTS] }])
    const { restored } = openSpool(crashCopy(spool.dir))
    expect(restored.map((r) => [r.event.messageId, r.refs.map((ref) => ref.subscription.name)])).toEqual([
      ['m-2', ['Upsert Contact']],
      ['m-3', ['Track Activity']],
      ['m-4', ['Upsert Contact']]
    ])
    expect(restored[0].event).toEqual(event(2))
  })

  it('gives back what was delivered but whose end was not written yet: sent twice, never lost', async () => {
    const { spool } = openSpool()
    const [[ref]] = await spool.append([{ event: event(1), subscriptions: [CONTACTS] }])
    spool.end([ref])
    const { restored } = openSpool(crashCopy(spool.dir))
    expect(restored.map((r) => r.event.messageId)).toEqual(['m-1'])
  })

  it('leaves out a last line cut short by a kill, and cuts it off the file', async () => {
    const { spool } = openSpool()
    await spool.append([1, 2].map((n) => ({ event: event(n), subscriptions: [CONTACTS] })))
    const copy = crashCopy(spool.dir)
    const file = path.join(copy, '00000001.spool')
    const intact = readFileSync(file)
    appendFileSync(file, '1234abcd {"t":"e","n":2,"s":[0],"e":{"type":"ident')
    const { restored } = openSpool(copy)
    expect(restored.map((r) => r.event.messageId)).toEqual(['m-1', 'm-2'])
    expect(readFileSync(file)).toEqual(intact)
  })

  it('keeps a whole last line that lacks its newline, and adds the newline', async () => {
    const { spool } = openSpool()
    await spool.append([1, 2].map((n) => ({ event: event(n), subscriptions: [CONTACTS] })))
    const copy = crashCopy(spool.dir)
    const file = path.join(copy, '00000001.spool')
    const text = readFileSync(file, 'utf8')
    writeFileSync(file, text.slice(0, -1))
    const { restored } = openSpool(copy)
    expect(restored.map((r) => r.event.messageId)).toEqual(['m-1', 'm-2'])
    expect(readFileSync(file, 'utf8')).toBe(text)
  })

  it.each([
    [
      'a changed byte inside an event',
      (text: string) => text.replace('"user-1"', '"user-7"'),
      'its checksum does not match its content'
    ],
    [
      'a line that lost its checksum',
      (text: string) => text.replace(/\n[0-9a-f]{8} /, '\n'),
      'it does not start with an 8-digit checksum and a space'
    ],
    [
      'a missing header',
      (text: string) => text.slice(text.indexOf('\n') + 1),
      'a spool file starts with its header line, and this one does not'
    ]
  ])(
    'refuses to start on other damage (%s), naming the file, the byte offset and the remedy',
    async (_what, damage, problem) => {
      const { spool } = openSpool()
      await spool.append([1, 2, 3].map((n) => ({ event: event(n), subscriptions: [CONTACTS] })))
      const copy = crashCopy(spool.dir)
      const file = path.join(copy, '00000001.spool')
      const damaged = damage(readFileSync(file, 'utf8'))
      writeFileSync(file, damaged)
      const lines = damaged.split('\n')
      const bad = lines.findIndex((line, i) =>
        i === 0 ? !line.includes('"t":"spool"') : !/^[0-9a-f]{8} \{/.test(line) || line.includes('user-7')
      )
      const offset = Buffer.byteLength(
        lines
          .slice(0, bad)
          .map((line) => `${line}\n`)
          .join('')
      )
      let thrown: unknown
      try {
        openSpool(copy)
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(SpoolDamagedError)
      expect((thrown as Error).message).toBe(
        `The spool file ${file} is damaged at byte ${offset} (line ${bad + 1}): ${problem}. Only a last line cut ` +
          `short by a kill is expected. Move the file out of ${copy} to start without it; its intact events can be ` +
          'sent again (docs/operating.md, "The spool").'
      )
      // Nothing was changed, and the folder is not held.
      expect(readFileSync(file, 'utf8')).toBe(damaged)
      expect(existsSync(path.join(copy, 'lock'))).toBe(false)
    }
  )
})

describe('the folder', () => {
  it('is held by one spool at a time, and a lock left by a killed process is taken over', async () => {
    const { spool } = openSpool()
    expect(() => openSpool(spool.dir)).toThrow(
      new SpoolError(`SPOOL_DIR ${spool.dir} cannot be used: another pipeline in this process uses it.`)
    )
    expect(readFileSync(path.join(spool.dir, 'lock'), 'utf8')).toBe(`${process.pid}\n`)
    await spool.close()
    expect(existsSync(path.join(spool.dir, 'lock'))).toBe(false)
    // A process id no process has (the kernel's pid_max is at most 2^22).
    writeFileSync(path.join(spool.dir, 'lock'), '99999999\n')
    expect(() => openSpool(spool.dir)).not.toThrow()
  })

  it('refuses a path that is not a folder, saying what to do', () => {
    const file = temp.file('a-file')
    writeFileSync(file, '')
    expect(() => openSpool(file)).toThrow(/^SPOOL_DIR .*a-file cannot be used: .*; choose a writable folder\.$/)
  })
})

describe('its size follows the backlog, not the history', () => {
  const sizes = { segmentBytes: 16 * 1024, emptySegmentBytes: 4 * 1024 }

  it('is back to (almost) nothing once every delivery has ended', async () => {
    const { spool } = openSpool(temp.file('spool'), sizes)
    const refs: SpoolRef[] = []
    for (let call = 0; call < 40; call++) {
      const batch = Array.from({ length: 25 }, (_, i) => ({ event: event(call * 25 + i), subscriptions: [CONTACTS] }))
      refs.push(...(await spool.append(batch)).flat())
    }
    expect(spool.usage().files).toBeGreaterThan(5)
    spool.end(refs)
    await spool.idle()
    expect(spool.usage()).toEqual({ files: 0, bytes: 0 })
  })

  it('copies what old files still owe into the current one: stragglers across the history hold no history', async () => {
    const { spool } = openSpool(temp.file('spool'), sizes)
    const stragglers: SpoolRef[] = []
    let peak = 0
    for (let call = 0; call < 200; call++) {
      const batch = Array.from({ length: 10 }, (_, i) => ({ event: event(call * 10 + i), subscriptions: [CONTACTS] }))
      const refs = (await spool.append(batch)).flat()
      // Every 50th event is still pending (retrying, say); the rest are delivered.
      if (call % 5 === 0) stragglers.push(refs.shift() as SpoolRef)
      spool.end(refs)
      spool.writeEnds()
      await spool.idle()
      peak = Math.max(peak, spool.usage().bytes)
    }
    // 2,000 events went through, over 200 kB of lines in 20 or so files; 40 are still owed.
    expect(stragglers).toHaveLength(40)
    expect(peak).toBeLessThan(3 * sizes.segmentBytes)
    const { restored } = openSpool(crashCopy(spool.dir))
    const ids = (messageIds: unknown[]) => messageIds.map(String).sort()
    expect(ids(restored.map((r) => r.event.messageId))).toEqual(ids(stragglers.map((ref) => ref.entry.event.messageId)))
    // The stragglers, copied, still end where they now are.
    spool.end(stragglers)
    await spool.idle()
    expect(spool.usage().bytes).toBeLessThan(sizes.segmentBytes)
  })
})
