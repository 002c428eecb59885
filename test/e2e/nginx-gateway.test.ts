import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { POLICY_DENIED_ERROR_CODE, replayLog, verifyLog } from '../../src/index.js'
import { buildPolicy } from '../helpers/build-policy.js'
import { findNginx, type NginxGateway, startNginxGateway } from '../helpers/nginx-gateway.js'
import { startTestIdp, type TestIdp } from '../helpers/oidc-idp.js'
import { buildReferenceBundle, startTestPdp, type TestPdp } from '../helpers/pdp.js'
import { leakedAwsKey, type SampleMcpServer, startSampleMcpServer } from '../helpers/sample-mcp-server.js'
import { closedLoopbackUrl } from '../identity/jwks-server.js'

// A real gateway nobody here wrote: nginx with Debian's njs module, configured by
// src/gateway/nginx/, between the real SDK client and a real SDK MCP server over Streamable HTTP;
// the PDP (mcp-policy serve, in-process) decides with the reference policy; oidc-provider issues
// the tokens. In CI a missing nginx is a failure, elsewhere the suite is skipped.
const found = findNginx()
const run = found !== undefined || process.env.CI !== undefined

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

/** The JSON-RPC error the gateway answered, from the SDK client's HTTP error. */
function gatewayDenial(error: unknown): {
  status: number
  body: { error: { code: number; data: Record<string, unknown> } }
} {
  expect(error).toBeInstanceOf(StreamableHTTPError)
  const message = (error as StreamableHTTPError).message
  const json = message.slice(message.indexOf('{'))
  return { status: (error as StreamableHTTPError).code as number, body: JSON.parse(json) }
}

describe.runIf(run)('nginx + njs gateway: SDK client → nginx → MCP server, the PDP deciding', () => {
  let idp: TestIdp
  let pdp: TestPdp
  let upstream: SampleMcpServer
  let gateway: NginxGateway
  let bundlePath = ''
  const clients: Client[] = []

  beforeAll(async () => {
    if (!found) throw new Error('CI is set but nginx with the njs module is not installed (see .ci/run)')
    const bundle = await buildReferenceBundle()
    bundlePath = bundle.path
    idp = await startTestIdp(principals, [github])
    pdp = await startTestPdp(bundle.path, {
      identity: { issuers: [idp.issuerConfig] },
      normalize: { servers: { github: { resource: github } }, environment: 'staging' },
    })
    upstream = await startSampleMcpServer()
    gateway = await startNginxGateway({ pdp: pdp.url, upstream: upstream.url, serverId: 'github' })
  })

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => {})
    await gateway?.close()
    await upstream?.close()
    await pdp?.close()
    await idp?.close()
  })

  async function connect(token?: string): Promise<Client> {
    const client = new Client({ name: 'e2e-nginx', version: '1.0.0' })
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {}
    await client.connect(
      new StreamableHTTPClientTransport(new URL(gateway.url), { requestInit: { headers } }),
    )
    clients.push(client)
    return client
  }

  const as = async (client: string) => connect(await idp.token(client, github))

  it('passes an allowed call through to the MCP server (SSE response streamed back)', async () => {
    const alice = await as('alice-cli')
    const result = await alice.callTool({ name: 'get_issue', arguments: { number: 7 } })
    expect(result.content).toEqual([{ type: 'text', text: 'Issue #7: login fails on the settings page' }])
    expect(upstream.executed).toContain('get_issue')
  })

  it('answers a denied call with the JSON-RPC error, HTTP status from the decision; the server never sees it', async () => {
    const bob = await as('bob-cli')
    const error = await bob
      .callTool({ name: 'create_issue', arguments: { title: 'x' } })
      .catch((e: unknown) => e)
    const { status, body } = gatewayDenial(error)
    expect(status).toBe(403)
    expect(body.error.code).toBe(POLICY_DENIED_ERROR_CODE)
    expect(body.error.data).toMatchObject({ reason: 'outside_environment', status: 403 })
    expect(body.error.data.decision_id).toEqual(expect.any(String))

    const agent = await as('triage-agent')
    const agentError = gatewayDenial(
      await agent.callTool({ name: 'create_issue', arguments: { title: 'x' } }).catch((e: unknown) => e),
    )
    expect(agentError.body.error.data).toMatchObject({ reason: 'client_not_granted' })
    expect(upstream.executed).not.toContain('create_issue')
  })

  it('denies an unauthenticated client with 401 at initialize', async () => {
    const { status, body } = gatewayDenial(await connect().catch((e: unknown) => e))
    expect(status).toBe(401)
    expect(body.error.data).toMatchObject({ reason: 'unauthenticated', status: 401 })
  })

  it('filters tools/list by visible_tools', async () => {
    const names = async (client: Client) => (await client.listTools()).tools.map((t) => t.name).sort()
    expect(await names(await as('alice-cli'))).toEqual(['create_issue', 'get_file_contents', 'get_issue'])
    expect(await names(await as('bob-cli'))).toEqual(['get_file_contents', 'get_issue'])
  })

  it('blocks a tool result that leaks a secret to a public model (mcp/response)', async () => {
    const alice = await as('alice-cli')
    const { status, body } = gatewayDenial(
      await alice
        .callTool({ name: 'get_file_contents', arguments: { path: 'deploy/.env' } })
        .catch((e: unknown) => e),
    )
    expect(status).toBe(403)
    expect(body.error.data).toMatchObject({ reason: 'sensitive_data_blocked' })
    expect(JSON.stringify(body)).not.toContain(leakedAwsKey)
  })

  it('redacts a secret in a tool result bound for an internal model (mcp/response redactions)', async () => {
    const internal = await startNginxGateway({
      pdp: pdp.url,
      upstream: upstream.url,
      serverId: 'github',
      destination: 'internal',
    })
    try {
      const client = new Client({ name: 'e2e-nginx-internal', version: '1.0.0' })
      const token = await idp.token('alice-cli', github)
      await client.connect(
        new StreamableHTTPClientTransport(new URL(internal.url), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      )
      clients.push(client)
      const result = await client.callTool({ name: 'get_file_contents', arguments: { path: 'deploy/.env' } })
      const text = (result.content as { text: string }[])[0]!.text
      expect(text).not.toContain(leakedAwsKey)
      expect(text).toContain('aws_access_key_id = [REDACTED:aws_access_key]')
    } finally {
      await internal.close()
    }
  })

  it('fails closed with 503 pdp_unavailable when the PDP cannot be reached', async () => {
    const orphan = await startNginxGateway({
      pdp: await closedLoopbackUrl(),
      upstream: upstream.url,
      serverId: 'github',
    })
    try {
      const client = new Client({ name: 'e2e-nginx-orphan', version: '1.0.0' })
      const token = await idp.token('alice-cli', github)
      const error = await client
        .connect(
          new StreamableHTTPClientTransport(new URL(orphan.url), {
            requestInit: { headers: { authorization: `Bearer ${token}` } },
          }),
        )
        .catch((e: unknown) => e)
      const { status, body } = gatewayDenial(error)
      expect(status).toBe(503)
      expect(body.error.data).toMatchObject({ reason: 'pdp_unavailable' })
    } finally {
      await orphan.close()
    }
  })

  it('denies an allow whose approval obligation the gateway cannot meet', async () => {
    const approvalPolicy = await buildPolicy({
      rego: {
        'approval.rego': `package mcp

decision := {"allow": true, "status": 200, "reasons": [], "obligations": {"require_approval": {"reason": "issues need a human"}}} if {
	input.mcp.method == "tools/call"
} else := {"allow": true, "status": 200, "reasons": [], "obligations": {"visible_tools": ["create_issue"]}}
`,
      },
    })
    const approvalPdp = await startTestPdp(approvalPolicy.path, {
      identity: { issuers: [idp.issuerConfig] },
      normalize: { servers: { github: { resource: github } } },
    })
    const approvalGateway = await startNginxGateway({
      pdp: approvalPdp.url,
      upstream: upstream.url,
      serverId: 'github',
    })
    try {
      const client = new Client({ name: 'e2e-nginx-approval', version: '1.0.0' })
      const token = await idp.token('alice-cli', github)
      await client.connect(
        new StreamableHTTPClientTransport(new URL(approvalGateway.url), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      )
      clients.push(client)
      const { status, body } = gatewayDenial(
        await client.callTool({ name: 'create_issue', arguments: { title: 'x' } }).catch((e: unknown) => e),
      )
      expect(status).toBe(403)
      expect(body.error.data).toMatchObject({ reason: 'approval_required' })
      expect(JSON.stringify(body)).toContain('issues need a human')
      expect(upstream.executed).not.toContain('create_issue')
    } finally {
      await approvalGateway.close()
      await approvalPdp.close()
    }
  })

  it('denies what is not one JSON-RPC message (junk, batch) with 400 and a stable code, nothing internal', async () => {
    // Its own PDP, so the log below holds exactly these two rejections (path mcp-policy/rejected).
    const junkPdp = await startTestPdp(bundlePath, {
      identity: { issuers: [idp.issuerConfig] },
      normalize: { servers: { github: { resource: github } } },
    })
    const junkGateway = await startNginxGateway({
      pdp: junkPdp.url,
      upstream: upstream.url,
      serverId: 'github',
    })
    try {
      const token = await idp.token('alice-cli', github)
      const post = async (body: string) => {
        const response = await fetch(junkGateway.url, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          },
          body,
        })
        return {
          status: response.status,
          body: (await response.json()) as {
            id: unknown
            error: { code: number; message: string; data: { reason: string } }
          },
        }
      }
      const junk = await post('{"jsonrpc": "2.0", "id": 1, "method": "tools/call", ')
      expect(junk.status).toBe(400)
      expect(junk.body).toMatchObject({ id: null, error: { code: POLICY_DENIED_ERROR_CODE } })
      expect(junk.body.error.data.reason).toBe('ERR_NORMALIZE_JSON_INVALID')
      expect(junk.body.error.message).toBe('the request could not be decided (ERR_NORMALIZE_JSON_INVALID)')
      const batch = await post(JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'ping' }]))
      expect(batch.status).toBe(400)
      expect(batch.body.error.data.reason).toBe('ERR_NORMALIZE_BATCH_UNSUPPORTED')
      await junkPdp.close()
      const verification = await verifyLog([junkPdp.logDir])
      expect(verification.intact).toBe(true)
      expect(verification.chains[0]!.events).toBe(2)
      const report = await replayLog([junkPdp.logDir], { bundleStore: junkPdp.config.bundleStore })
      expect(report).toMatchObject({ events: 2, rejected: 2, same: 0, differences: [] })
    } finally {
      await junkGateway.close()
      await junkPdp.close()
    }
  })

  it('carries Mcp-Session-Id both ways for a session-keeping MCP server', async () => {
    const sessionful = await startSampleMcpServer(undefined, { sessions: true })
    const sessionGateway = await startNginxGateway({
      pdp: pdp.url,
      upstream: sessionful.url,
      serverId: 'github',
    })
    try {
      const transport = new StreamableHTTPClientTransport(new URL(sessionGateway.url), {
        requestInit: { headers: { authorization: `Bearer ${await idp.token('bob-cli', github)}` } },
      })
      const bob = new Client({ name: 'e2e-nginx-session', version: '1.0.0' })
      await bob.connect(transport)
      clients.push(bob)
      expect(transport.sessionId).toEqual(expect.any(String))
      expect((await bob.listTools()).tools.map((t) => t.name).sort()).toEqual([
        'get_file_contents',
        'get_issue',
      ])
      const result = await bob.callTool({ name: 'get_issue', arguments: { number: 3 } })
      expect(result.content).toEqual([{ type: 'text', text: 'Issue #3: login fails on the settings page' }])
      expect(sessionful.executed).toEqual(['get_issue'])
    } finally {
      await sessionGateway.close()
      await sessionful.close()
    }
  })

  it('leaves a PDP decision log holding every decision, which verifies and replays at 100 %', async () => {
    const errors = (await gateway.errorLog())
      .split('\n')
      .filter((l) => /\[(error|crit|alert|emerg)\]/.test(l))
    expect(errors).toEqual([])
    // Every answer above came through nginx: its access log has the allows and both kinds of deny.
    const statuses = (await gateway.accessLog()).match(/"POST \/mcp HTTP\/1\.1" (\d{3})/g) ?? []
    expect(statuses.some((s) => s.endsWith(' 200'))).toBe(true)
    expect(statuses.some((s) => s.endsWith(' 401'))).toBe(true)
    expect(statuses.some((s) => s.endsWith(' 403'))).toBe(true)
    await pdp.close()
    const verification = await verifyLog([pdp.logDir])
    expect(verification.findings).toEqual([])
    expect(verification.intact).toBe(true)
    const report = await replayLog([pdp.logDir], { bundleStore: pdp.config.bundleStore })
    expect(report.missingBundles).toEqual({})
    expect(report.differences).toEqual([])
    // Judged tool results that held a secret are recorded without it, so they are counted apart.
    expect(report.withheld).toBeGreaterThan(0)
    expect(report.same + report.withheld).toBe(report.events)

    const events = (
      await Promise.all(
        (
          await readdir(pdp.logDir)
        )
          .filter((f) => f.endsWith('.jsonl'))
          .map((f) => readFile(join(pdp.logDir, f), 'utf8')),
      )
    )
      .join('')
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as { path: string; input: { mcp?: { method?: string; tool?: { name?: string } } } },
      )
    const calls = events.filter((e) => e.path === 'mcp/decision' && e.input.mcp?.method === 'tools/call')
    // alice's and bob's get_issue, bob's and the agent's create_issue, get_file_contents twice: each decided once.
    expect(calls.map((e) => e.input.mcp?.tool?.name).sort()).toEqual([
      'create_issue',
      'create_issue',
      'get_file_contents',
      'get_file_contents',
      'get_issue',
      'get_issue',
    ])
    expect(events.some((e) => e.path === 'mcp/response')).toBe(true)
  })
})
