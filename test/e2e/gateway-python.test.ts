import { execFile } from 'node:child_process'
import { mkdtemp, realpath, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { McpError, type Tool } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintDevToken, POLICY_DENIED_ERROR_CODE, verifyLog } from '../../src/index.js'
import {
  buildReferenceBundleWith,
  connectClient,
  startTestGateway,
  type TestGateway,
} from '../helpers/gateway.js'
import { installPythonPackage, mcpServerGit } from '../helpers/python-venv.js'

// `mcp-policy gateway` in front of a real Python MCP server installed from PyPI (the official
// mcp-server-git, pinned), spawned over stdio in its own venv, with the reference policy plus a
// catalog for it; the real SDK client on the other side. The venv is built once and cached under
// node_modules/.cache. In CI a failed install (no PyPI, no venv module) is a failure; elsewhere
// the suite is skipped with the reason printed.
const installed = await installPythonPackage(mcpServerGit).then(
  (path) => ({ path, error: undefined }),
  (error: Error) => ({ path: undefined, error }),
)
if (installed.error && !process.env.CI)
  console.warn(`skipping the Python gateway test: ${installed.error.message}`)
const run = installed.path !== undefined || process.env.CI !== undefined

const git = promisify(execFile)

/** Tools the test relies on, by what they do. The catalog itself is built from the live listing. */
const READS = ['git_status', 'git_log', 'git_diff', 'git_diff_unstaged', 'git_diff_staged', 'git_show']
const WRITES = ['git_commit', 'git_add', 'git_reset', 'git_create_branch', 'git_checkout']

/** The JSON-RPC error a denied call raised in the SDK client. */
async function denial(call: Promise<unknown>): Promise<{
  code: number
  data: { reason: string; reasons: { code: string; message: string }[] }
}> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(McpError)
  return error as McpError as unknown as {
    code: number
    data: { reason: string; reasons: { code: string; message: string }[] }
  }
}

/** The text parts of a tool result, joined. */
const text = (result: unknown) =>
  (result as { content: { type: string; text?: string }[] }).content.map((c) => c.text ?? '').join('\n')

describe.runIf(run)('mcp-policy gateway: SDK client → gateway → mcp-server-git from PyPI over stdio', () => {
  let server = ''
  let repo = ''
  let otherRepo = ''
  let live: Tool[] = []
  let gateway: TestGateway
  const clients: Client[] = []

  beforeAll(async () => {
    if (!installed.path)
      throw new Error(`CI is set but ${mcpServerGit.spec} cannot be installed: ${installed.error?.message}`, {
        cause: installed.error,
      })
    server = installed.path
    // realpath: the server resolves repo_path, and /tmp may be a symlink.
    repo = await realpath(await mkdtemp(join(tmpdir(), 'mcp-policy-git-')))
    otherRepo = await realpath(await mkdtemp(join(tmpdir(), 'mcp-policy-git-other-')))
    for (const dir of [repo, otherRepo]) {
      const g = (...args: string[]) =>
        git('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args], { cwd: dir })
      await g('init', '-q', '-b', 'main')
      await writeFile(join(dir, 'README.md'), '# project\n')
      await g('add', 'README.md')
      await g('commit', '-q', '-m', 'first commit of the project')
    }
    // Not committed: the status the server reports must name it.
    await writeFile(join(repo, 'notes.txt'), 'work in progress\n')

    // What the server really offers, asked over stdio without the gateway.
    const direct = new Client({ name: 'catalog', version: '1.0.0' })
    await direct.connect(new StdioClientTransport({ command: server, args: ['--repository', repo] }))
    try {
      expect(direct.getServerVersion()?.name).toBe('mcp-git')
      live = (await direct.listTools()).tools
    } finally {
      await direct.close()
    }
    const names = live.map((t) => t.name)
    for (const name of [...READS, ...WRITES]) expect(names).toContain(name)
    // The server's own hints say which tools write; they agree with the test's expectations.
    for (const name of READS)
      expect(live.find((t) => t.name === name)?.annotations?.readOnlyHint, name).toBe(true)
    for (const name of WRITES)
      expect(live.find((t) => t.name === name)?.annotations?.readOnlyHint, name).toBe(false)

    const bundle = await buildReferenceBundleWith((data) => {
      data.servers.git = {
        classification: 'internal',
        tools: Object.fromEntries(
          live.map((tool) => [
            tool.name,
            {
              ...(tool.annotations?.readOnlyHint === true ? {} : { write: true }),
              // Every tool names its repository: only this run's repository may be named.
              arguments: { repo_path: { path_prefixes: [`${repo}/`] } },
              annotations: tool.annotations,
            },
          ]),
        ),
      }
      data.grants.roles.developer.tools.git = live
        .filter((t) => t.annotations?.readOnlyHint === true)
        .map((t) => t.name)
    })
    gateway = await startTestGateway(bundle.path, {
      git: { command: server, args: ['--repository', repo] },
    })
  })

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()))
    await gateway?.close()
  })

  async function connect(token: string): Promise<Client> {
    const client = await connectClient(gateway.endpoints.git!, token)
    clients.push(client)
    return client
  }

  it('lists only the granted read-only tools and relays a real git_status', async () => {
    const alice = await connect(await gateway.token('alice', ['developer'], 'git'))
    expect(alice.getServerVersion()?.name).toBe('mcp-git')
    const listed = (await alice.listTools()).tools.map((t) => t.name).sort()
    const readOnly = live
      .filter((t) => t.annotations?.readOnlyHint === true)
      .map((t) => t.name)
      .sort()
    expect(listed).toEqual(readOnly)
    for (const name of READS) expect(listed).toContain(name)
    for (const name of WRITES) expect(listed).not.toContain(name)

    const status = await alice.callTool({ name: 'git_status', arguments: { repo_path: repo } })
    expect(status.isError).toBeFalsy()
    const expected = await git('git', ['status'], { cwd: repo })
    expect(text(status)).toContain('On branch main')
    expect(text(status)).toContain('notes.txt')
    // The server's text is git's own status, relayed unchanged.
    expect(text(status)).toContain(expected.stdout.trim())

    const log = await alice.callTool({ name: 'git_log', arguments: { repo_path: repo, max_count: 5 } })
    expect(text(log)).toContain('first commit of the project')
  })

  it('denies the write tools as not granted (-31001), and a repository outside the rules', async () => {
    const alice = await connect(await gateway.token('alice', ['developer'], 'git'))
    const commit = await denial(
      alice.callTool({ name: 'git_commit', arguments: { repo_path: repo, message: 'sneaky' } }),
    )
    expect(commit.code).toBe(POLICY_DENIED_ERROR_CODE)
    expect(commit.code).toBe(-31001)
    expect(commit.data.reason).toBe('not_granted')
    const add = await denial(
      alice.callTool({ name: 'git_add', arguments: { repo_path: repo, files: ['notes.txt'] } }),
    )
    expect(add.data.reason).toBe('not_granted')
    // Nothing reached the repository: the file is still untracked and the history unchanged.
    const porcelain = await git('git', ['status', '--porcelain'], { cwd: repo })
    expect(porcelain.stdout).toBe('?? notes.txt\n')
    const history = await git('git', ['log', '--format=%s'], { cwd: repo })
    expect(history.stdout).toBe('first commit of the project\n')

    // A granted tool naming a repository the catalog does not allow is stopped by the policy.
    const elsewhere = await denial(
      alice.callTool({ name: 'git_status', arguments: { repo_path: otherRepo } }),
    )
    expect(elsewhere.code).toBe(POLICY_DENIED_ERROR_CODE)
    expect(elsewhere.data.reasons.map((r) => r.code)).toContain('argument_path_denied')
  })

  it('refuses a token minted for another audience with 401', async () => {
    const token = await gateway.token('alice', ['developer'], 'git')
    const foreign = await mintDevToken(gateway.key, {
      sub: 'alice',
      roles: ['developer'],
      aud: `${gateway.url}/mcp/filesystem`,
      clientId: 'gateway-test',
    })
    const initialize = (bearer: string) =>
      fetch(gateway.endpoints.git!, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${bearer}`,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-11-25',
            capabilities: {},
            clientInfo: { name: 'x', version: '1' },
          },
        }),
      })
    const refused = await initialize(foreign)
    expect(refused.status).toBe(401)
    expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"')
    await refused.body?.cancel()
    // The same request with the right audience is let in: the audience alone made the difference.
    const accepted = await initialize(token)
    expect(accepted.status).toBe(200)
    await accepted.body?.cancel()
  })

  it('logs the decisions in a log that verifies', async () => {
    await gateway.flushLogs()
    const verification = await verifyLog([gateway.logDir])
    expect(verification.findings).toEqual([])
    expect(verification.intact).toBe(true)
    const events = verification.chains.reduce((n, c) => n + c.events, 0)
    // initialize, tools/list, three calls and their results, the denials, the refused token…
    expect(events).toBeGreaterThan(10)
  })
})
