import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../src/package-root.js'
import { withoutFencedCode } from '../helpers/markdown.js'

const readme = readFileSync(join(packageRoot(), 'README.md'), 'utf8')

describe('the README a newcomer reads', () => {
  it('stays short: at most 15 KiB, the rest lives in docs/', () => {
    expect(Buffer.byteLength(readme)).toBeLessThanOrEqual(15 * 1024)
  })

  it('has the sections issue #14 asks for, in reading order', () => {
    const headings = withoutFencedCode(readme)
      .split('\n')
      .filter((line) => line.startsWith('## '))
      .map((line) => line.slice(3))
    const wanted = [
      'Quick start',
      'Protect an MCP server you already run',
      'Writing and testing policy',
      'Audit',
      'Documentation',
    ]
    // More sections may come in between; these must be there, in this order.
    expect(headings.filter((h) => wanted.includes(h))).toEqual(wanted)
  })

  it('keeps the quick start test/newcomer.sh runs: npm ci, npm start, npm test', () => {
    const block = readme.split('<!-- newcomer:start -->')[1]?.split('<!-- newcomer:end -->')[0] ?? ''
    // The same extraction as test/newcomer.sh: lines starting with `npm `, comments cut.
    const commands = block
      .split('\n')
      .filter((line) => line.startsWith('npm '))
      .map((line) => line.replace(/\s+#.*$/, ''))
    expect(commands).toEqual(['npm ci', 'npm start', 'npm test'])
  })
})
