import { mkdtemp, readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import { McpError } from '@modelcontextprotocol/sdk/types.js'
import { generateKeyPair } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  buildBundle,
  DecisionLog,
  POLICY_DENIED_ERROR_CODE,
  PolicyEnforcingTransport,
  PolicyEngine,
  RequestNormalizer,
  replayLog,
  TokenVerifier,
  verifyLog,
} from '../../src/index.js'
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js'
import { leakedAwsKey, type SampleMcpServer, startSampleMcpServer } from '../helpers/sample-mcp-server.js'

// The whole in-process path with real parts: oidc-provider issues the tokens, the SDK client talks
// Streamable HTTP on loopback to an SDK McpServer whose transport is wrapped by the enforcement
// point, which decides with the reference policy (bundles/default + rego/, built by OPA here).
const github = 'https://mcp.example.com/github'
const principals = [
  { client: 'alice-cli', user: 'alice', roles: ['developer'], groups: ['platform-writers'] },
  { client: 'bob-cli', user: 'bob', roles: ['support'], groups: ['sre-prod'] },
  {
    client: 'triage-agent',
    user: 'alice',
    roles: ['developer'],
    groups: ['platform-writers'],
    actor: { sub: 'triage-agent', client_id: 'triage-agent' },
  },
]

describe('in-process enforcement: SDK client → Streamable HTTP → PolicyEnforcingTransport → McpServer', () => {
  let dir = ''
  let idp: TestIdp
  let server: SampleMcpServer
  let log: DecisionLog
  let logKey: CryptoKeyPair
  const clients: Client[] = []
  let wrap: (transport: Transport) => Transport

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcp-policy-enforce-'))
    const built = await buildBundle({ out: join(dir, 'default.tar.gz'), bundleStore: join(dir, 'store') })
    const engine = await PolicyEngine.fromBundleFile(built.path)
    idp = await startTestIdp(principals, [github, 'https://mcp.example.com/jira'])
    const normalizer = new RequestNormalizer(
      { servers: { github: { resource: github } }, environment: 'staging', trustForwardedHeaders: false },
      new TokenVerifier({ issuers: [idp.issuerConfig] }),
    )
    logKey = (await generateKeyPair('Ed25519')) as CryptoKeyPair
    log = await DecisionLog.open({ dir: join(dir, 'log'), durability: 'sync', signingKey: logKey.privateKey })
    wrap = (transport) =>
      new PolicyEnforcingTransport(transport, {
        engine,
        normalizer,
        server: 'github',
        log,
        destination: 'internal',
      })
    server = await startSampleMcpServer(wrap)
  })

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => {})
    await server?.close()
    await idp?.close()
  })

  async function connect(token?: string, url = server.url): Promise<Client> {
    const client = new Client({ name: 'e2e', version: '1.0.0' })
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {}
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }))
    clients.push(client)
    return client
  }

  const as = async (client: string) => connect(await idp.token(client, github))

  async function denial(call: Promise<unknown>): Promise<McpError> {
    const error = await call.then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(error).toBeInstanceOf(McpError)
    expect((error as McpError).code).toBe(POLICY_DENIED_ERROR_CODE)
    return error as McpError
  }

  it('lists only the tools the policy lets each caller see', async () => {
    const names = async (client: Client) => (await client.listTools()).tools.map((t) => t.name).sort()
    expect(await names(await as('alice-cli'))).toEqual(['create_issue', 'get_file_contents', 'get_issue'])
    expect(await names(await as('bob-cli'))).toEqual(['get_file_contents', 'get_issue'])
    // The agent acting for alice gets the intersection of alice's and the agent client's grants.
    expect(await names(await as('triage-agent'))).toEqual(['get_file_contents', 'get_issue'])
  })

  it('lets an allowed call through to the server', async () => {
    const alice = await as('alice-cli')
    const result = await alice.callTool({ name: 'get_issue', arguments: { number: 42 } })
    expect(result.content).toEqual([{ type: 'text', text: 'Issue #42: login fails on the settings page' }])
    const created = await alice.callTool({ name: 'create_issue', arguments: { title: 'flaky test' } })
    expect(created.content).toEqual([{ type: 'text', text: 'created issue #43: flaky test' }])
  })

  it('answers a denied call with the JSON-RPC policy error, and the server never runs the tool', async () => {
    const bob = await as('bob-cli')
    const error = await denial(bob.callTool({ name: 'create_issue', arguments: { title: 'x' } }))
    // bob's group sre-prod grants github writes, but only in prod; this server runs in staging.
    expect(error.data).toMatchObject({ reason: 'outside_environment', status: 403 })
    expect(error.message).toContain('create_issue')
    expect(error.data).toHaveProperty('decision_id', expect.any(String))

    const agent = await as('triage-agent')
    const agentError = await denial(agent.callTool({ name: 'create_issue', arguments: { title: 'x' } }))
    expect(agentError.data).toMatchObject({ reason: 'client_not_granted' })

    const alice = await as('alice-cli')
    const deleteError = await denial(
      alice.callTool({ name: 'delete_repository', arguments: { repo: 'a/b' } }),
    )
    const codes = (deleteError.data as { reasons: { code: string }[] }).reasons.map((r) => r.code)
    expect(codes).toContain('explicitly_denied')
    const unknown = await denial(alice.callTool({ name: 'run_shell', arguments: { command: 'id' } }))
    expect(unknown.data).toMatchObject({ reason: 'tool_unknown' })

    expect(server.executed).not.toContain('delete_repository')
    expect(server.executed).not.toContain('run_shell')
    expect(server.executed.filter((t) => t === 'create_issue')).toHaveLength(1) // alice's, above
  })

  it('redacts a secret in a tool result as mcp/response says', async () => {
    const alice = await as('alice-cli')
    const result = await alice.callTool({ name: 'get_file_contents', arguments: { path: 'deploy/.env' } })
    const text = (result.content as { text: string }[])[0]!.text
    expect(text).not.toContain(leakedAwsKey)
    expect(text).toContain('aws_access_key_id = [REDACTED:aws_access_key]')
    expect(text).toContain('region = eu-west-1')
    expect(server.executed).toContain('get_file_contents')
  })

  it('denies an unauthenticated caller and a token for another server at initialize', async () => {
    const anonymous = await denial(connect())
    expect(anonymous.data).toMatchObject({ reason: 'unauthenticated', status: 401 })
    const jiraToken = await idp.token('alice-cli', 'https://mcp.example.com/jira')
    const misdirected = await denial(connect(jiraToken))
    expect(misdirected.data).toMatchObject({ reason: 'unauthenticated', status: 401 })
    expect(JSON.stringify(misdirected)).not.toContain(jiraToken)
  })

  it('enforces the same over a session-keeping server (one wrapped transport per Mcp-Session-Id)', async () => {
    const sessionful = await startSampleMcpServer(wrap, { sessions: true })
    try {
      const transport = new StreamableHTTPClientTransport(new URL(sessionful.url), {
        requestInit: { headers: { authorization: `Bearer ${await idp.token('bob-cli', github)}` } },
      })
      const bob = new Client({ name: 'e2e-session', version: '1.0.0' })
      await bob.connect(transport)
      clients.push(bob)
      expect(transport.sessionId).toEqual(expect.any(String))
      expect((await bob.listTools()).tools.map((t) => t.name).sort()).toEqual([
        'get_file_contents',
        'get_issue',
      ])
      const result = await bob.callTool({ name: 'get_issue', arguments: { number: 1 } })
      expect(result.content).toEqual([{ type: 'text', text: 'Issue #1: login fails on the settings page' }])
      const error = await denial(bob.callTool({ name: 'create_issue', arguments: { title: 'x' } }))
      expect(error.data).toMatchObject({ reason: 'outside_environment' })
      expect(sessionful.executed).toEqual(['get_issue'])
    } finally {
      await sessionful.close()
    }
  })

  it('leaves a decision log that verifies, replays at 100 % and holds no token', async () => {
    await log.close()
    const logDir = join(dir, 'log')
    const verification = await verifyLog([logDir], { key: logKey.publicKey })
    expect(verification.findings).toEqual([])
    expect(verification.intact).toBe(true)
    expect(verification.chains[0]!.checkpointsVerified).toBe(true)

    const report = await replayLog([logDir], { bundleStore: join(dir, 'store') })
    expect(report.differences).toEqual([])
    expect(report.missingBundles).toEqual({})
    // Judged tool results that held a secret are recorded without it, so they are counted apart.
    expect(report.withheld).toBeGreaterThan(0)
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
      .map(
        (line) =>
          JSON.parse(line) as { path: string; input: Record<string, unknown>; result: { allow: boolean } },
      )
    expect(report.events).toBe(lines.length)
    const paths = new Set(lines.map((e) => e.path))
    expect(paths).toEqual(new Set(['mcp/decision', 'mcp/response']))
    expect(lines.some((e) => e.path === 'mcp/decision' && e.result.allow === false)).toBe(true)
    expect(JSON.stringify(lines)).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/)
    // The secret the policy redacted never reaches the audit log.
    expect(JSON.stringify(lines)).not.toContain(leakedAwsKey)
  })
})
