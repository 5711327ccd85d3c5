/**
 * jest runs in Pacific/Chatham (UTC+12:45, +13:45 in summer; test/global-setup.js), not UTC, so
 * code that reads a time in the host's zone shows (the destination's own time-zone tests are in
 * client/__tests__/wire-objects.test.ts). This fails if that setting is ever lost.
 */
it('runs in a time zone far from UTC', () => {
  expect(new Date('2024-05-06T00:00:00Z').getTimezoneOffset()).toBe(-765)
})
