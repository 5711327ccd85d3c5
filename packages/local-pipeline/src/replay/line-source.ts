/**
 * The lines of a file of events, plain or gzip (told apart by the file's first bytes, not its
 * name), each with its number and byte offsets in the file's uncompressed content: what a
 * checkpoint records. Streamed with backpressure, so memory does not follow the file's size.
 */
import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'

/** gzip's magic number (RFC 1952). */
const GZIP_MAGIC = [0x1f, 0x8b]
const NEWLINE = 0x0a

/** Longer lines are refused unread: no Segment event comes near it (32 kB), nor a dead letter of one. */
export const MAX_LINE_BYTES = 1024 * 1024

export type SourceKind = 'plain' | 'gzip'

/** Where a read starts: a line's first byte and its number (1 for the file's first line). */
export interface LinePosition {
  offset: number
  line: number
}

export interface SourceLine {
  number: number
  /** Offsets of the line's first byte and of the byte after its newline, in the uncompressed content. */
  start: number
  end: number
  /** The line without its newline (and without a CR before it); absent when it is too long to read. */
  text?: string
  /** The last line of the content had no newline. */
  unterminated?: boolean
}

export interface OpenedSource {
  kind: SourceKind
  /** The file's size on disk when it was opened (compressed, for gzip). */
  size: number
  /** Bytes of the file read so far (compressed, for gzip): with `size`, how far the reading is. */
  readonly bytesRead: number
  lines: AsyncIterable<SourceLine>
  /** Stops reading (the iteration ends early). */
  close(): void
}

export async function sourceKind(file: string): Promise<SourceKind> {
  const handle = await open(file, 'r')
  try {
    const head = Buffer.alloc(2)
    const { bytesRead } = await handle.read(head, 0, 2, 0)
    return bytesRead === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1] ? 'gzip' : 'plain'
  } finally {
    await handle.close()
  }
}

/**
 * Opens `file` for reading its lines from `from` on. A plain file is read from there up to the
 * size it has now, so lines appended while it is read (a dead-letter file the pipeline writes to)
 * wait for the next run; a gzip file is decompressed from its start and what comes before `from`
 * is skipped.
 */
export async function openSource(file: string, from: LinePosition = { offset: 0, line: 1 }): Promise<OpenedSource> {
  const kind = await sourceKind(file)
  const { size } = await stat(file)
  let bytesRead = kind === 'plain' ? from.offset : 0
  // createReadStream refuses an empty range (end before start): nothing left to read is no stream.
  const raw =
    kind === 'gzip'
      ? createReadStream(file)
      : from.offset < size
        ? createReadStream(file, { start: from.offset, end: size - 1 })
        : Readable.from([])
  const counted = async function* (chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      bytesRead += chunk.length
      yield chunk
    }
  }
  let content: Readable = raw
  if (kind === 'gzip') {
    // Piped, the file stream flows: its chunks are counted as they go to gunzip.
    raw.on('data', (chunk: Buffer) => {
      bytesRead += chunk.length
    })
    content = raw.pipe(createGunzip())
    raw.on('error', (error: Error) => content.destroy(error))
  }
  const lines = splitLines(kind === 'gzip' ? skipBytes(content, from.offset) : counted(content), from)
  return {
    kind,
    size,
    get bytesRead() {
      return bytesRead
    },
    lines,
    close: () => {
      raw.destroy()
      content.destroy()
    }
  }
}

/** The content after its first `count` bytes (a gzip stream cannot seek). */
async function* skipBytes(content: AsyncIterable<Buffer>, count: number): AsyncGenerator<Buffer> {
  let left = count
  for await (const chunk of content) {
    if (left >= chunk.length) {
      left -= chunk.length
      continue
    }
    yield left > 0 ? chunk.subarray(left) : chunk
    left = 0
  }
  if (left > 0) throw new Error(`the content ends ${left} bytes before the position to resume at`)
}

/** Splits content into lines, counting offsets from `from`; a line over MAX_LINE_BYTES is not kept. */
export async function* splitLines(
  content: AsyncIterable<Buffer> | Iterable<Buffer>,
  from: LinePosition
): AsyncGenerator<SourceLine> {
  let number = from.line
  let start = from.offset
  let pending: Buffer[] = []
  let pendingBytes = 0
  let tooLong = false
  const line = (bytes: number, unterminated: boolean): SourceLine => {
    const end = start + bytes + (unterminated ? 0 : 1)
    const result: SourceLine = { number, start, end, ...(unterminated && { unterminated }) }
    if (!tooLong) {
      let text = Buffer.concat(pending, pendingBytes).toString('utf8')
      if (text.endsWith('\r')) text = text.slice(0, -1)
      if (number === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1)
      result.text = text
    }
    number++
    start = end
    pending = []
    pendingBytes = 0
    tooLong = false
    return result
  }
  const keep = (piece: Buffer) => {
    pendingBytes += piece.length
    if (tooLong) return
    if (pendingBytes > MAX_LINE_BYTES) {
      tooLong = true
      pending = []
      return
    }
    pending.push(piece)
  }
  for await (const chunk of content) {
    let at = 0
    for (let newline = chunk.indexOf(NEWLINE, at); newline >= 0; newline = chunk.indexOf(NEWLINE, at)) {
      keep(chunk.subarray(at, newline))
      yield line(pendingBytes, false)
      at = newline + 1
    }
    // A copy: the rest of a chunk is kept beyond it, and stream chunks may be reused.
    if (at < chunk.length) keep(Buffer.from(chunk.subarray(at)))
  }
  if (pendingBytes > 0) yield line(pendingBytes, true)
}

/**
 * The bytes of the uncompressed content at each window (shorter when the content ends first), for
 * checking that a file is still the one a checkpoint was written for.
 */
export async function readWindows(file: string, windows: Array<{ start: number; length: number }>): Promise<Buffer[]> {
  const kind = await sourceKind(file)
  if (kind === 'plain') {
    const handle = await open(file, 'r')
    try {
      return await Promise.all(
        windows.map(async ({ start, length }) => {
          const buffer = Buffer.alloc(length)
          const { bytesRead } = await handle.read(buffer, 0, length, start)
          return buffer.subarray(0, bytesRead)
        })
      )
    } finally {
      await handle.close()
    }
  }
  const found = windows.map(() => [] as Buffer[])
  const last = Math.max(0, ...windows.map((w) => w.start + w.length))
  const raw = createReadStream(file)
  const content = raw.pipe(createGunzip())
  raw.on('error', (error) => content.destroy(error))
  let offset = 0
  try {
    for await (const chunk of content as AsyncIterable<Buffer>) {
      windows.forEach(({ start, length }, i) => {
        const from = Math.max(start, offset)
        const to = Math.min(start + length, offset + chunk.length)
        if (from < to) found[i].push(chunk.subarray(from - offset, to - offset))
      })
      offset += chunk.length
      if (offset >= last) break
    }
  } finally {
    raw.destroy()
    content.destroy()
  }
  return found.map((parts) => Buffer.concat(parts))
}
