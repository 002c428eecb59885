import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../src/package-root.js'

// docs/layout.md's table of src/ is the map a new engineer reads first: it must name every part,
// and the imports it allows must be the imports the code makes (like test/errors.test.ts keeps
// docs/error-codes.md in sync with the error union).

const root = packageRoot()
const src = join(root, 'src')

interface Row {
  /** `src/engine/` or `src/errors.ts`: the paths of the row's first cell. */
  paths: string[]
  /** The folders (`engine`) the row may import besides the base; `every part` allows anything. */
  mayImport: Set<string>
  any: boolean
}

function table(): Row[] {
  const doc = readFileSync(join(root, 'docs/layout.md'), 'utf8')
  const section = doc.split('<!-- src-table:start -->')[1]?.split('<!-- src-table:end -->')[0] ?? ''
  return section
    .split('\n')
    .filter((line) => line.startsWith('| `src/'))
    .map((line) => {
      const [, pathCell = '', , importCell = ''] = line.split('|').map((cell) => cell.trim())
      const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string)
      return {
        paths: ticked(pathCell),
        mayImport: new Set(ticked(importCell)),
        any: importCell === 'every part',
      }
    })
}

/** The part a file under src/ belongs to: `src/<folder>/` or the top-level file itself. */
function partOf(file: string): string {
  const [first = '', ...rest] = relative(src, file).split('/')
  return rest.length > 0 ? `src/${first}/` : `src/${first}`
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

describe('docs/layout.md', () => {
  const rows = table()
  const rowOf = new Map(rows.flatMap((row) => row.paths.map((path) => [path, row] as const)))
  const base = new Set(
    rows.filter((row) => row.paths.every((p) => p.endsWith('.ts')) && !row.any).flatMap((r) => r.paths),
  )

  it('names every folder and every top-level file under src/, and nothing that is gone', () => {
    const parts = readdirSync(src, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() || entry.name.endsWith('.ts'))
      .map((entry) => (entry.isDirectory() ? `src/${entry.name}/` : `src/${entry.name}`))
      .sort()
    expect(parts.length).toBeGreaterThan(10)
    expect([...rowOf.keys()].sort(), 'rows of the src/ table in docs/layout.md').toEqual(parts)
  })

  it('allows every import src/ makes across parts (and only among the parts it names)', () => {
    const known = new Set(rows.flatMap((row) => row.paths))
    const unknown = rows.flatMap((row) =>
      [...row.mayImport].filter((name) => name !== 'base' && !known.has(`src/${name}/`)),
    )
    expect(unknown, 'may-import names that are no folder of the table').toEqual([])

    const crossings: string[] = []
    for (const file of sourceFiles(src)) {
      const from = partOf(file)
      const row = rowOf.get(from)
      if (!row || row.any) continue
      const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
      for (const { fileName } of importedFiles) {
        if (!fileName.startsWith('.')) continue
        // Sources import each other by their emitted name (`./errors.js` is src/errors.ts).
        const target = resolve(dirname(file), fileName).replace(/\.js$/, '.ts')
        if (relative(src, target).startsWith('..')) continue
        const to = partOf(target)
        if (to === from) continue
        const allowed = base.has(to) || (!base.has(from) && row.mayImport.has(to.slice(4, -1)))
        if (!allowed) crossings.push(`${relative(root, file)} imports ${relative(root, target)}`)
      }
    }
    expect(
      crossings,
      'imports docs/layout.md does not allow: remove the import, or add the part to the row and say why',
    ).toEqual([])
  })
})
