/**
 * What no delivery could carry faithfully, whatever its size: an event nested too deep for
 * actions-core's recursive walks, or a key actions-core drops. Found without recursion, so an event
 * nested deep enough to break a recursive walk is still measured.
 */

/**
 * Deepest nesting an event may have (the event object is depth 1, its `traits` depth 2…).
 * actions-core walks events recursively and overflows its stack past about 2,000 levels (an
 * array nested 3,000 deep, 6 kB, failed a whole batch); 100 is far inside that and far beyond
 * what real traits and properties need.
 */
export const MAX_EVENT_DEPTH = 100

/** A key actions-core cannot carry: its mapping copies objects with Object.assign, which drops it. */
export const LOST_KEY = '__proto__'

/** A node of the walk: an object or array, how deep it sits in the event, and how it was reached. */
export interface StructureNode {
  value: object
  depth: number
  parent?: StructureNode
  key?: string | number
}

/** "traits.address[0].city", or "its top" for the event itself. */
function pathOf(node: StructureNode): string {
  let path = ''
  for (let at: StructureNode | undefined = node; at?.parent !== undefined; at = at.parent) {
    path = typeof at.key === 'number' ? `[${at.key}]${path}` : `.${String(at.key)}${path}`
  }
  return path.replace(/^\./, '') || 'its top'
}

export const lostKeyProblem = (where: string): string =>
  `${where} is a key named "${LOST_KEY}", which Segment's action runtime drops when it maps the event; rename it`

/**
 * The longest JSON text (in UTF-8 bytes) of a string of this length: a UTF-16 unit takes at most 6
 * (`\u0001`, or a lone surrogate), then the quotes.
 */
const stringBound = (length: number) => 6 * length + 2
/** The longest text of a number: `-1.2345678901234567e-308`, `-0.0000012345678901234567`. */
const NUMBER_BOUND = 25
/** `false`. */
const LITERAL_BOUND = 5

/**
 * What one walk of an event finds: the first problem under `start` (an event, or a part of one
 * placed by its parents and depth), or a bound of its JSON's size, never less than the UTF-8 bytes
 * of its JSON.stringify: a call whose bound is inside Segment's limit is inside it, and need not be
 * serialized to be measured (for a common 1 kB event the bound is a few kB). Only objects and
 * arrays are visited. The walk keeps no path (it runs for every call taken in); when it meets a
 * problem, structureProblem walks again to spell out where.
 */
export function walkEvent(start: StructureNode): { problem: string } | { sizeBound: number } {
  const values: object[] = [start.value]
  const depths: number[] = [start.depth]
  let bound = 0
  for (let value = values.pop(); value !== undefined; value = values.pop()) {
    const depth = depths.pop() as number
    if (depth > MAX_EVENT_DEPTH) return { problem: structureProblem(start) as string }
    const isArray = Array.isArray(value)
    const keys = isArray ? undefined : Object.keys(value)
    const count = keys === undefined ? (value as unknown[]).length : keys.length
    // Brackets, and a comma after each item; an object's keys with their quotes and colons.
    bound += 2 + count
    for (let i = 0; i < count; i++) {
      let item: unknown
      if (keys === undefined) item = (value as unknown[])[i]
      else {
        const key = keys[i]
        if (key === LOST_KEY) return { problem: structureProblem(start) as string }
        bound += stringBound(key.length) + 1
        item = (value as Record<string, unknown>)[key]
      }
      if (typeof item === 'object' && item !== null) {
        values.push(item)
        depths.push(depth + 1)
      } else if (typeof item === 'string') bound += stringBound(item.length)
      else if (typeof item === 'number') bound += NUMBER_BOUND
      else bound += LITERAL_BOUND
    }
  }
  return { sizeBound: bound }
}

/**
 * The first problem under `start`, or undefined: an event nested too deep, or a key actions-core
 * drops, with the path to it. Found without recursion, so an event nested deep enough to break a
 * recursive walk is still measured.
 */
export function structureProblem(start: StructureNode): string | undefined {
  const stack: StructureNode[] = [start]
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (node.depth > MAX_EVENT_DEPTH) {
      return `the event is nested more than ${MAX_EVENT_DEPTH} levels deep (at ${pathOf(node)}); flatten its traits, properties or context`
    }
    const { value, depth } = node
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i]
        if (typeof item === 'object' && item !== null)
          stack.push({ value: item, depth: depth + 1, parent: node, key: i })
      }
      continue
    }
    for (const key of Object.keys(value)) {
      if (key === LOST_KEY) return lostKeyProblem(pathOf({ value, depth, parent: node, key }))
      const item: unknown = (value as Record<string, unknown>)[key]
      if (typeof item === 'object' && item !== null) stack.push({ value: item, depth: depth + 1, parent: node, key })
    }
  }
  return undefined
}

/** Freezes `value` and everything under it, without recursion: what is shared between events cannot change. */
export function deepFreeze(value: object): void {
  const stack: object[] = [value]
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (Object.isFrozen(next)) continue
    Object.freeze(next)
    for (const item of Object.values(next) as unknown[]) {
      if (typeof item === 'object' && item !== null) stack.push(item)
    }
  }
}
