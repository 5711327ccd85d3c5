/**
 * How long each call of a /v1/batch body is, read from the body's bytes as they came, so that
 * Segment's 32 kB limit per call (ingest-limits.ts) need not serialize every call again to measure
 * it. A call's text is never shorter than its JSON.stringify, unless it holds a number written with
 * an exponent (`1e20` comes back as 21 digits) or bytes that are not UTF-8 (each comes back as a
 * 3-byte U+FFFD): whitespace, escapes, repeated keys and the digits of other numbers only shrink.
 * So a call whose text fits the limit is within it, and only the others need measuring.
 */
import { isUtf8 } from 'node:buffer'

const QUOTE = 0x22
const BACKSLASH = 0x5c
const BATCH = Buffer.from('batch')
/** A call whose text says nothing of its size (a number with an exponent): it is measured. */
export const UNBOUNDED = -1

/** What each byte is to the reader outside strings (a table: this loop runs over every byte of a body). */
const enum Kind {
  Other,
  Space,
  Quote,
  Open,
  Close,
  Comma,
  Colon,
  Exponent,
  Digit
}
const KINDS = new Uint8Array(256)
for (const byte of [0x20, 0x09, 0x0a, 0x0d]) KINDS[byte] = Kind.Space
for (let digit = 0x30; digit <= 0x39; digit++) KINDS[digit] = Kind.Digit
KINDS[QUOTE] = Kind.Quote
KINDS[0x7b] = Kind.Open // {
KINDS[0x5b] = Kind.Open // [
KINDS[0x7d] = Kind.Close // }
KINDS[0x5d] = Kind.Close // ]
KINDS[0x2c] = Kind.Comma
KINDS[0x3a] = Kind.Colon
KINDS[0x65] = Kind.Exponent // e
KINDS[0x45] = Kind.Exponent // E

const OPEN_ARRAY = 0x5b

/**
 * For each call of the body's `batch` array, in order: the bytes of its text, or UNBOUNDED. Undefined
 * when the body's text cannot say (it is not UTF-8 throughout, or a top-level key is written with an
 * escape, so which one is `batch` is not plain): every call is measured then. `bytes` must be JSON
 * that parses (the caller parsed it already).
 */
export function batchCallBounds(bytes: Buffer): number[] | undefined {
  if (!isUtf8(bytes)) return undefined
  let depth = 0
  /** At depth 1: whether the next string is a key, whether a value comes next, and whether it is `batch`'s. */
  let keyNext = false
  let valueNext = false
  let batchValue = false
  /** The bounds of the last `batch` array, and of the one being read. */
  let found: number[] | undefined
  let reading: number[] | undefined
  let callStart = -1
  let grows = false
  /** The last byte that was not whitespace, and the kind of byte before this one. */
  let last = -1
  let previous = Kind.Other
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]
    const kind = KINDS[byte] as Kind
    if (kind === Kind.Space) continue
    if (depth === 1 && valueNext) {
      valueNext = false
      if (batchValue && byte === OPEN_ARRAY) reading = []
    }
    if (reading !== undefined && depth === 2 && callStart < 0 && kind !== Kind.Comma && kind !== Kind.Close) {
      callStart = i
      grows = false
    }
    switch (kind) {
      case Kind.Quote: {
        const start = i
        // To the quote that ends the string: a backslash escapes the byte after it.
        for (i++; i < bytes.length && bytes[i] !== QUOTE; i++) if (bytes[i] === BACKSLASH) i++
        if (i >= bytes.length) return undefined
        if (depth === 1 && keyNext) {
          const key = bytes.subarray(start + 1, i)
          if (key.includes(BACKSLASH)) return undefined
          batchValue = key.equals(BATCH)
          // A later "batch" replaces an earlier one, as JSON.parse reads it.
          if (batchValue) found = undefined
        }
        break
      }
      case Kind.Colon:
        if (depth === 1) {
          keyNext = false
          valueNext = true
        }
        break
      case Kind.Comma:
        if (depth === 1) keyNext = true
        else if (reading !== undefined && depth === 2 && callStart >= 0) {
          reading.push(grows ? UNBOUNDED : last + 1 - callStart)
          callStart = -1
        }
        break
      case Kind.Open:
        depth++
        if (depth === 1) keyNext = byte !== OPEN_ARRAY
        break
      case Kind.Close:
        if (reading !== undefined && depth === 2) {
          if (callStart >= 0) reading.push(grows ? UNBOUNDED : last + 1 - callStart)
          callStart = -1
          found = reading
          reading = undefined
        }
        depth--
        break
      case Kind.Exponent:
        // After a digit it is an exponent (outside strings `e` is otherwise only in true and false).
        if (previous === Kind.Digit) grows = true
        break
      default:
    }
    previous = kind
    last = i
  }
  return found
}
