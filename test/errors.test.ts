import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { errorCodes, errorTable, McpPolicyError, toMcpPolicyError } from '../src/index.js'

describe('error table', () => {
  it.each(errorCodes)('%s has the ERR_<AREA>_<REASON> shape, a status and an exit code', (code) => {
    expect(code).toMatch(/^ERR_[A-Z]+_[A-Z_]+$/)
    const entry = errorTable[code]
    expect(entry.status).toBeGreaterThanOrEqual(400)
    expect(entry.status).toBeLessThan(600)
    expect([1, 2]).toContain(entry.exit)
    const err = new McpPolicyError(code, 'boom', { cause: 'x' })
    expect(err.code).toBe(code)
    expect(err.status).toBe(entry.status)
    expect(err.exitCode).toBe(entry.exit)
    expect(err.name).toBe('McpPolicyError')
    expect(err.cause).toBe('x')
  })

  it('keeps the docs/error-codes.md table in sync with the union', () => {
    const doc = readFileSync(new URL('../docs/error-codes.md', import.meta.url), 'utf8')
    const section = doc.split('<!-- error-table:start -->')[1]?.split('<!-- error-table:end -->')[0] ?? ''
    const rows = section
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) => line.split('|').map((cell) => cell.trim()))
    const documented = rows.map(([, code, status, exit]) => [
      code?.replaceAll('`', ''),
      Number(status),
      Number(exit),
    ])
    expect(documented).toEqual(
      errorCodes.map((code) => [code, errorTable[code].status, errorTable[code].exit]),
    )
  })

  it('wraps whatever the SDK throws (strings, plain objects) without losing the message', () => {
    expect(toMcpPolicyError('var assignment conflict', 'ERR_ENGINE_TRAP').message).toBe(
      'var assignment conflict',
    )
    expect(toMcpPolicyError({ message: 'not implemented' }, 'ERR_ENGINE_TRAP', 'eval').message).toBe(
      'eval: not implemented',
    )
    const original = new McpPolicyError('ERR_BUNDLE_CORRUPT', 'x')
    expect(toMcpPolicyError(original, 'ERR_ENGINE_TRAP')).toBe(original)
  })
})
