/**
 * Reading a file's lines for replay: plain or gzip told apart by their first bytes, every line
 * with its number and byte offsets, a resume from any line start, and lines no event could be
 * refused unread rather than held in memory.
 */
import { writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { tempDir } from '../../../test/helpers/pipeline-helpers'
import { MAX_LINE_BYTES, openSource, readWindows, sourceKind, splitLines, type SourceLine } from '../line-source'

let folder: ReturnType<typeof tempDir>
beforeEach(() => {
  folder = tempDir('replay-lines-')
})
afterEach(() => folder.remove())

async function linesOf(file: string, from?: { offset: number; line: number }): Promise<SourceLine[]> {
  const source = await openSource(file, from)
  const lines: SourceLine[] = []
  for await (const line of source.lines) lines.push(line)
  return lines
}

const CONTENT = '{"a":1}\r\n\n{"b":"é"}\nlast'

describe('lines with their offsets', () => {
  it.each([
    ['plain, named .gz', 'events.gz', Buffer.from(CONTENT), 'plain'],
    ['gzip, named .txt', 'events.txt', gzipSync(CONTENT), 'gzip']
  ] as const)('reads %s by its first bytes', async (_, name, bytes, kind) => {
    const file = folder.file(name)
    writeFileSync(file, bytes)
    expect(await sourceKind(file)).toBe(kind)
    expect(await linesOf(file)).toEqual([
      { number: 1, start: 0, end: 9, text: '{"a":1}' },
      { number: 2, start: 9, end: 10, text: '' },
      { number: 3, start: 10, end: 21, text: '{"b":"é"}' },
      { number: 4, start: 21, end: 25, text: 'last', unterminated: true }
    ])
  })

  it.each([
    ['plain', (text: string) => Buffer.from(text)],
    ['gzip', (text: string) => gzipSync(text)]
  ])('resumes a %s file at a line start, numbering on from there', async (_, encode) => {
    const file = folder.file('events')
    writeFileSync(file, encode(CONTENT))
    expect(await linesOf(file, { offset: 10, line: 3 })).toEqual([
      { number: 3, start: 10, end: 21, text: '{"b":"é"}' },
      { number: 4, start: 21, end: 25, text: 'last', unterminated: true }
    ])
    expect(await linesOf(file, { offset: 25, line: 5 })).toEqual([])
  })

  it('drops a byte-order mark and splits lines across chunk boundaries', async () => {
    const chunks = ['\ufeff{"a"', ':1}\n{"b"', ':2}', '\n'].map((part) => Buffer.from(part))
    const lines: SourceLine[] = []
    for await (const line of splitLines(chunks, { offset: 0, line: 1 })) lines.push(line)
    expect(lines.map((line) => [line.text, line.start, line.end])).toEqual([
      ['{"a":1}', 0, 11],
      ['{"b":2}', 11, 19]
    ])
  })

  it('gives a line over 1 MiB without its text, and goes on after it', async () => {
    const file = folder.file('long.ndjson')
    writeFileSync(file, `${'x'.repeat(MAX_LINE_BYTES + 1)}\n{"after":true}\n`)
    const lines = await linesOf(file)
    expect(lines).toEqual([
      { number: 1, start: 0, end: MAX_LINE_BYTES + 2 },
      { number: 2, start: MAX_LINE_BYTES + 2, end: MAX_LINE_BYTES + 17, text: '{"after":true}' }
    ])
  })

  it('reads a plain file only up to the size it had when opened', async () => {
    const file = folder.file('growing.ndjson')
    writeFileSync(file, '{"a":1}\n')
    const source = await openSource(file)
    writeFileSync(file, '{"a":1}\n{"b":2}\n')
    const lines: SourceLine[] = []
    for await (const line of source.lines) lines.push(line)
    expect(lines.map((line) => line.text)).toEqual(['{"a":1}'])
  })

  it('reads windows of the uncompressed content, shorter where it ends', async () => {
    const file = folder.file('events.gz')
    writeFileSync(file, gzipSync(CONTENT))
    const windows = await readWindows(file, [
      { start: 0, length: 4 },
      { start: 21, length: 10 }
    ])
    expect(windows.map((w) => w.toString())).toEqual(['{"a"', 'last'])
  })
})
