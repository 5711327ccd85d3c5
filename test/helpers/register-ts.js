// Preloaded with `node -r` so a child process can run this repository's TypeScript sources as
// they are (no build): each .ts file is transpiled on require, types are not checked.
// A preload runs before any loader for TypeScript exists, so it is plain CommonJS.
const { readFileSync } = require('node:fs')
const ts = require('typescript')

const compilerOptions = {
  module: ts.ModuleKind.CommonJS,
  target: ts.ScriptTarget.ES2022,
  esModuleInterop: true,
  inlineSourceMap: true
}

require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(readFileSync(filename, 'utf8'), { fileName: filename, compilerOptions })
  module._compile(outputText, filename)
}
