import { mkdtemp, readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as HttpClientV2,
} from '@modelcontextprotocol/client'
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport as HttpClientV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { McpServer } from '@modelcontextprotocol/server'
import { generateKeyPair } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as z from 'zod/v4'
import {
  buildBundle,
  createDevKey,
  DecisionLog,
  type DevKey,
  devIssuerConfig,
  enforcePolicy,
  mintDevToken,
  POLICY_DENIED_ERROR_CODE,
  PolicyEngine,
  RequestNormalizer,
  replayLog,
  TokenVerifier,
  verifyLog,
} from '../../src/index.js'
import { type RunningMcpServer, serveV2 } from '../helpers/revision-servers.js'
import { leakedAwsKey } from '../helpers/sample-mcp-server.js'

// The in-process path on the MCP SDK v2: `createMcpHandler` builds a server per HTTP request and
// connects it to a transport of its own; `enforcePolicy` puts `PolicyEnforcingTransport` between
// the two. The v2 client pinned to 2026-07-28 (no initialize, no session, the envelope in each
// request's _meta, Mcp-Method/Mcp-Name headers) and the v1 client (2025-11-25, answered by the
// handler's stateless fallback) reach the same server and get the same decisions from the
// reference policy (bundles/default + rego/, built by OPA here). Real tokens, real HTTP on loopback.
const github = 'https://mcp.example.com/github'

type AnyClient = {
  listTools(): Promise<{ tools: { name: string }[] }>
  callTool(p: { name: string; arguments: Record<string, unknown> }): Promise<unknown>
  close(): Promise<void>
}

interface LogLine {
  path: string
  input: { mcp?: { method?: string; protocol_version?: string; client_info?: { name?: string } } }
  result: { allow: boolean }
}

describe('in-process enforcement on the v2 SDK: client → createMcpHandler → enforcePolicy → McpServer', () => {
  let dir = ''
  let key: DevKey
  let server: RunningMcpServer
  let log: DecisionLog
  let logKey: CryptoKeyPair
  const executed: string[] = []
  const open: AnyClient[] = []

  /** The sample GitHub-like server's tools, on the v2 SDK: no policy code of its own. */
  function githubServer(): McpServer {
    const mcp = new McpServer({ name: 'sample-github-v2', version: '2.0.0' })
    const tool = (name: string, input: Record<string, z.ZodType>, answer: (args: never) => string) =>
      mcp.registerTool(name, { description: name, inputSchema: z.object(input) }, async (args) => {
        executed.push(name)
        return { content: [{ type: 'text', text: answer(args as never) }] }
      })
    tool(
      'get_issue',
      { number: z.number() },
      ({ number }: { number: number }) => `Issue #${number}: login fails`,
    )
    tool(
      'get_file_contents',
      { path: z.string() },
      ({ path }: { path: string }) => `${path}:\naws_access_key_id = ${leakedAwsKey}\nregion = eu-west-1`,
    )
    tool(
      'create_issue',
      { title: z.string() },
      ({ title }: { title: string }) => `created issue #43: ${title}`,
    )
    tool('delete_repository', { repo: z.string() }, ({ repo }: { repo: string }) => `deleted ${repo}`)
    tool('run_shell', { command: z.string() }, ({ command }: { command: string }) => `ran ${command}`)
    return mcp
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcp-policy-enforce-2026-'))
    const built = await buildBundle({ out: join(dir, 'default.tar.gz'), bundleStore: join(dir, 'store') })
    const engine = await PolicyEngine.fromBundleFile(built.path)
    key = await createDevKey()
    const normalizer = new RequestNormalizer(
      { servers: { github: { resource: github } }, trustForwardedHeaders: false },
      new TokenVerifier({ issuers: [devIssuerConfig(key)] }),
    )
    logKey = (await generateKeyPair('Ed25519')) as CryptoKeyPair
    log = await DecisionLog.open({ dir: join(dir, 'log'), durability: 'sync', signingKey: logKey.privateKey })
    server = await serveV2(() =>
      enforcePolicy(githubServer(), { engine, normalizer, server: 'github', log, destination: 'internal' }),
    )
  }, 120_000)

  afterAll(async () => {
    for (const client of open) await client.close().catch(() => {})
    await server?.close()
  })

  const token = (sub: string, roles: string[]) => mintDevToken(key, { sub, roles, aud: github })

  /** The v2 client pinned to 2026-07-28: a server that cannot speak it fails the test. */
  async function v2(bearer?: string): Promise<AnyClient> {
    const client = new ClientV2(
      { name: 'enforce-2026', version: '2.0.0' },
      { versionNegotiation: { mode: { pin: '2026-07-28' } } },
    )
    const headers: Record<string, string> = bearer ? { authorization: `Bearer ${bearer}` } : {}
    await client.connect(new HttpClientV2(new URL(server.url), { requestInit: { headers } }))
    open.push(client as unknown as AnyClient)
    return client as unknown as AnyClient
  }

  /** The v1 client: initialize, 2025-11-25. */
  async function v1(bearer: string): Promise<AnyClient> {
    const client = new ClientV1({ name: 'enforce-2025', version: '1.0.0' })
    const headers = { authorization: `Bearer ${bearer}` }
    await client.connect(new HttpClientV1(new URL(server.url), { requestInit: { headers } }))
    open.push(client as unknown as AnyClient)
    return client as unknown as AnyClient
  }

  async function both(sub: string, roles: string[]): Promise<Record<string, AnyClient>> {
    const bearer = await token(sub, roles)
    return { '2026-07-28 (v2 client)': await v2(bearer), '2025-11-25 (v1 client)': await v1(bearer) }
  }

  async function denial(
    call: Promise<unknown>,
  ): Promise<{ code: number; message: string; data: Record<string, unknown> }> {
    const error = (await call.then(
      () => undefined,
      (err: unknown) => err,
    )) as { code?: number; message?: string; data?: Record<string, unknown> } | undefined
    expect(error, 'the call should have been refused').toBeDefined()
    expect(error!.code, String(error!.message)).toBe(POLICY_DENIED_ERROR_CODE)
    return { code: error!.code!, message: error!.message ?? '', data: error!.data ?? {} }
  }

  const text = (result: unknown) =>
    (result as { content: { text: string }[] }).content.map((c) => c.text).join('\n')

  it('lists only the tools the policy lets each caller see, in both revisions', async () => {
    for (const [revision, client] of Object.entries(await both('alice', ['developer'])))
      expect((await client.listTools()).tools.map((t) => t.name).sort(), revision).toEqual([
        'create_issue',
        'get_file_contents',
        'get_issue',
      ])
    for (const [revision, client] of Object.entries(await both('bob', ['support'])))
      expect((await client.listTools()).tools.map((t) => t.name).sort(), revision).toEqual([
        'get_file_contents',
        'get_issue',
      ])
  })

  it('lets an allowed call through, answers a denied one with the policy error, never runs it', async () => {
    executed.length = 0
    const alice = await both('alice', ['developer'])
    const bob = await both('bob', ['support'])
    for (const [revision, client] of Object.entries(alice)) {
      const issue = await client.callTool({ name: 'get_issue', arguments: { number: 42 } })
      expect(text(issue), revision).toBe('Issue #42: login fails')
      const deleted = await denial(client.callTool({ name: 'delete_repository', arguments: { repo: 'a/b' } }))
      const codes = (deleted.data.reasons as { code: string }[]).map((r) => r.code)
      expect(codes, revision).toContain('explicitly_denied')
      const unknown = await denial(client.callTool({ name: 'run_shell', arguments: { command: 'id' } }))
      expect(unknown.data, revision).toMatchObject({ reason: 'tool_unknown', status: 403 })
      expect(unknown.data, revision).toHaveProperty('decision_id', expect.any(String))
    }
    for (const [revision, client] of Object.entries(bob)) {
      const refused = await denial(client.callTool({ name: 'create_issue', arguments: { title: 'x' } }))
      expect(refused.data, revision).toMatchObject({ reason: 'not_granted', status: 403 })
      expect(refused.message, revision).toContain('create_issue')
    }
    expect(executed).toEqual(['get_issue', 'get_issue'])
  })

  it('judges a tool result at mcp/response: the secret is redacted before the client sees it', async () => {
    for (const [revision, client] of Object.entries(await both('alice', ['developer']))) {
      const result = text(
        await client.callTool({ name: 'get_file_contents', arguments: { path: 'deploy/.env' } }),
      )
      expect(result, revision).not.toContain(leakedAwsKey)
      expect(result, revision).toContain('aws_access_key_id = [REDACTED:aws_access_key]')
      expect(result, revision).toContain('region = eu-west-1')
    }
  })

  it('denies an anonymous 2026-07-28 request with the policy error, before any tool runs', async () => {
    executed.length = 0
    // The pinned v2 client asks server/discover first; refused, it reports a failed negotiation.
    await expect(v2()).rejects.toThrow(/server\/discover/)
    // A request as the revision defines it (no discover needed): the envelope in _meta, the
    // routing headers; the wrapper answers inside JSON-RPC, as it does every refusal.
    const response = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/call',
        'mcp-name': 'get_issue',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: {
          name: 'get_issue',
          arguments: { number: 1 },
          _meta: {
            'io.modelcontextprotocol/protocolVersion': '2026-07-28',
            'io.modelcontextprotocol/clientInfo': { name: 'curl', version: '8' },
            'io.modelcontextprotocol/clientCapabilities': {},
          },
        },
      }),
    })
    const body = (await response.json()) as { error?: { code: number; data: Record<string, unknown> } }
    expect(body.error?.code).toBe(POLICY_DENIED_ERROR_CODE)
    expect(body.error?.data).toMatchObject({ reason: 'unauthenticated', status: 401 })
    expect(executed).toEqual([])
  })

  it('logs each request with the revision and client it came with; the log verifies and replays', async () => {
    await log.close()
    const logDir = join(dir, 'log')
    const verification = await verifyLog([logDir], { key: logKey.publicKey })
    expect(verification.findings).toEqual([])
    expect(verification.intact).toBe(true)
    const report = await replayLog([logDir], { bundleStore: join(dir, 'store') })
    expect(report.differences).toEqual([])
    expect(report.same + report.withheld).toBe(report.events)

    const lines = (
      await Promise.all(
        (
          await readdir(logDir)
        )
          .filter((f) => f.endsWith('.jsonl'))
          .map((f) => readFile(join(logDir, f), 'utf8')),
      )
    )
      .join('')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as LogLine)
    const calls = lines.filter((e) => e.path === 'mcp/decision' && e.input.mcp?.method === 'tools/call')
    const modern = calls.filter((e) => e.input.mcp?.client_info?.name === 'enforce-2026')
    const legacy = calls.filter((e) => e.input.mcp?.protocol_version === '2025-11-25')
    // The same calls in each revision; 2026-07-28 ones name their revision and client in every
    // request's _meta (a 2025-11-25 request says its revision in the MCP-Protocol-Version header).
    expect(modern.length).toBeGreaterThan(0)
    expect(modern.length).toBe(legacy.length)
    for (const event of modern) expect(event.input.mcp?.protocol_version).toBe('2026-07-28')
    expect(lines.some((e) => e.input.mcp?.method === 'server/discover')).toBe(true)
    expect(JSON.stringify(lines)).not.toContain(leakedAwsKey)
  })
})
