/**
 * A problem found in a mapping file, as data (for a console to show, a reload to log) and as one
 * line of text. Each says where it is (the file, the subscription, the key or field) and its
 * message says what is wrong and what to do.
 */

export interface MappingProblem {
  /** The mapping file. */
  file: string
  /** The subscription's position in the file's array (from 0); absent for a problem of the whole file. */
  index?: number
  /** The subscription's `name`, when it has one. */
  name?: string
  /**
   * Where in the subscription: a top-level key (`subscribe`, `partnerAction`…); for a mapping,
   * `mapping`, the field's key, then the keys inside its value. Empty for the whole subscription.
   */
  path: string[]
  /** The action's field (or `onMappingSave`) the problem is in: path[1] when path[0] is `mapping`. */
  field?: string
  /** For a problem of the `subscribe` FQL, its column (from 1). */
  column?: number
  /** What is wrong and what to do. */
  message: string
}

/** Longest a value is quoted in a problem: enough to recognise it, short enough for one line. */
const QUOTE_LENGTH = 60

/** A value of the file as JSON, cut short when long. */
export function quoted(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value)
  return json.length > QUOTE_LENGTH ? `${json.slice(0, QUOTE_LENGTH - 1)}…` : json
}

/** Where a problem is, within its file: `entry 2 "Purchases", mapping.event`, `entry 0, subscribe at column 20`. */
function problemPlace({ index, name, path, column }: MappingProblem): string {
  const subscription = index === undefined ? '' : `entry ${index}${name === undefined ? '' : ` ${quoted(name)}`}`
  const key = `${path.join('.')}${column === undefined ? '' : ` at column ${column}`}`
  return [subscription, key].filter((part) => part !== '').join(', ')
}

/** One line for a problem, without its file (the heading above the lines names it). */
export function formatProblem(problem: MappingProblem): string {
  const place = problemPlace(problem)
  return place === '' ? problem.message : `${place}: ${problem.message}`
}

const problemCount = (problems: readonly MappingProblem[]) =>
  `${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}`

/**
 * Every problem of a file as text: `mapping file <file> has N problems:`, then one indented line
 * per problem. `npm start` prints it after `Cannot start: `.
 */
export function formatProblems(file: string, problems: readonly MappingProblem[]): string {
  const lines = problems.map((problem) => `  - ${formatProblem(problem)}`)
  return [`mapping file ${file} has ${problemCount(problems)}:`, ...lines].join('\n')
}
