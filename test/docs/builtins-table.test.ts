import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { builtinTable } from '../../src/engine/builtins/builtin-table.js'
import { packageRoot } from '../../src/package-root.js'
import { leftOutBuiltins } from '../compliance/left-out.js'
import {
  BUILTINS_END,
  BUILTINS_START,
  builtinsBlock,
  COMPLIANCE_END,
  COMPLIANCE_START,
  extractBlock,
} from './builtins-doc.js'

const doc = readFileSync(join(packageRoot(), 'docs', 'builtins.md'), 'utf8')

describe('docs/builtins.md', () => {
  it('lists exactly the builtins of the builtin table (regenerate: npm run docs:builtins)', () => {
    const block = extractBlock(doc, BUILTINS_START, BUILTINS_END)
    expect(block, 'docs/builtins.md has no builtins block; run npm run docs:builtins').toBeDefined()
    expect(block, 'docs/builtins.md differs from the builtin table; run npm run docs:builtins').toBe(
      builtinsBlock(),
    )
  })

  it('names every builtin of the table in the block, and no builtin left out on purpose as supported', () => {
    const block = extractBlock(doc, BUILTINS_START, BUILTINS_END)!
    const supported = block.split('**Left out on purpose**')[0]!
    for (const name of builtinTable.keys()) expect(supported).toContain(`\`${name}\``)
    for (const name of leftOutBuiltins.keys()) {
      expect(builtinTable.has(name)).toBe(false)
      expect(supported).not.toContain(`\`${name}\``)
    }
  })

  it('carries a generated compliance table with its totals', () => {
    const block = extractBlock(doc, COMPLIANCE_START, COMPLIANCE_END)
    expect(block, 'no compliance block; run npm run docs:builtins -- --compliance <output>').toBeDefined()
    expect(block).toMatch(/\| total \| \d+ \| \d+ \|/)
    expect(block).toMatch(/^Run of \d{4}-\d\d-\d\d, OPA \d+\.\d+\.\d+: cases \d+: pass \d+/m)
  })
})
