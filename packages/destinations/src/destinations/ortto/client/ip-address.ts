/**
 * The `ip` Ortto gets. Its contract names IPv4 only, and a large share of traffic (mobile above
 * all) arrives with IPv6, so an address Ortto cannot take is left off the object while the rest
 * of the event is delivered; it must never cost the event.
 *
 * - A dotted quad, each part 0–255 written in decimal without leading zeros, goes as it is: the
 *   very strings the field's old `ipv4` format accepted, so nothing that was sent changes.
 *   `010.0.0.1` is refused because it is ambiguous: inet_aton reads a leading zero as octal
 *   (8.0.0.1), most parsers as decimal (10.0.0.1). Placing a contact in the wrong city is worse
 *   than not placing it.
 * - An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, in any case, compressed or written in full,
 *   the IPv4 part dotted or as two hex groups) is that IPv4 address, and goes as its dotted quad.
 * - Anything else is left off: other IPv6 addresses (`::1`, `2001:db8::1`, the deprecated
 *   IPv4-compatible `::a.b.c.d`, NAT64), text that is not an address, blanks and non-strings.
 */

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)'
const DOTTED_QUAD = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`)
const HEXTET = /^[0-9a-fA-F]{1,4}$/

/** The 8 groups of an IPv6 address, or undefined when `text` is not one (no zone index, no brackets). */
function hextetsOf(text: string): number[] | undefined {
  const lastColon = text.lastIndexOf(':')
  if (lastColon === -1) return undefined
  let head = text
  const tail: number[] = []
  const last = text.slice(lastColon + 1)
  if (last.indexOf('.') !== -1) {
    // The last 32 bits written as a dotted quad.
    if (!DOTTED_QUAD.test(last)) return undefined
    const [a, b, c, d] = last.split('.').map(Number)
    tail.push((a << 8) | b, (c << 8) | d)
    // Keep a "::" that ends right before the quad ("::1.2.3.4"), drop a single separating ':'.
    head = text[lastColon - 1] === ':' ? text.slice(0, lastColon + 1) : text.slice(0, lastColon)
  }
  const halves = head.split('::')
  if (halves.length > 2) return undefined
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':'))
  const left = groupsOf(halves[0])
  const right = halves.length === 2 ? groupsOf(halves[1]) : []
  const written = [...left, ...right]
  if (!written.every((group) => HEXTET.test(group))) return undefined
  const count = written.length + tail.length
  // "::" stands for at least one group of zeros; without it all 8 groups are written.
  if (halves.length === 2 ? count > 7 : count !== 8) return undefined
  const zeros: number[] = new Array<number>(8 - count).fill(0)
  const parse = (group: string) => parseInt(group, 16)
  return [...left.map(parse), ...zeros, ...right.map(parse), ...tail]
}

const isIpv4Mapped = (h: number[]) =>
  h[0] === 0 && h[1] === 0 && h[2] === 0 && h[3] === 0 && h[4] === 0 && h[5] === 0xffff

/** The IPv4 address to send for a mapped field value, or undefined when it must be left off. */
export function ipv4ForWire(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  // The usual case first, and cheaply: one regular expression.
  if (DOTTED_QUAD.test(value)) return value
  if (value.indexOf(':') === -1) return undefined
  const h = hextetsOf(value)
  if (h === undefined || !isIpv4Mapped(h)) return undefined
  return `${h[6] >> 8}.${h[6] & 0xff}.${h[7] >> 8}.${h[7] & 0xff}`
}

/** Why a value was left off, in a small fixed set of words (what monitoring tags it with). */
export type IpLeftOutReason = 'ipv6' | 'empty' | 'not_an_address'

/** Why `value`, which `ipv4ForWire` refused, was left off. */
export function ipLeftOutReason(value: unknown): IpLeftOutReason {
  if (typeof value !== 'string') return 'not_an_address'
  if (!/\S/.test(value)) return 'empty'
  // A zone index (fe80::1%eth0) still makes an IPv6 address.
  const zone = value.indexOf('%')
  return hextetsOf(zone === -1 ? value : value.slice(0, zone)) ? 'ipv6' : 'not_an_address'
}
