import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import * as api from '../src/index.js'

// The package's public surface, pinned like jose's: adding or removing a name in src/index.ts is an
// API decision, so it shows up here as a failing test and a diff of test/public-api.txt in review.

const INDEX = fileURLToPath(new URL('../src/index.ts', import.meta.url))
const REPORT = fileURLToPath(new URL('./public-api.txt', import.meta.url))
const UPDATE = 'UPDATE_PUBLIC_API=1 npx vitest run --config test/vitest.config.ts test/public-api.test.ts'

/** The type-only exports of src/index.ts (`export type {…}` and `export { type X }`). */
function typeExports(): string[] {
  const source = ts.createSourceFile(INDEX, readFileSync(INDEX, 'utf8'), ts.ScriptTarget.Latest, true)
  const names: string[] = []
  for (const statement of source.statements) {
    if (!ts.isExportDeclaration(statement) || !statement.exportClause) continue
    if (!ts.isNamedExports(statement.exportClause)) continue
    for (const element of statement.exportClause.elements)
      if (statement.isTypeOnly || element.isTypeOnly) names.push(element.name.text)
  }
  return names.sort()
}

function report(): string {
  const runtime = Object.keys(api).sort()
  return [
    '# The public API of mcp-policy: what src/index.ts exports. Generated; see test/public-api.test.ts.',
    '# runtime',
    ...runtime,
    '# types',
    ...typeExports(),
    '',
  ].join('\n')
}

describe('public API', () => {
  it('is exactly the checked-in list (test/public-api.txt)', () => {
    const actual = report()
    if (process.env.UPDATE_PUBLIC_API === '1') writeFileSync(REPORT, actual)
    const expected = readFileSync(REPORT, 'utf8')
    if (actual === expected) return
    const lines = (text: string) => new Set(text.split('\n').filter((line) => line && !line.startsWith('#')))
    const [want, got] = [lines(expected), lines(actual)]
    const added = [...got].filter((name) => !want.has(name))
    const removed = [...want].filter((name) => !got.has(name))
    expect.fail(
      [
        'src/index.ts no longer exports what test/public-api.txt lists.',
        added.length > 0 ? `  exported, not listed: ${added.join(', ')}` : '',
        removed.length > 0 ? `  listed, not exported: ${removed.join(', ')}` : '',
        'Every export is public API: a helper belongs in its module, marked @internal, not in the index.',
        `If the change is meant, update the list (\`${UPDATE}\`) and review the diff.`,
      ]
        .filter(Boolean)
        .join('\n'),
    )
  })

  it('exports nothing marked @internal, and neither the demo nor the init scaffolding', () => {
    const program = ts.createProgram([INDEX], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      noEmit: true,
    })
    const checker = program.getTypeChecker()
    const index = program.getSourceFile(INDEX)
    if (!index) throw new Error(`cannot read ${INDEX}`)
    const moduleSymbol = checker.getSymbolAtLocation(index)
    if (!moduleSymbol) throw new Error('src/index.ts is not a module')
    const offending: string[] = []
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported
      for (const declaration of target.declarations ?? []) {
        const file = declaration.getSourceFile().fileName
        const internal = ts.getJSDocTags(declaration).some((tag) => tag.tagName.text === 'internal')
        if (internal || /\/src\/(demo|scaffold)\//.test(file)) offending.push(`${exported.name} (${file})`)
      }
    }
    expect(offending, 'internal names exported from src/index.ts').toEqual([])
  })
})
