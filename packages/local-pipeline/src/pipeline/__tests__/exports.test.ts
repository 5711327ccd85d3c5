/**
 * No dead exports in the pipeline and the shared test helpers: everything a file under src/pipeline
 * (tests aside) or test/helpers/*.ts exports is imported by some other file of the repository (a reachability scan
 * once found a dozen that were not).
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import * as path from 'node:path'
import * as ts from 'typescript'

const REPOSITORY = path.join(__dirname, '..', '..', '..', '..', '..')
const SCANNED =
  /^(packages\/local-pipeline\/src\/pipeline\/(?!.*__tests__\/)(?:[^/]+\/)*[^/]+\.ts|(?:packages\/[^/]+\/)?test\/helpers\/[^/]+\.ts)$/

const sourceOf = (file: string) =>
  ts.createSourceFile(file, readFileSync(path.join(REPOSITORY, file), 'utf8'), ts.ScriptTarget.Latest, true)

/** The repository file a relative import names. */
function resolve(from: string, specifier: string): string {
  const target = path.join(path.dirname(from), specifier)
  for (const candidate of [`${target}.ts`, path.join(target, 'index.ts'), target]) {
    const absolute = path.join(REPOSITORY, candidate)
    if (existsSync(absolute) && statSync(absolute).isFile()) return candidate
  }
  return target
}

/** Per file, the names other files import from it ('*' for a namespace import or `export *`). */
function importedNames(files: string[]): Map<string, Set<string>> {
  const imported = new Map<string, Set<string>>()
  for (const file of files) {
    sourceOf(file).forEachChild((node) => {
      if (!(ts.isImportDeclaration(node) || ts.isExportDeclaration(node))) return
      const specifier = node.moduleSpecifier
      if (!specifier || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) return
      const target = resolve(file, specifier.text)
      const names = imported.get(target) ?? new Set<string>()
      imported.set(target, names)
      if (ts.isExportDeclaration(node)) {
        if (!node.exportClause || !ts.isNamedExports(node.exportClause)) names.add('*')
        else for (const e of node.exportClause.elements) names.add((e.propertyName ?? e.name).text)
        return
      }
      const clause = node.importClause
      if (clause?.name) names.add('default')
      const bindings = clause?.namedBindings
      if (bindings && ts.isNamespaceImport(bindings)) names.add('*')
      if (bindings && ts.isNamedImports(bindings)) {
        for (const e of bindings.elements) names.add((e.propertyName ?? e.name).text)
      }
    })
  }
  return imported
}

function exportedNames(file: string): string[] {
  const names: string[] = []
  sourceOf(file).forEachChild((node) => {
    if (ts.isExportDeclaration(node) && node.exportClause && ts.isNamedExports(node.exportClause)) {
      for (const e of node.exportClause.elements) names.push(e.name.text)
      return
    }
    const modifiers = ts.canHaveModifiers(node) ? ts.getModifiers(node) : undefined
    if (!modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) return
    if (modifiers.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword)) names.push('default')
    else if (ts.isVariableStatement(node)) {
      for (const d of node.declarationList.declarations) if (ts.isIdentifier(d.name)) names.push(d.name.text)
    } else {
      const name = (node as { name?: ts.Node }).name
      if (name && ts.isIdentifier(name)) names.push(name.text)
    }
  })
  return names
}

it('every export of src/pipeline and test/helpers is imported somewhere else', () => {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '*.ts'], {
    cwd: REPOSITORY,
    encoding: 'utf8'
  })
    .split('\n')
    .filter(
      (file) =>
        file !== '' &&
        !file.startsWith('packages/destinations/monorepo-check/') &&
        existsSync(path.join(REPOSITORY, file))
    )
  const imported = importedNames(files)
  const scanned = files.filter((file) => SCANNED.test(file))
  expect(scanned.length).toBeGreaterThan(15)
  const unused = scanned.flatMap((file) => {
    const names = imported.get(file) ?? new Set<string>()
    if (names.has('*')) return []
    return exportedNames(file)
      .filter((name) => !names.has(name))
      .map((name) => `${file}: ${name}`)
  })
  expect(unused).toEqual([])
})
