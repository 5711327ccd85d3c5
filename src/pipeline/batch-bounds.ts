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
const COMMA = 0x2c
const COLON = 0x3a
const OPEN_OBJECT = 0x7b
const OPEN_ARRAY = 0x5b
const CLOSE_OBJECT = 0x7d
const CLOSE_ARRAY = 0x5d
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d])
const BATCH = Buffer.from('batch')
/** A call whose text says nothing of its size (a number with an exponent): it is measured. */
export const UNBOUNDED = -1

const isDigit = (byte: number | undefined) => byte !== undefined && byte >= 0x30 && byte <= 0x39

/** The index of the quote that ends the string opening at `start`, or -1. */
function stringEnd(bytes: Buffer, start: number): number {
  for (let from = start + 1; ;) {
    const quote = bytes.indexOf(QUOTE, from)
    if (quote < 0) return -1
    let before = quote - 1
    while (bytes[before] === BACKSLASH) before--
    // An even number of backslashes before it: the quote is not escaped.
    if ((quote - 1 - before) % 2 === 0) return quote
    from = quote + 1
  }
}

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
  let last = -1
  const endCall = () => {
    if (reading && callStart >= 0) reading.push(grows ? UNBOUNDED : last + 1 - callStart)
    callStart = -1
  }
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]
    if (WHITESPACE.has(byte)) continue
    if (valueNext && depth === 1) {
      valueNext = false
      if (batchValue && byte === OPEN_ARRAY) reading = []
    }
    if (reading && depth === 2 && callStart < 0 && byte !== COMMA && byte !== CLOSE_ARRAY) {
      callStart = i
      grows = false
    }
    switch (byte) {
      case QUOTE: {
        const end = stringEnd(bytes, i)
        if (end < 0) return undefined
        if (depth === 1 && keyNext) {
          const key = bytes.subarray(i + 1, end)
          if (key.includes(BACKSLASH)) return undefined
          batchValue = key.equals(BATCH)
          // A later "batch" replaces an earlier one, as JSON.parse reads it.
          if (batchValue) found = undefined
        }
        i = end
        break
      }
      case COLON:
        if (depth === 1) {
          keyNext = false
          valueNext = true
        }
        break
      case COMMA:
        if (depth === 1) keyNext = true
        else if (reading && depth === 2) endCall()
        break
      case OPEN_OBJECT:
      case OPEN_ARRAY:
        depth++
        if (depth === 1) keyNext = byte === OPEN_OBJECT
        break
      case CLOSE_OBJECT:
      case CLOSE_ARRAY:
        if (reading && depth === 2) {
          endCall()
          found = reading
          reading = undefined
        }
        depth--
        break
      default:
        // `e` after a digit is an exponent (outside strings `e` is otherwise only in true and false).
        if ((byte === 0x65 || byte === 0x45) && isDigit(bytes[i - 1])) grows = true
    }
    last = i
  }
  return found
}
