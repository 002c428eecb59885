import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { packageRoot } from '../../src/package-root.js'
import { OPA_VERSION } from '../../src/toolchain/opa-version.js'
import {
  BUILTINS_END,
  BUILTINS_START,
  builtinsBlock,
  COMPLIANCE_END,
  COMPLIANCE_START,
  complianceBlock,
  replaceBlock,
} from './builtins-doc.js'

/**
 * `npm run docs:builtins`: regenerates the builtin list in docs/builtins.md from the builtin
 * table. With `--compliance <file>` (the saved output of
 * `node dist/test/compliance/main.js --markdown`), also the per-topic compliance table.
 */
const { values } = parseArgs({ options: { compliance: { type: 'string' }, date: { type: 'string' } } })
const file = join(packageRoot(), 'docs', 'builtins.md')
let doc = replaceBlock(readFileSync(file, 'utf8'), BUILTINS_START, BUILTINS_END, builtinsBlock())
if (values.compliance) {
  const date = values.date ?? new Date().toISOString().slice(0, 10)
  const block = complianceBlock(readFileSync(values.compliance, 'utf8'), date, OPA_VERSION)
  doc = replaceBlock(doc, COMPLIANCE_START, COMPLIANCE_END, block)
}
writeFileSync(file, doc)
console.log(`wrote ${file}`)
