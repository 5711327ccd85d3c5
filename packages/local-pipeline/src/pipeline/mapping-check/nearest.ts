/**
 * "Did you mean …?" for mapping files: the nearest known word to a misspelt one, by edit distance
 * (insertions, deletions, substitutions), ignoring case so that `partneraction` finds `partnerAction`.
 */

/** The number of single-character edits that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution)
    }
    previous = current
  }
  return previous[b.length]
}

/**
 * Edits at most between a typo and what it was meant to be: two, and fewer for short words (half
 * their length), so that "c" does not suggest "a". Further apart is another word.
 */
const maxTypoDistance = (word: string) => Math.min(2, Math.floor(word.length / 2))

/** The candidate nearest to `word` (the first of equals), if one is within maxTypoDistance edits. */
export function nearest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = maxTypoDistance(word) + 1
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

/** ` (did you mean x?)` when a candidate is near `word`, else `otherwise`. */
export function didYouMean(word: string, candidates: Iterable<string>, otherwise = ''): string {
  const suggestion = nearest(word, candidates)
  return suggestion === undefined ? otherwise : ` (did you mean ${suggestion}?)`
}
