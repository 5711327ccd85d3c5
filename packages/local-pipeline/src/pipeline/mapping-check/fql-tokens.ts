/**
 * The tokens of a trigger (`subscribe`), as @segment/fql-ts reads them, each with the column it
 * starts at, so that a problem can say where it is. fql-ts's own tokens carry no position.
 */

export type TokenKind =
  'string' | 'single-quoted' | 'number' | 'word' | 'operator' | 'not' | 'open' | 'close' | 'comma' | 'end'

export interface Token {
  kind: TokenKind
  text: string
  column: number
}

/** A mistake after which the rest of the trigger cannot be read. */
export class FqlSyntaxError extends Error {
  constructor(
    readonly token: Partial<Pick<Token, 'column'>>,
    message: string
  ) {
    super(message)
  }
}

/** How a trigger reads, for messages that show one. */
export const EXAMPLE = 'e.g. type = "track" and event = "Order Completed"'

const isWordStart = (char: string) => /[A-Za-z_\\]/.test(char)
const isWordChar = (char: string) => /[A-Za-z0-9_\-.\\]/.test(char)

/** The trigger's tokens, as @segment/fql-ts reads them, each with its column; ends with an `end` token. */
export function tokenize(fql: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  const push = (kind: TokenKind, text: string) => {
    tokens.push({ kind, text, column: i + 1 })
    i += text.length
  }
  while (i < fql.length) {
    const char = fql[i]
    const two = fql.slice(i, i + 2)
    if (/\s/.test(char)) i++
    else if (char === '"' || char === "'") {
      const close = fql.indexOf(char, i + 1)
      if (close < 0) {
        const start = fql.slice(i, i + 16)
        const string = `${start}${start.length < fql.length - i ? '…' : ''}`
        throw new FqlSyntaxError(
          { column: i + 1 },
          `unclosed quote: ${string} has no closing ${char}; add one where the string ends`
        )
      }
      push(char === '"' ? 'string' : 'single-quoted', fql.slice(i, close + 1))
    } else if (/[0-9]/.test(char) || (/[-+]/.test(char) && /[0-9]/.test(fql[i + 1] ?? ''))) {
      push('number', /^[-+]?[0-9]+(\.[0-9]+)?/.exec(fql.slice(i))![0])
    } else if (isWordStart(char)) {
      let end = i
      while (end < fql.length && isWordChar(fql[end])) end += fql[end] === '\\' ? 2 : 1
      push('word', fql.slice(i, end))
    } else if (two === '==' || two === '!=' || two === '<=' || two === '>=') push('operator', two)
    else if (char === '=' || char === '<' || char === '>') push('operator', char)
    else if (char === '!' && /[A-Za-z(]/.test(fql[i + 1] ?? '')) push('not', char)
    else if (char === '(') push('open', char)
    else if (char === ')') push('close', char)
    else if (char === ',') push('comma', char)
    else if (two === '&&' || two === '||') {
      throw new FqlSyntaxError({ column: i + 1 }, `${two} is not FQL: write ${two === '&&' ? 'and' : 'or'}`)
    } else {
      const help =
        char === '!'
          ? '"!" goes before contains() or match(), or in !='
          : `a condition is <field> <operator> <value>, ${EXAMPLE}`
      throw new FqlSyntaxError({ column: i + 1 }, `unexpected character ${JSON.stringify(char)}: ${help}`)
    }
  }
  tokens.push({ kind: 'end', text: '', column: fql.length + 1 })
  return tokens
}
