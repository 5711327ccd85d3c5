/** "Did you mean …?": edit distance, and the nearest candidate within two edits. */
import { didYouMean, editDistance, nearest } from '../nearest'

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['', 'abc', 3],
    ['event', 'event', 0],
    ['evnt', 'event', 1],
    ['@tempate', '@template', 1],
    ['trackActivty', 'trackActivity', 1],
    ['tpye', 'type', 2],
    ['kitten', 'sitting', 3]
  ])('%j → %j: %d', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance)
    expect(editDistance(b, a)).toBe(distance)
  })
})

describe('nearest', () => {
  it('ignores case, so partneraction finds partnerAction', () => {
    expect(nearest('partneraction', ['name', 'partnerAction', 'subscribe'])).toBe('partnerAction')
  })

  it('takes the closest, the first of equals', () => {
    expect(nearest('stat', ['state', 'stats', 'start'])).toBe('state')
    expect(nearest('evnt', ['events', 'event'])).toBe('event')
  })

  it('finds nothing more than two edits away, or more than half the length of a short word', () => {
    expect(nearest('c', ['a', 'b'])).toBeUndefined()
    expect(nearest('A', ['a', 'b'])).toBe('a')
    expect(nearest('tpye', ['type'])).toBe('type')
    expect(nearest('tpe', ['type'])).toBe('type')
    expect(nearest('tp', ['type'])).toBeUndefined()
    expect(nearest('audience', ['audience_name'])).toBeUndefined()
    expect(nearest('colour', ['color', 'event'])).toBe('color')
    expect(nearest('anonymousId', ['type', 'event', 'name', 'userId'])).toBeUndefined()
  })

  it('words a suggestion, or what to say instead', () => {
    expect(didYouMean('@pth', ['@path', '@template'])).toBe(' (did you mean @path?)')
    expect(didYouMean('@lookup', ['@path'], ': use @path')).toBe(': use @path')
    expect(didYouMean('@lookup', ['@path'])).toBe('')
  })
})
