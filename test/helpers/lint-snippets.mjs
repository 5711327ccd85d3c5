// Lints snippets of code as if they were files of this repository, with the repository's own
// ESLint configuration, and prints each one's messages as JSON. Run as a child process: ESLint
// loads its configuration with a dynamic import, which jest's module sandbox cannot do.
// stdin: [{ "filePath": "<path from the repository root>", "code": "…" }]
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { ESLint } from 'eslint'

const root = path.resolve(import.meta.dirname, '..', '..')
const snippets = JSON.parse(readFileSync(0, 'utf8'))
const eslint = new ESLint({ cwd: root })
const results = []
for (const { filePath, code } of snippets) {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, filePath) })
  results.push(result.messages.map(({ ruleId, message }) => ({ ruleId, message })))
}
process.stdout.write(JSON.stringify(results))
