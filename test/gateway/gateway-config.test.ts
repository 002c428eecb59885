import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { serverIdFromCommand } from '../../src/gateway/gateway-config.js'
import { McpPolicyError, resolveGatewayConfig } from '../../src/index.js'

describe('gateway configuration', () => {
  it.each([
    ['npx', ['-y', '@modelcontextprotocol/server-filesystem', '/srv/projects'], 'filesystem'],
    ['npx', ['-y', '@modelcontextprotocol/server-everything@2026.8.31', 'stdio'], 'everything'],
    ['node', ['node_modules/@modelcontextprotocol/server-filesystem/dist/index.js', '/srv'], 'filesystem'],
    ['uvx', ['mcp-server-git==2026.10.19', '--repository', '/r'], 'git'],
    ['uvx', ['--from', 'mcp-server-git==2026.10.19', 'mcp-server-git'], 'git'],
    ['python3', ['-m', 'mcp_server_fetch'], 'fetch'],
    [
      'docker',
      ['run', '-i', '--rm', '-e', 'GITHUB_TOKEN=x', 'ghcr.io/github/github-mcp-server:v1'],
      'github',
    ],
    ['node', ['./servers/echo.mjs'], 'echo'],
    ['/usr/local/bin/acme-mcp', [], 'acme'],
  ])('the shorthand names %s %j as %s', (command, args, id) => {
    expect(serverIdFromCommand(command, args)).toBe(id)
  })

  it('always gives an id the configuration schema accepts, whatever the command line', () => {
    fc.assert(
      fc.property(fc.string(), fc.array(fc.string(), { maxLength: 6 }), (command, args) => {
        const id = serverIdFromCommand(command || 'x', args)
        expect(id).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
        expect(() => resolveGatewayConfig({ servers: { [id]: { command: 'x' } } })).not.toThrow()
      }),
    )
  })

  it('names the member a configuration error is about', () => {
    const error = (raw: unknown) => {
      try {
        resolveGatewayConfig(raw)
      } catch (err) {
        expect(err).toBeInstanceOf(McpPolicyError)
        expect((err as McpPolicyError).code).toBe('ERR_GATEWAY_CONFIG_INVALID')
        return (err as Error).message
      }
      throw new Error('accepted')
    }
    expect(error({ prot: 8080 })).toContain('unknown member "prot"')
    expect(error({ servers: { fs: { command: 'x', argz: [] } } })).toContain(
      '/servers/fs has an unknown member "argz"',
    )
    expect(error({ servers: { 'bad id!': { command: 'x' } } })).toContain('"bad id!"')
    expect(error({ servers: { fs: { command: 'x', url: 'http://a' } } })).toContain('/servers/fs')
    expect(error({ servers: { fs: {} } })).toContain('/servers/fs')
  })
})
