import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../src/package-root.js'
import { mcpPolicy } from '../helpers/run-cli.js'

const root = packageRoot()
const run = promisify(execFile)

describe('mcp-policy CLI', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-cli-'))
  const out = join(dir, 'default.tar.gz')
  const call = JSON.parse(await readFile(join(root, 'test/fixtures/tools-call.json'), 'utf8'))
  const write = async (name: string, value: unknown) => {
    await writeFile(join(dir, name), JSON.stringify(value))
    return join(dir, name)
  }

  it('--help lists the commands', async () => {
    const { code, stdout } = await mcpPolicy(['--help'])
    expect(code).toBe(0)
    expect(stdout).toMatch(/build/)
    expect(stdout).toMatch(/eval/)
  })

  it('build prints the bundle path and digest and stores it by digest', async () => {
    const { code, stdout } = await mcpPolicy([
      'build',
      '--out',
      out,
      '--bundle-store',
      join(dir, 'store'),
      '--revision',
      'ci-1',
    ])
    expect(code).toBe(0)
    const [path, digest] = stdout.trim().split('\n')
    expect(path).toBe(out)
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    await expect(readFile(join(dir, 'store', `sha256-${digest!.slice(7)}.tar.gz`))).resolves.toBeInstanceOf(
      Buffer,
    )
  })

  it('eval exits 0 for an allowed call and prints the decision', async () => {
    const { code, stdout } = await mcpPolicy([
      'eval',
      '--bundle',
      out,
      '--input',
      await write('allowed.json', call),
    ])
    expect(code).toBe(0)
    expect(JSON.parse(stdout)).toMatchObject({ allow: true, status: 200, bundle: { revision: 'ci-1' } })
  })

  it('eval exits 1 for a denied call, with the reason', async () => {
    const denied = { ...call, subject: { ...call.subject, roles: ['support'] } }
    const { code, stdout } = await mcpPolicy([
      'eval',
      '--bundle',
      out,
      '--input',
      await write('denied.json', denied),
    ])
    expect(code).toBe(1)
    expect(JSON.parse(stdout)).toMatchObject({
      allow: false,
      status: 403,
      reasons: [{ code: 'not_granted' }],
    })
  })

  it('eval exits 1 with status 401 for an unauthenticated caller', async () => {
    const anonymous = { ...call, subject: { authenticated: false } }
    const { code, stdout } = await mcpPolicy([
      'eval',
      '--bundle',
      out,
      '--input',
      await write('anon.json', anonymous),
    ])
    expect(code).toBe(1)
    expect(JSON.parse(stdout)).toMatchObject({
      allow: false,
      status: 401,
      reasons: [{ code: 'unauthenticated' }],
    })
  })

  it('eval on a corrupt bundle prints a fail-closed deny with its error code and exits 2', async () => {
    const corrupt = join(dir, 'corrupt.tar.gz')
    await writeFile(corrupt, (await readFile(out)).subarray(0, 200))
    const { code, stdout } = await mcpPolicy([
      'eval',
      '--bundle',
      corrupt,
      '--input',
      await write('c.json', call),
    ])
    expect(code).toBe(2)
    expect(JSON.parse(stdout)).toMatchObject({
      allow: false,
      error: 'ERR_BUNDLE_CORRUPT',
      reasons: [{ code: 'ERR_BUNDLE_CORRUPT' }],
    })
  })

  it('eval on a missing bundle exits 2 with ERR_BUNDLE_NOT_FOUND', async () => {
    const { code, stdout } = await mcpPolicy([
      'eval',
      '--bundle',
      join(dir, 'nope.tar.gz'),
      '--input',
      await write('n.json', call),
    ])
    expect(code).toBe(2)
    expect(JSON.parse(stdout)).toMatchObject({ allow: false, error: 'ERR_BUNDLE_NOT_FOUND' })
  })

  it('build fails with exit 2 naming an unsupported builtin', async () => {
    const policyDir = join(dir, 'bad-rego')
    const { mkdir } = await import('node:fs/promises')
    await mkdir(policyDir)
    await writeFile(
      join(policyDir, 'p.rego'),
      'package mcp\n\ndecision := http.send({"method": "GET", "url": input.url})\n\nresponse := {"allow": true, "reasons": []}\n',
    )
    const { code, stderr } = await mcpPolicy([
      'build',
      '--rego',
      policyDir,
      '--out',
      join(dir, 'bad.tar.gz'),
      '--bundle-store',
      join(dir, 'store'),
    ])
    expect(code).toBe(2)
    expect(stderr).toMatch(/ERR_BUILD_UNSUPPORTED_BUILTIN/)
    expect(stderr).toMatch(/http\.send/)
  })

  it('a usage error exits 2', async () => {
    expect((await mcpPolicy(['eval'])).code).toBe(2)
    expect((await mcpPolicy(['no-such-command'])).code).toBe(2)
  })

  it('demo (npm start): sample MCP server behind the gateway, and an agent; decisions with reasons; log verified and replayed', async () => {
    const { code, stdout } = await mcpPolicy([
      'demo',
      '--exit',
      '--port',
      '0',
      '--bundle',
      join(dir, 'demo.tar.gz'),
      '--log-dir',
      join(dir, 'demo-log'),
    ])
    expect(code).toBe(0)
    expect(stdout).toMatch(/^agent {7}MCP 2026-07-28 /m)
    expect(stdout).toMatch(
      /^LIST {3}alice \(developer\) sees tools: get_issue, get_file_contents, create_issue$/m,
    )
    expect(stdout).toMatch(/^ALLOW {2}alice \(developer\) → github\/get_issue: Issue #42/m)
    expect(stdout).toMatch(/^DENY {3}bob \(support\) → github\/create_issue: 403 not_granted: /m)
    expect(stdout).toMatch(
      /^DENY {3}triage-agent for alice → github\/create_issue: 403 client_not_granted: /m,
    )
    expect(stdout).toMatch(/^DENY {3}anonymous → github\/get_issue: 401 unauthenticated: /m)
    expect(stdout).toMatch(/^decision log verified: \d+ events, hash chain intact/m)
    const replayed = /^replayed against the recorded bundle: (\d+)\/(\d+) decisions reproduced/m.exec(stdout)
    expect(replayed?.[1]).toBe(replayed?.[2])
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('demo complete: the gateway keeps serving until Ctrl-C')
    // The agent speaks the current revision: every request it sent is recorded as 2026-07-28
    // (stated in its _meta), none opened a session with initialize.
    const logDir = join(dir, 'demo-log')
    const events = (
      await Promise.all(
        (
          await readdir(logDir, { recursive: true })
        )
          .filter((f) => f.endsWith('.jsonl'))
          .map((f) => readFile(join(logDir, f), 'utf8')),
      )
    )
      .join('')
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            path: string
            input: { mcp?: { method?: string; protocol_version?: string } }
          },
      )
    const requests = events.filter((e) => e.path === 'mcp/decision' && e.input.mcp?.method !== undefined)
    // Six calls with a token; the anonymous one is refused at server/discover, when it connects.
    expect(requests.filter((e) => e.input.mcp?.method === 'tools/call')).toHaveLength(6)
    expect(new Set(requests.map((e) => e.input.mcp?.protocol_version))).toEqual(new Set(['2026-07-28']))
    expect(requests.some((e) => e.input.mcp?.method === 'initialize')).toBe(false)
  })

  it('toolchain prints the pinned OPA', async () => {
    const { code, stdout } = await mcpPolicy(['toolchain'])
    expect(code).toBe(0)
    const { stdout: version } = await run(stdout.trim(), ['version'])
    expect(version).toMatch(/Version: 1\.22\.4/)
  })
})

describe('mcp-policy token | normalize', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-cli-norm-'))
  const keyDir = join(dir, 'keys')

  it('normalize prints the input document for a message and a dev token minted by token', async () => {
    const minted = await mcpPolicy([
      'token',
      '--sub',
      'alice',
      '--roles',
      'developer',
      '--aud',
      // What `serve` prints as its token hint: one set of defaults for every command.
      'https://localhost/mcp/github',
      '--key-dir',
      keyDir,
    ])
    expect(minted.code).toBe(0)
    const token = minted.stdout.trim()
    const message = join(dir, 'call.json')
    await writeFile(
      message,
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{}}}',
    )
    const { code, stdout } = await mcpPolicy([
      'normalize',
      '--message',
      message,
      '--token',
      token,
      '--header',
      'Mcp-Session-Id: s-1',
      '--key-dir',
      keyDir,
    ])
    expect(code).toBe(0)
    const document = JSON.parse(stdout)
    expect(document).toMatchObject({
      schema: 'mcp-policy/input/v1',
      mcp: { method: 'tools/call', session_id: 's-1', tool: { name: 't' } },
      subject: { authenticated: true, id: 'alice', roles: ['developer'] },
      server: { id: 'github', resource: 'https://localhost/mcp/github' },
    })
    expect(stdout).not.toContain(token)
  })

  it('normalize exits 2 with the error code for a batch', async () => {
    const message = join(dir, 'batch.json')
    await writeFile(message, '[{"jsonrpc":"2.0","id":1,"method":"ping"}]')
    const { code, stderr } = await mcpPolicy(['normalize', '--message', message, '--key-dir', keyDir])
    expect(code).toBe(2)
    expect(stderr).toMatch(/ERR_NORMALIZE_BATCH_UNSUPPORTED/)
  })

  it("normalize --bundle adds the analysis the bundle's data declares, as the PDP does", async () => {
    const out = join(dir, 'default.tar.gz')
    const built = await mcpPolicy(['build', '--out', out, '--bundle-store', join(dir, 'store')])
    expect(built.code, built.stderr).toBe(0)
    const message = join(dir, 'query.json')
    const sql = 'select U&"\\0070g_sleep"(10)'
    await writeFile(
      message,
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'query', arguments: { sql } },
      }),
    )
    const args = ['normalize', '--message', message, '--server', 'postgres', '--key-dir', keyDir]
    const analysed = await mcpPolicy([...args, '--bundle', out])
    expect(analysed.code, analysed.stderr).toBe(0)
    expect(JSON.parse(analysed.stdout).mcp.tool.analysis).toEqual({
      sql: {
        analyzer: 'sql:postgres',
        parsed: true,
        statements: ['select'],
        statement_kinds: ['select'],
        functions: [{ name: 'pg_sleep' }],
        tables: [],
        locking: [],
      },
    })
    const plain = await mcpPolicy(args)
    expect(JSON.parse(plain.stdout).mcp.tool).not.toHaveProperty('analysis')
  })
})
