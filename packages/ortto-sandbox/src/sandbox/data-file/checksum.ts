import { createHash } from 'node:crypto'

/**
 * Every line of a version 3 data file is one record, a JSON object whose first member is its
 * checksum: `{"checksum":"<16 hex digits>",<the rest of the object>`. The checksum is the first
 * 16 hex digits (64 bits) of the SHA-256 of the rest: the bytes after that 31-byte header, up to
 * the end of the line (the newline excluded). A record whose bytes changed in any way fails the
 * check, except with odds of 2^-64.
 *
 * Why a truncated SHA-256 and not CRC-32: the damage to catch is arbitrary (an edit, bytes
 * overwritten, a block of zeros), where a CRC's guarantees (every burst up to 32 bits) do not
 * apply and it misses one damaged record in 2^32; node:crypto has SHA-256 in every Node release
 * and it costs little next to JSON.stringify of the same record.
 */

const OPEN = '{"checksum":"'
const DIGITS = 16
const CLOSE = '",'
/** The bytes of a record the checksum does not cover. */
export const HEADER_BYTES = OPEN.length + DIGITS + CLOSE.length

const HEX_DIGIT = /^[0-9a-f]$/

const checksumOf = (bytes: string | Buffer): string => createHash('sha256').update(bytes).digest('hex').slice(0, DIGITS)

/** The record of a JSON object with at least one member (JSON.stringify's output), as one line's text. */
export function withChecksum(json: string): string {
  if (!json.startsWith('{"')) throw new TypeError('a record is a JSON object with at least one member')
  const rest = json.slice(1)
  return `${OPEN}${checksumOf(rest)}${CLOSE}${rest}`
}

/** True when the file starts the way a record does: the layout with checksums (version 3 on). */
export const startsWithRecord = (bytes: Buffer): boolean => bytes.subarray(0, OPEN.length).toString('latin1') === OPEN

/** Why a line (without its newline) is not an intact record, or undefined when it is. */
export function recordProblem(line: Buffer): string | undefined {
  const header = line.subarray(0, HEADER_BYTES).toString('latin1')
  const digits = header.slice(OPEN.length, OPEN.length + DIGITS)
  if (
    header.length < HEADER_BYTES ||
    !header.startsWith(OPEN) ||
    !header.endsWith(CLOSE) ||
    ![...digits].every((digit) => HEX_DIGIT.test(digit))
  ) {
    return 'it does not start with {"checksum":"<16 hex digits>",'
  }
  if (checksumOf(line.subarray(HEADER_BYTES)) !== digits) return 'its checksum does not match its content'
  return undefined
}

/**
 * Whether `tail`, the last bytes of a file with no newline after them, can be the start of a
 * record cut short: the header (any 16 hex digits) followed by `after`, as far as the tail goes,
 * and no complete JSON value (a record is only complete with its closing brace).
 */
export function couldBeCutShort(tail: Buffer, after: string): boolean {
  const expected = `${OPEN}${'x'.repeat(DIGITS)}${CLOSE}${after}`
  const start = tail.subarray(0, expected.length).toString('latin1')
  for (let i = 0; i < start.length; i++) {
    const matches = i >= OPEN.length && i < OPEN.length + DIGITS ? HEX_DIGIT.test(start[i]) : start[i] === expected[i]
    if (!matches) return false
  }
  try {
    JSON.parse(tail.toString('utf8'))
    return false
  } catch {
    return true
  }
}
