import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import yargs from 'yargs'
import { tokenCommand } from '../../cli/token.js'
import { devIssuerConfig, loadOrCreateDevKey } from '../../src/identity/dev-token.js'
import { TokenVerifier } from '../../src/identity/token-verifier.js'

const aud = 'https://mcp.example.com/github'

/** Runs `mcp-policy token …` in-process and returns what it printed and the exit code it set. */
async function token(args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  let stdout = ''
  let stderr = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk)
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk)
    return true
  })
  try {
    await yargs(['token', ...args])
      .command(tokenCommand)
      .strict()
      .exitProcess(false)
      .parseAsync()
    return { stdout, stderr, exitCode: Number(process.exitCode ?? 0) }
  } finally {
    vi.restoreAllMocks()
    process.exitCode = undefined
  }
}

describe('mcp-policy token', () => {
  afterEach(() => {
    process.exitCode = undefined
  })

  it('mints a token that TokenVerifier accepts with the same key directory', async () => {
    const keyDir = join(await mkdtemp(join(tmpdir(), 'mcp-policy-token-')), 'keys')
    const out = await token([
      '--sub',
      'alice',
      '--aud',
      aud,
      '--groups',
      'Platform Engineering,staff',
      '--roles',
      'support',
      '--scopes',
      'tools:read,tools:call',
      '--act',
      'claude-agent',
      '--key-dir',
      keyDir,
      '--expires-in',
      '10m',
    ])
    expect(out.exitCode).toBe(0)
    const printed = out.stdout.trim()
    expect(printed).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/)
    const verifier = new TokenVerifier({ issuers: [devIssuerConfig(await loadOrCreateDevKey(keyDir))] })
    const subject = await verifier.verify(printed, aud)
    expect(subject).toMatchObject({
      authenticated: true,
      id: 'alice',
      groups: ['Platform Engineering', 'staff'],
      roles: ['support'],
      scopes: ['tools:read', 'tools:call'],
      actor: { id: 'claude-agent', actor: null },
    })
    expect((subject.token?.expires_at ?? 0) - (subject.token?.issued_at ?? 0)).toBe(600)
  })

  it('a bad --expires-in is a usage error (exit 2), with nothing on stdout', async () => {
    const keyDir = await mkdtemp(join(tmpdir(), 'mcp-policy-token-'))
    const out = await token(['--sub', 'alice', '--aud', aud, '--key-dir', keyDir, '--expires-in', 'whenever'])
    expect(out).toMatchObject({ exitCode: 2, stdout: '' })
    expect(out.stderr).toMatch(/ERR_CLI_USAGE/)
  })
})
