/**
 * The data file's records and what loading makes of damage: a last record cut short by a kill is
 * set aside (it was never acknowledged); a complete last record without its newline is kept;
 * anything else refuses to start, naming the file, the line and its byte offset, and
 * `--salvage` keeps the records before the damage, moving the rest to a side file.
 */
import { createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import * as path from 'node:path'
import type { Sandbox, SandboxState } from '../index'
import { recordProblem } from '../data-file/checksum'
import { DataFileDamage } from '../data-file/damage'
import { journalRecord } from '../data-file/format'
import { loadDataFile } from '../data-file/open'
import { salvageDataFile } from '../data-file/salvage'
import { dataFileHarness, ok, stderrOf } from './data-file-harness'
import { writeVersion2File } from './data-files'

const h = dataFileHarness()

/** The file as a kill leaves it: the snapshot of the first change, then one journal line per change after it. */
async function killedFile(contacts: number): Promise<{ file: string; lines: string[] }> {
  const sandbox = await h.start()
  for (let i = 1; i <= contacts; i++) await ok(sandbox.url, '/v1/identify', [{ user_id: `u${i}`, traits: { i } }])
  const lines = await h.lines()
  expect(lines).toHaveLength(contacts)
  const file = path.join(h.folder, 'killed.json')
  await fs.writeFile(file, lines.map((line) => `${line}\n`).join(''))
  return { file, lines }
}

const userIds = (state: SandboxState): Array<string | null> => state.contacts.map((contact) => contact.user_id)

/** Byte offset of line `n` (1-based) in a file of these lines, each ended by a newline. */
const offsetOf = (lines: string[], n: number): number =>
  lines.slice(0, n - 1).reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0)

/** Two digits of the seconds of the line's first `updated_at` timestamp, each changed to another digit. */
function changeTwoBytesOfATimestamp(line: string): string {
  const at = line.indexOf('"updated_at":"') + '"updated_at":"'.length
  const seconds = at + 'YYYY-MM-DDTHH:MM:'.length
  const bump = (digit: string): string => String((Number(digit) + 1) % 10)
  const changed = line.slice(0, seconds) + bump(line[seconds]) + bump(line[seconds + 1]) + line.slice(seconds + 2)
  expect(changed).not.toBe(line)
  expect(JSON.parse(changed)).toBeDefined()
  return changed
}

async function startedWithStderr(file: string): Promise<{ sandbox: Sandbox; stderr: string[] }> {
  let sandbox: Sandbox | undefined
  const stderr = await stderrOf(async () => {
    sandbox = await h.start(file)
  })
  return { sandbox: sandbox!, stderr }
}

describe('records', () => {
  it('are lines whose checksum is the first 16 hex digits of the SHA-256 of the rest, numbered after the snapshot', async () => {
    const { lines } = await killedFile(4)
    lines.forEach((line) => {
      expect(line.slice(0, 13)).toBe('{"checksum":"')
      const sha256 = createHash('sha256').update(line.slice(31)).digest('hex')
      expect((JSON.parse(line) as { checksum: string }).checksum).toBe(sha256.slice(0, 16))
    })
    expect(JSON.parse(lines[0])).toMatchObject({ format: 'ortto-sandbox', version: 3 })
    expect(lines.slice(1).map((line) => (JSON.parse(line) as { seq: number }).seq)).toEqual([1, 2, 3])
    expect(lines.slice(1).map((line) => (JSON.parse(line) as { change: unknown }).change)).toEqual(
      [2, 3, 4].map((i) => ({ contacts: [expect.objectContaining({ user_id: `u${i}`, traits: { i } })] }))
    )
  })

  it('fail the check when any one byte of them changes', async () => {
    const { lines } = await killedFile(2)
    const record = Buffer.from(lines[1])
    expect(recordProblem(record)).toBeUndefined()
    for (let i = 0; i < record.length; i++) {
      const changed = Buffer.from(record)
      changed[i] = changed[i] === 0x41 ? 0x42 : 0x41
      expect({ i, problem: recordProblem(changed) }).toEqual({ i, problem: expect.any(String) })
    }
  })
})

describe('the last record', () => {
  it.each([
    ['inside its checksum', 20],
    ['inside its sequence number', 34],
    ['inside its change', 60],
    ['one byte before its end', -1]
  ])('cut short %s by a kill is ignored, and said so', async (_where, cut) => {
    const { file, lines } = await killedFile(3)
    const last = lines[2]
    const kept = last.slice(0, cut < 0 ? last.length + cut : cut)
    await fs.writeFile(file, `${lines[0]}\n${lines[1]}\n${kept}`)

    const { sandbox, stderr } = await startedWithStderr(file)
    expect(userIds(sandbox.snapshot())).toEqual(['u1', 'u2'])
    expect(stderr).toEqual([
      `ortto sandbox: ignored the last ${kept.length} bytes of ${file}: a change cut short when the sandbox was ` +
        'killed while saving it (it had not been acknowledged)\n'
    ])
    // The next change does not land after the torn bytes: the file is rewritten first.
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'u4' }])
    expect(await fs.readFile(file, 'utf8')).not.toContain(kept)
    expect(userIds(await loadDataFile(file))).toEqual(['u1', 'u2', 'u4'])
  })

  it('is kept when it is complete but for its newline, and nothing is appended onto it', async () => {
    const { file, lines } = await killedFile(3)
    await fs.writeFile(file, lines.join('\n'))

    const { sandbox, stderr } = await startedWithStderr(file)
    expect(userIds(sandbox.snapshot())).toEqual(['u1', 'u2', 'u3'])
    expect(stderr).toEqual([])
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'u4' }])
    expect(userIds(await h.stateAfterKill(file))).toEqual(['u1', 'u2', 'u3', 'u4'])
    expect((await fs.readFile(file, 'utf8')).endsWith('\n')).toBe(true)
  })
})

describe('damage anywhere else', () => {
  it('refuses two changed bytes inside a timestamp, naming the file, line and byte offset and how to keep the rest', async () => {
    const { file, lines } = await killedFile(4)
    const damaged = [...lines]
    damaged[2] = changeTwoBytesOfATimestamp(lines[2])
    await fs.writeFile(file, damaged.map((line) => `${line}\n`).join(''))

    const error = await h.startError(file)
    expect(error).toBeInstanceOf(DataFileDamage)
    expect(error.message).toBe(
      `The sandbox data file ${file} is damaged at line 3 (byte offset ${offsetOf(lines, 3)}): its checksum does not ` +
        'match its content. Lines 1 to 2 are intact. To start from them, stop the sandbox and run ' +
        `\`npm run sandbox -- --salvage ${file}\`: it keeps them and moves line 3 and everything after it to a side ` +
        'file. Or restore the file from a copy.'
    )
  })

  it('refuses two changed bytes inside a timestamp of the snapshot', async () => {
    const { file, lines } = await killedFile(2)
    await fs.writeFile(file, `${changeTwoBytesOfATimestamp(lines[0])}\n${lines[1]}\n`)
    const error = await h.startError(file)
    expect(error.message).toBe(
      `The sandbox data file ${file} is damaged at line 1 (byte offset 0): its checksum does not match its content. ` +
        `Line 1 holds the snapshot, so no record before the damage can be kept: \`npm run sandbox -- --salvage ${file}\` ` +
        'moves the whole file to a side file and leaves an empty sandbox. Or restore the file from a copy.'
    )
  })

  const notTheStartOfARecord = 'it does not start with {"checksum":"<16 hex digits>",'
  it.each<[string, (lines: string[]) => string, number, string]>([
    [
      'a journal line removed',
      (lines) => [lines[0], lines[1], lines[3], lines[4], ''].join('\n'),
      3,
      'it is change 3 where change 2 was expected (a line is missing, repeated or out of order)'
    ],
    [
      'a journal line repeated',
      (lines) => [lines[0], lines[1], lines[1], lines[2], lines[3], lines[4], ''].join('\n'),
      3,
      'it is change 1 where change 2 was expected (a line is missing, repeated or out of order)'
    ],
    [
      'an empty line',
      (lines) => [lines[0], lines[1], '', lines[2], lines[3], lines[4], ''].join('\n'),
      3,
      'it is empty (the sandbox never writes an empty line)'
    ],
    [
      'bytes cut out of the middle (the end of line 3 and the start of line 4)',
      (lines) => [lines[0], lines[1], lines[2].slice(0, 50) + lines[3].slice(50), lines[4], ''].join('\n'),
      3,
      'its checksum does not match its content'
    ],
    [
      'a changed byte in the last line, which keeps its newline',
      (lines) => [...lines.slice(0, 4), lines[4].replace('"u5"', '"u6"'), ''].join('\n'),
      5,
      'its checksum does not match its content'
    ],
    [
      'a changed byte in the last line, whose newline is gone (complete, so not cut short)',
      (lines) => [...lines.slice(0, 4), lines[4].replace('"u5"', '"u6"')].join('\n'),
      5,
      'its checksum does not match its content'
    ],
    [
      'zeros over the last line, without a newline (not what a kill leaves)',
      (lines) => [...lines.slice(0, 4), '\0'.repeat(lines[4].length)].join('\n'),
      5,
      notTheStartOfARecord
    ],
    [
      'a line of something else',
      (lines) => [lines[0], '{"contacts": [nonsense', ...lines.slice(1), ''].join('\n'),
      2,
      notTheStartOfARecord
    ]
  ])('refuses %s', async (_what, damage, line, why) => {
    const { file, lines } = await killedFile(5)
    const text = damage(lines)
    await fs.writeFile(file, text)
    const error = await h.startError(file)
    expect(error).toBeInstanceOf(DataFileDamage)
    // Where line `line` starts in the damaged text.
    const offset =
      Buffer.byteLength(
        text
          .split('\n')
          .slice(0, line - 1)
          .join('\n')
      ) + 1
    const intact = line === 2 ? 'Line 1 is intact' : `Lines 1 to ${line - 1} are intact`
    expect(error.message).toMatch(
      `The sandbox data file ${file} is damaged at line ${line} (byte offset ${offset}): ${why}. ${intact}.`
    )
  })

  it('refuses a record whose checksum matches but whose change does not fit the state before it', async () => {
    const { file, lines } = await killedFile(1)
    const entry = { activities: [{ index: 5, contact_id: 'c', event: 'e', properties: {} }] }
    await fs.writeFile(file, `${lines[0]}\n${journalRecord(1, JSON.stringify(entry))}\n`)
    const error = await h.startError(file)
    expect(error.message).toMatch(
      `The sandbox data file ${file} is damaged at line 2 (byte offset ${offsetOf(lines, 2)}): activities[0].index ` +
        'is 5, but only 0 activities come before it. Line 1 is intact. To start from it,'
    )
  })
})

describe('salvage', () => {
  it('keeps the records before the damage and moves the rest, byte for byte, to a side file', async () => {
    const { file, lines } = await killedFile(5)
    const damaged = [...lines.slice(0, 3), changeTwoBytesOfATimestamp(lines[3]), lines[4]].map((l) => `${l}\n`).join('')
    await fs.writeFile(file, damaged)

    const result = await salvageDataFile(file)
    if (result.kind !== 'salvaged') throw new Error(`expected a salvage, got ${result.kind}`)
    expect(result.site).toEqual({
      line: 4,
      offset: offsetOf(lines, 4),
      why: 'its checksum does not match its content'
    })
    expect(userIds(result.state)).toEqual(['u1', 'u2', 'u3'])
    expect(path.dirname(result.sideFile)).toBe(h.folder)
    expect(path.basename(result.sideFile)).toMatch(/^killed\.json\.damaged-\d{4}-\d\d-\d\dT\d{6}\.\d{3}Z$/)
    expect(await fs.readFile(result.sideFile)).toEqual(Buffer.from(damaged).subarray(offsetOf(lines, 4)))
    expect(result.movedBytes).toBe(Buffer.byteLength(damaged) - offsetOf(lines, 4))

    const { sandbox, stderr } = await startedWithStderr(file)
    expect(stderr).toEqual([])
    expect(userIds(sandbox.snapshot())).toEqual(['u1', 'u2', 'u3'])
    expect(await h.lines(file)).toHaveLength(1)
  })

  it('keeps nothing when the snapshot is damaged, and moves the whole file aside', async () => {
    const { file, lines } = await killedFile(3)
    const damaged = [changeTwoBytesOfATimestamp(lines[0]), ...lines.slice(1)].map((l) => `${l}\n`).join('')
    await fs.writeFile(file, damaged)
    const result = await salvageDataFile(file)
    if (result.kind !== 'salvaged') throw new Error(`expected a salvage, got ${result.kind}`)
    expect(await fs.readFile(result.sideFile, 'utf8')).toBe(damaged)
    expect(await loadDataFile(file)).toEqual({ contacts: [], activities: [], audiences: [], membership_history: [] })
  })

  it('leaves an intact file as it is, saying so (a record cut short included)', async () => {
    const { file, lines } = await killedFile(3)
    const text = `${lines[0]}\n${lines[1]}\n${lines[2].slice(0, 40)}`
    await fs.writeFile(file, text)
    expect(await salvageDataFile(file)).toEqual({
      kind: 'intact',
      state: expect.objectContaining({ contacts: [expect.anything(), expect.anything()] }),
      tornBytes: 40
    })
    expect(await fs.readFile(file, 'utf8')).toBe(text)
    expect(await fs.readdir(h.folder)).toEqual(['killed.json', 'state.json'])
  })

  it('refuses a file that is unusable as a whole, leaving it as it is', async () => {
    await fs.writeFile(h.dataFile, 'not json at all')
    await expect(salvageDataFile(h.dataFile)).rejects.toThrow(
      /^The sandbox data file .*state\.json cannot be used: it is not valid JSON/
    )
    await expect(salvageDataFile(path.join(h.folder, 'none.json'))).rejects.toThrow(
      `There is no sandbox data file ${path.join(h.folder, 'none.json')} to salvage.`
    )
    expect(await fs.readdir(h.folder)).toEqual(['state.json'])
  })
})

describe('version 2 files (no checksums)', () => {
  it('load, keeping a complete last line without its newline, and are rewritten as version 3 at the first change', async () => {
    await writeVersion2File(h.dataFile, 2, ['j1', 'j2'], { lastNewline: false })
    const sandbox = await h.start()
    expect(userIds(sandbox.snapshot())).toEqual(['stored-0', 'stored-1', 'j1', 'j2'])
    await ok(sandbox.url, '/v1/identify', [{ user_id: 'new' }])
    const lines = await h.lines()
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0])).toMatchObject({ format: 'ortto-sandbox', version: 3 })
    expect(userIds(await loadDataFile(h.dataFile))).toEqual(['stored-0', 'stored-1', 'j1', 'j2', 'new'])
  })

  it('ignore a last line cut short, and refuse a damaged line before it with its line and offset', async () => {
    const lines = await writeVersion2File(h.dataFile, 1, ['j1', 'j2'])
    await fs.writeFile(h.dataFile, `${lines.join('\n')}\n${lines[2].slice(0, 30)}`)
    const { sandbox, stderr } = await startedWithStderr(h.dataFile)
    expect(userIds(sandbox.snapshot())).toEqual(['stored-0', 'j1', 'j2'])
    expect(stderr).toHaveLength(1)

    const copy = path.join(h.folder, 'damaged.json')
    await fs.writeFile(copy, [lines[0], '{"contacts": [nonsense', lines[1], lines[2], ''].join('\n'))
    const error = await h.startError(copy)
    expect(error.message).toMatch(
      new RegExp(
        `^The sandbox data file ${copy.replace(/[.\\]/g, '\\$&')} is damaged at line 2 \\(byte offset ` +
          `${Buffer.byteLength(lines[0]) + 1}\\): it is not valid JSON \\(.+\\)\\. Line 1 is intact\\.`
      )
    )
  })
})
