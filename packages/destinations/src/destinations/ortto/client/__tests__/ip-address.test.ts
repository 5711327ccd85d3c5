import { isIPv4, isIPv6 } from 'net'
import { ipLeftOutReason, ipv4ForWire } from '../ip-address'

const AS_IS = ['203.0.113.7', '0.0.0.0', '255.255.255.255', '10.0.0.1', '8.8.8.8', '192.168.100.200', '1.22.33.250']

const MAPPED: Array<[string, string]> = [
  ['::ffff:203.0.113.7', '203.0.113.7'],
  ['::FFFF:203.0.113.7', '203.0.113.7'],
  ['::fFfF:10.0.0.1', '10.0.0.1'],
  ['0:0:0:0:0:ffff:203.0.113.7', '203.0.113.7'],
  ['0000:0000:0000:0000:0000:FFFF:203.0.113.7', '203.0.113.7'],
  ['0::ffff:203.0.113.7', '203.0.113.7'],
  ['::0:ffff:203.0.113.7', '203.0.113.7'],
  ['0:0::0:ffff:203.0.113.7', '203.0.113.7'],
  ['::ffff:cb00:7107', '203.0.113.7'],
  ['::FFFF:CB00:7107', '203.0.113.7'],
  ['0:0:0:0:0:ffff:cb00:7107', '203.0.113.7'],
  ['::ffff:a00:1', '10.0.0.1'],
  ['::ffff:0a00:0001', '10.0.0.1'],
  ['::ffff:0.0.0.0', '0.0.0.0'],
  ['::ffff:ffff:ffff', '255.255.255.255']
]

const LEFT_OFF = [
  // IPv6 addresses that map no IPv4 address.
  '::1',
  '::',
  '2001:db8::1',
  '2001:0db8:0000:0000:0000:ff00:0042:8329',
  'fe80::1',
  'fe80::1%eth0',
  '::ffff:0:203.0.113.7', // IPv4-translated (SIIT), not mapped
  '::203.0.113.7', // IPv4-compatible, deprecated
  '64:ff9b::203.0.113.7', // NAT64
  '1::ffff:203.0.113.7',
  '::fffe:203.0.113.7',
  '[::ffff:203.0.113.7]',
  '::ffff:203.0.113.7%eth0',
  // Not addresses, or not written the one way Ortto reads.
  '010.0.0.1', // ambiguous: octal 8.0.0.1 to inet_aton, decimal 10.0.0.1 to most parsers
  '10.0.0.01',
  '00.0.0.0',
  '::ffff:010.0.0.1',
  '256.1.1.1',
  '1.2.3',
  '1.2.3.4.5',
  '1.2.3.4.',
  '.1.2.3.4',
  ' 203.0.113.7',
  '203.0.113.7 ',
  '203.0.113.7\n',
  '203.0.113.-7',
  '+1.2.3.4',
  '1e2.0.0.1',
  '٣.0.0.1',
  '::ffff:1.2.3.256',
  '::ffff:1.2.3',
  ':::ffff:1.2.3.4',
  ':ffff:1.2.3.4',
  '::ffff::1.2.3.4',
  '::ffff:1.2.3.4:5',
  '::ffff:cb00:7107:1',
  '::ffff:cb00:71070',
  '::ffff:cb00:7g07',
  '0:0:0:0:0:0:ffff:1.2.3.4',
  '0:0:0:0:ffff:1.2.3.4',
  '0:0:0:0:0:ffff:cb00:7107:0',
  'unknown',
  'localhost',
  '',
  '   '
]

describe('ipv4ForWire: the ip Ortto gets', () => {
  it.each(AS_IS)('sends the IPv4 address %s as it is', (address) => {
    expect(ipv4ForWire(address)).toBe(address)
  })

  it.each(MAPPED)('sends the IPv4-mapped IPv6 address %s as its IPv4 address %s', (mapped, address) => {
    expect(ipv4ForWire(mapped)).toBe(address)
  })

  it.each(LEFT_OFF)('leaves %j off', (value) => {
    expect(ipv4ForWire(value)).toBeUndefined()
  })

  it.each([null, undefined, 0, 3405803783, true, {}, ['203.0.113.7']])('leaves the non-string %j off', (value) => {
    expect(ipv4ForWire(value)).toBeUndefined()
  })

  // Node's own parser as a second opinion, over every value above: what goes on the wire is an
  // IPv4 address, an IPv4 address goes as it is, and what is no address at all never goes.
  it('agrees with Node’s parser on every value above', () => {
    for (const value of [...AS_IS, ...MAPPED.map(([mapped]) => mapped), ...LEFT_OFF]) {
      const sent = ipv4ForWire(value)
      if (sent !== undefined) expect([value, isIPv4(sent)]).toEqual([value, true])
      if (isIPv4(value)) expect(sent).toBe(value)
      if (!isIPv4(value) && !isIPv6(value)) expect([value, sent]).toEqual([value, undefined])
    }
  })
})

describe('ipLeftOutReason: why a value was left off (a monitoring tag)', () => {
  it.each([
    ['::1', 'ipv6'],
    ['2001:db8::1', 'ipv6'],
    ['2001:0db8:0000:0000:0000:ff00:0042:8329', 'ipv6'],
    ['fe80::1%eth0', 'ipv6'],
    ['::203.0.113.7', 'ipv6'],
    ['::ffff:0:203.0.113.7', 'ipv6'],
    ['', 'empty'],
    ['  \t', 'empty'],
    ['unknown', 'not_an_address'],
    ['010.0.0.1', 'not_an_address'],
    ['256.1.1.1', 'not_an_address'],
    ['::ffff:1.2.3.256', 'not_an_address'],
    [':::1', 'not_an_address'],
    ['1:2:3:4:5:6:7:8:9', 'not_an_address'],
    [12, 'not_an_address'],
    [{}, 'not_an_address']
  ])('%j is %s', (value, reason) => {
    expect(ipLeftOutReason(value)).toBe(reason)
  })

  it('calls "ipv6" exactly what Node calls IPv6 (zone indexes included)', () => {
    for (const value of [
      '::1',
      '1::',
      '1:2:3:4:5:6:7::',
      '::2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8',
      'fe80::1%en0',
      'x::1'
    ]) {
      expect(ipLeftOutReason(value) === 'ipv6').toBe(isIPv6(value))
    }
  })
})
