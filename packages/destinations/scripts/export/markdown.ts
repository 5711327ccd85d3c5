/** Small Markdown helpers for the PR description (GitHub-flavoured). */

/** Inline code that survives backticks inside the text. */
export function code(text: string): string {
  const longestRun = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length))
  const fence = '`'.repeat(longestRun + 1)
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : ''
  return `${fence}${pad}${text}${pad}${fence}`
}

/** A value as compact JSON in inline code; an absent value reads "none". */
export function value(json: unknown): string {
  return json === undefined || json === null ? 'none' : code(JSON.stringify(json))
}

export const keys = (names: string[]): string => (names.length ? names.map(code).join(', ') : 'none')

/** A table whose cells may hold `|` and line breaks. */
export function table(header: string[], rows: string[][]): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')
  const line = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}
