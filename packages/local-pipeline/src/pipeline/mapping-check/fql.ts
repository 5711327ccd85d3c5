/**
 * Checks a subscription's trigger (`subscribe`) before anything is matched with it. The matcher,
 * @segment/destination-subscriptions 3.37.0 (what actions-core uses), reads less than FQL and says
 * little: an unclosed parenthesis or quote makes parseFql fail with a bare TypeError, and many
 * mistakes parse into something other than what was written, silently: `type == "track"` compares
 * the type with "=", `anonymousId = "x"`, `!(…)` and `OR` are dropped, and `a and b or c` is read
 * as one "or" of all three. This scan reads the trigger as that matcher does, with the column of
 * each token, and reports the first syntax mistake and every condition the matcher would not
 * evaluate as written.
 */
import { parseFql } from '@segment/destination-subscriptions'
import { EXAMPLE, FqlSyntaxError, tokenize } from './fql-tokens'
import type { Token, TokenKind } from './fql-tokens'
import { nearest } from './nearest'

interface FqlProblem {
  /** Where the offending token starts (from 1); absent when the trigger is empty. */
  column?: number
  message: string
}

/** Fields the matcher evaluates by name alone, and those it reads a key of (`properties.plan`). */
const FIELDS = ['type', 'event', 'name', 'userId']
const KEYED_FIELDS = ['properties', 'traits', 'context']
const FUNCTIONS = ['contains', 'match']
const NUMERIC_OPERATORS = ['<', '<=', '>', '>=']
const OPERATORS_HELP =
  'use =, !=, <, <=, > or >=, or the functions contains(field, "text") and match(field, "pattern*")'

const shown = (token: Token) => (token.kind === 'end' ? 'the end' : token.text)

/** Reads tokens by the grammar the matcher evaluates; problems that do not stop the reading are collected. */
class TriggerReader {
  private position = 0
  readonly problems: FqlProblem[] = []

  constructor(private readonly tokens: Token[]) {}

  read(): void {
    if (this.peek().kind === 'end') throw new FqlSyntaxError({}, `is empty: write a condition, ${EXAMPLE}`)
    this.group(0)
  }

  private peek = (): Token => this.tokens[this.position]
  private next = (): Token => this.tokens[Math.min(this.position++, this.tokens.length - 1)]
  private report = (token: Token, message: string) => this.problems.push({ column: token.column, message })

  /** Conditions joined by and/or, up to the end (or, inside parentheses, to the ")"). */
  private group(depth: number): void {
    const conjunctions: Token[] = []
    this.term(depth)
    for (;;) {
      const token = this.peek()
      if (token.kind === 'end' || (token.kind === 'close' && depth > 0)) break
      if (token.kind === 'word' && (token.text === 'and' || token.text === 'or')) {
        this.next()
        conjunctions.push(token)
        this.term(depth, token)
      } else if (token.kind === 'word' && /^(and|or)$/i.test(token.text)) {
        throw new FqlSyntaxError(token, `${token.text} is not read as a conjunction: write ${token.text.toLowerCase()}`)
      } else if (token.kind === 'close') {
        throw new FqlSyntaxError(token, '")" closes no "(": remove it, or add the "(" it closes')
      } else {
        throw new FqlSyntaxError(token, `missing and/or before ${shown(token)}: join conditions with and or or`)
      }
    }
    const first = conjunctions[0]
    const mixed = conjunctions.find((conjunction) => conjunction.text !== first.text)
    if (mixed) {
      this.report(
        mixed,
        `${mixed.text} after ${first.text} without parentheses: the matcher applies one of them to every ` +
          `condition of a group, so put parentheses around the part that goes together, e.g. a and (b or c)`
      )
    }
  }

  /** One condition, function call or parenthesised group; `after` is the conjunction before it. */
  private term(depth: number, after?: Token): void {
    const token = this.next()
    if (token.kind === 'end' && after) {
      throw new FqlSyntaxError(after, `ends with ${after.text}: add a condition after it, or remove it`)
    }
    if (token.kind === 'open') {
      if (depth > 0) {
        throw new FqlSyntaxError(
          token,
          '"(" inside parentheses: the matcher reads a group only up to its first ")", so groups cannot nest; rewrite without nesting'
        )
      }
      this.group(depth + 1)
      if (this.next().kind !== 'close') {
        throw new FqlSyntaxError(token, 'unclosed parenthesis: "(" has no matching ")"; add one where its group ends')
      }
    } else if (token.kind === 'not') {
      const name = this.next()
      if (name.kind !== 'word' || !FUNCTIONS.includes(name.text)) {
        throw new FqlSyntaxError(
          token,
          '"!" negates only contains() and match(); the matcher ignores it anywhere else: use != to negate a condition'
        )
      }
      this.functionCall(name, depth)
    } else if (token.kind === 'word' && FUNCTIONS.includes(token.text) && this.peek().kind === 'open') {
      this.functionCall(token, depth)
    } else if (token.kind === 'word' && (token.text === 'and' || token.text === 'or')) {
      throw new FqlSyntaxError(token, `${token.text} with no condition before it: remove it, or add a condition`)
    } else if (token.kind === 'word') {
      this.condition(token)
    } else if (token.kind === 'close' && depth > 0) {
      throw new FqlSyntaxError(token, `empty parentheses: put a condition inside, ${EXAMPLE}`)
    } else {
      throw new FqlSyntaxError(
        token,
        `expected a condition, found ${shown(token)}: a condition is <field> <operator> <value>, ${EXAMPLE}`
      )
    }
  }

  /** `contains(field, "text")` or `match(field, "pattern*")`. */
  private functionCall(name: Token, depth: number): void {
    const call = `${name.text}()`
    if (depth > 0) {
      throw new FqlSyntaxError(
        name,
        `${call} inside parentheses: the matcher reads a group only up to its first ")", which would be ${call}'s own; move it out of the parentheses`
      )
    }
    const usage = `${name.text}(event, "${name.text === 'match' ? 'Order*' : 'Order'}")`
    const expect = (kind: TokenKind, what: string): Token => {
      const token = this.next()
      if (token.kind !== kind)
        throw new FqlSyntaxError(token, `${call} expects ${what}, found ${shown(token)}: write ${usage}`)
      return token
    }
    expect('open', '"("')
    this.field(expect('word', 'a field'))
    expect('comma', '","')
    const value = this.next()
    if (value.kind === 'single-quoted') this.singleQuoted(value)
    else if (value.kind !== 'string') {
      throw new FqlSyntaxError(
        value,
        `${call} expects a string in double quotes, found ${shown(value)}: write ${usage}`
      )
    } else if (name.text === 'match' && !/^"\*|\*"$/.test(value.text)) {
      this.report(value, `match() takes a pattern that starts or ends with *, such as "Order*" or "*Completed"`)
    }
    const close = this.next()
    if (close.kind !== 'close') {
      throw new FqlSyntaxError(name, `unclosed parenthesis: ${call} has no ")" after its arguments; write ${usage}`)
    }
  }

  /** `<field> <operator> <value>`. */
  private condition(field: Token): void {
    this.field(field)
    const operator = this.next()
    if (operator.kind === 'operator') {
      if (operator.text === '==') this.report(operator, '== is not an FQL operator: write =')
    } else if (operator.kind === 'word' && FUNCTIONS.includes(operator.text)) {
      this.report(
        operator,
        `${operator.text} is a function, not an operator: write ${operator.text}(${field.text}, "…")`
      )
    } else if (operator.kind === 'word') {
      this.report(operator, `unknown operator ${operator.text}: ${OPERATORS_HELP}`)
    } else if (operator.kind === 'end') {
      throw new FqlSyntaxError(field, `${field.text} has no operator and value: write e.g. ${field.text} = "…"`)
    } else if (operator.kind === 'string' || operator.kind === 'number' || operator.kind === 'single-quoted') {
      throw new FqlSyntaxError(
        operator,
        `no operator between ${field.text} and ${operator.text}: write ${field.text} = ${operator.text}`
      )
    } else {
      throw new FqlSyntaxError(
        operator,
        `expected an operator after ${field.text}, found ${shown(operator)}: ${OPERATORS_HELP}`
      )
    }
    this.value(field, operator)
  }

  private value(field: Token, operator: Token): void {
    const value = this.next()
    const numeric = NUMERIC_OPERATORS.includes(operator.text)
    if (value.kind === 'string' && numeric) {
      this.report(
        value,
        `${operator.text} compares numbers, and ${value.text} is a string: write a number, e.g. ${field.text} ${operator.text} 10`
      )
    } else if (value.kind === 'single-quoted') {
      this.singleQuoted(value)
    } else if (value.kind === 'word' && !['true', 'false', 'null'].includes(value.text)) {
      if (value.text === 'and' || value.text === 'or') {
        throw new FqlSyntaxError(
          value,
          `${field.text} ${operator.text} has no value before ${value.text}: write e.g. ${field.text} ${operator.text} "…"`
        )
      }
      this.report(value, `the value ${value.text} is not in quotes: write "${value.text}"`)
    } else if (value.kind === 'end') {
      throw new FqlSyntaxError(
        operator,
        `${field.text} ${operator.text} has no value: write e.g. ${field.text} ${operator.text} "…"`
      )
    } else if (value.kind !== 'string' && value.kind !== 'number' && value.kind !== 'word') {
      throw new FqlSyntaxError(
        value,
        `expected a value after ${field.text} ${operator.text}, found ${shown(value)}: write e.g. ${field.text} ${operator.text} "…"`
      )
    }
  }

  /** A field the matcher evaluates; any other condition it drops without a word. */
  private field(token: Token): void {
    const [root, ...keys] = token.text.split('.')
    if (FIELDS.includes(root) && keys.length === 0) return
    if (KEYED_FIELDS.includes(root) && keys.length > 0 && keys.every((key) => key !== '')) return
    if (KEYED_FIELDS.includes(root)) {
      this.report(token, `${root} needs a key: write ${root}.<key>, e.g. ${root}.plan`)
      return
    }
    const suggestion = nearest(root, [...FIELDS, ...KEYED_FIELDS])
    const meant = suggestion && [suggestion, ...keys].join('.')
    this.report(
      token,
      `unknown field ${token.text}${meant ? ` (did you mean ${meant}?)` : ''}: the matcher reads only type, event, ` +
        'name, userId, properties.<key>, traits.<key> and context.<key>, and drops any other condition'
    )
  }

  private singleQuoted(token: Token): void {
    this.report(
      token,
      `${token.text} is in single quotes: the matcher compares with the quotes included, so it never matches; write "${token.text.slice(1, -1)}"`
    )
  }
}

/** Every problem of a trigger (none when the matcher evaluates it as written). */
export function checkFql(fql: string): FqlProblem[] {
  let reader: TriggerReader | undefined
  try {
    reader = new TriggerReader(tokenize(fql))
    reader.read()
  } catch (error) {
    if (!(error instanceof FqlSyntaxError)) throw error
    return [...(reader?.problems ?? []), { column: error.token.column, message: error.message }]
  }
  if (reader.problems.length > 0) return reader.problems
  // The scan reads a subset of what parseFql does; should the two ever disagree, say what it said.
  const parsed = parseFql(fql)
  if ('error' in parsed && parsed.error) {
    return [{ message: `the matcher cannot read it (${parsed.error.message}); ${EXAMPLE}` }]
  }
  return []
}
