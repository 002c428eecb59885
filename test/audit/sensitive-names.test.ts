import { describe, expect, it } from 'vitest'
import { erasePointers } from '../../src/audit/erase-pointers.js'
import {
  DEFAULT_SENSITIVE_NAMES,
  MAX_SENSITIVE_POINTERS,
  sensitiveNames,
  sensitivePointers,
} from '../../src/audit/sensitive-names.js'

const data = {
  mcp_data: {
    masking: { sensitive_arguments: ['password', 'API_KEY'] },
    servers: { postgres: { tools: { query: { sensitive_arguments: ['connection_string'] } } } },
  },
}

const call = (server: string, tool: string, args: unknown) => ({
  schema: 'mcp-policy/input/v1',
  mcp: {
    kind: 'request',
    method: 'tools/call',
    tool: { name: tool, arguments: args },
    params: { name: tool, arguments: args },
  },
  server: { id: server },
  subject: { authenticated: true, claims: { password: 'claims are not the message' } },
})

describe('sensitiveNames', () => {
  it('reads the data list (lower-cased) and each tool’s own names (exact)', () => {
    const names = sensitiveNames(data)
    expect(names.forRequest(undefined, undefined)('PassWord')).toBe(true)
    expect(names.forRequest(undefined, undefined)('api_key')).toBe(true)
    expect(names.forRequest(undefined, undefined)('token')).toBe(false)
    expect(names.forRequest('postgres', 'query')('connection_string')).toBe(true)
    expect(names.forRequest('postgres', 'query')('Connection_String')).toBe(false)
    expect(names.forRequest('postgres', 'execute')('connection_string')).toBe(false)
  })

  it('falls back to the reference list when the data has none; an empty list masks nothing', () => {
    const fallback = sensitiveNames({}).forRequest(undefined, undefined)
    for (const name of DEFAULT_SENSITIVE_NAMES) expect(fallback(name.toUpperCase())).toBe(true)
    expect(
      sensitiveNames({ mcp_data: { masking: { sensitive_arguments: [] } } }).forRequest(
        undefined,
        undefined,
      )('password'),
    ).toBe(false)
  })
})

describe('sensitivePointers', () => {
  const names = sensitiveNames(data)

  it('finds sensitive members at any depth of the arguments and params, in arrays too', () => {
    const input = call('github', 'get_issue', {
      options: { Password: 'a' },
      creds: [{ api_key: 'b' }, { note: 'c' }],
    })
    expect(sensitivePointers(input, names).sort()).toEqual([
      '/mcp/params/arguments/creds/0/api_key',
      '/mcp/params/arguments/options/Password',
      '/mcp/tool/arguments/creds/0/api_key',
      '/mcp/tool/arguments/options/Password',
    ])
  })

  it('searches the whole MCP part for any method, and nothing outside it', () => {
    const input = {
      schema: 'mcp-policy/input/v1',
      mcp: {
        kind: 'request',
        method: 'completion/complete',
        params: { context: { arguments: { password: 'x' } } },
      },
      subject: { claims: { password: 'y' } },
      context: { attributes: { password: 'z' } },
    }
    expect(sensitivePointers(input, names)).toEqual(['/mcp/params/context/arguments/password'])
  })

  it('uses the tool’s own names for a tools/call, and escapes pointer segments', () => {
    const input = call('postgres', 'query', {
      connection_string: 'postgres://u:p@db',
      'a/b~c': { password: 1 },
    })
    expect(sensitivePointers(input, names, '/request').sort()).toEqual([
      '/request/mcp/params/arguments/a~1b~0c/password',
      '/request/mcp/params/arguments/connection_string',
      '/request/mcp/tool/arguments/a~1b~0c/password',
      '/request/mcp/tool/arguments/connection_string',
    ])
  })

  it('does not list a member inside one already listed', () => {
    const input = call('x', 'y', { password: { password: 'inner' } })
    expect(sensitivePointers(input, names).sort()).toEqual([
      '/mcp/params/arguments/password',
      '/mcp/tool/arguments/password',
    ])
  })

  it('searches all of an input that is not v1 (the OPA API)', () => {
    expect(sensitivePointers({ a: [{ password: 1 }], subject: { api_key: 2 } }, names).sort()).toEqual([
      '/a/0/password',
      '/subject/api_key',
    ])
  })

  it('past the bound, lists the containers instead of each member', () => {
    // One more than the bound, twice over (arguments and params): distinct names by case only.
    const cased = Object.fromEntries(
      Array.from({ length: MAX_SENSITIVE_POINTERS / 2 + 1 }, (_, i) => [caseVariant('password', i), i]),
    )
    const input = call('x', 'y', cased)
    const pointers = sensitivePointers(input, names)
    expect(pointers.sort()).toEqual(['/mcp/params', '/mcp/tool/arguments'])
    const { value } = erasePointers(input, pointers)
    expect(JSON.stringify((value as ReturnType<typeof call>).mcp)).not.toMatch(/password/i)
  })

  it('erasing the pointers leaves no sensitive value, and never shifts an array', () => {
    const input = call('x', 'y', { list: [{ password: 's1' }, { keep: 'k' }, { password: 's2' }] })
    const { value } = erasePointers(input, sensitivePointers(input, names))
    expect(JSON.stringify(value)).not.toMatch(/s1|s2/)
    expect((value as ReturnType<typeof call>).mcp.tool.arguments).toEqual({ list: [{}, { keep: 'k' }, {}] })
  })
})

/** `name` with the letters' case flipped by the bits of `n` (distinct for n < 2^length). */
function caseVariant(name: string, n: number): string {
  return [...name].map((c, i) => ((n >> i) & 1 ? c.toUpperCase() : c)).join('')
}
