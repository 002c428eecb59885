import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import { McpError } from '@modelcontextprotocol/sdk/types.js'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import {
  createDevKey,
  DecisionLog,
  type DevKey,
  devIssuerConfig,
  enforcePolicy,
  mintDevToken,
  POLICY_DENIED_ERROR_CODE,
  type PolicyEnforcementOptions,
  PolicyEnforcingTransport,
  PolicyEngine,
  RequestNormalizer,
  TokenVerifier,
} from '../../src/index.js'
import { buildPolicy } from '../helpers/build-policy.js'

// A small policy exercising the enforcement point's own duties: approval obligations, blocked and
// unappliable result judgements, an undefined decision (an engine-side failure), identity from the
// token an auth middleware handed over (authInfo), fail-closed logging.
const policy = `package mcp

allowed := {"allow": true, "status": 200, "reasons": [], "obligations": {}}

decision := {"allow": true, "status": 200, "reasons": [], "obligations": {"visible_tools": ["deploy", "echo"]}} if {
	input.mcp.method != "tools/call"
} else := {"allow": false, "status": 401, "reasons": [{"code": "unauthenticated", "message": "sign in"}], "obligations": {}} if {
	not input.subject.authenticated
} else := {"allow": true, "status": 200, "reasons": [], "obligations": {"require_approval": {"reason": "deploys need a human"}}} if {
	input.mcp.tool.name == "deploy"
} else := allowed if {
	input.mcp.tool.name in {"echo", "leak", "misredact"}
}

response := {"allow": false, "redactions": [], "reasons": [{"code": "sensitive_data_blocked", "message": "the result leaks"}]} if {
	input.request.mcp.tool.name == "leak"
} else := {"allow": true, "redactions": [{"path": "/content/7/text", "replacement": "x"}], "reasons": []} if {
	input.request.mcp.tool.name == "misredact"
} else := {"allow": true, "redactions": [], "reasons": []}
`
const resource = 'https://mcp.example.com/tools'

describe('PolicyEnforcingTransport', () => {
  let engine: PolicyEngine
  let key: DevKey
  let normalizer: RequestNormalizer
  const executed: string[] = []
  const open: Client[] = []

  beforeAll(async () => {
    const built = await buildPolicy({ rego: { 'policy.rego': policy } })
    engine = await PolicyEngine.fromBundleFile(built.path)
    key = await createDevKey()
    normalizer = new RequestNormalizer(
      { servers: { tools: { resource } } },
      new TokenVerifier({ issuers: [devIssuerConfig(key)] }),
    )
  })

  afterEach(async () => {
    for (const client of open.splice(0)) await client.close()
    executed.length = 0
  })

  /** Client and server over the SDK's in-memory pair; the client side adds the token as authInfo, as an auth middleware would. */
  async function connect(options: Partial<PolicyEnforcementOptions> = {}, token?: string): Promise<Client> {
    const server = new McpServer({ name: 'tools', version: '1.0.0' })
    for (const name of ['echo', 'deploy', 'leak', 'misredact', 'boom']) {
      server.registerTool(name, { inputSchema: { text: z.string() } }, ({ text }) => {
        executed.push(name)
        return { content: [{ type: 'text', text }] }
      })
    }
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
    const withAuth: Transport = {
      start: () => clientSide.start(),
      close: () => clientSide.close(),
      send: (message, sendOptions) =>
        clientSide.send(message, {
          ...sendOptions,
          ...(token ? { authInfo: { token, clientId: 'c', scopes: [] } } : {}),
        }),
    }
    clientSide.onmessage = (m, e) => withAuth.onmessage?.(m, e)
    clientSide.onclose = () => withAuth.onclose?.()
    await server.connect(
      new PolicyEnforcingTransport(serverSide, { engine, normalizer, server: 'tools', ...options }),
    )
    const client = new Client({ name: 'test', version: '1.0.0' })
    await client.connect(withAuth)
    open.push(client)
    return client
  }

  const token = () => mintDevToken(key, { sub: 'alice', aud: resource })

  async function denied(call: Promise<unknown>): Promise<{ message: string; data: Record<string, unknown> }> {
    const error = await call.then(
      () => undefined,
      (err: unknown) => err,
    )
    expect(error).toBeInstanceOf(McpError)
    expect((error as McpError).code).toBe(POLICY_DENIED_ERROR_CODE)
    return { message: (error as McpError).message, data: (error as McpError).data as Record<string, unknown> }
  }

  it('takes identity from the token an auth middleware handed over', async () => {
    const client = await connect({}, await token())
    const result = await client.callTool({ name: 'echo', arguments: { text: 'hi' } })
    expect(result.content).toEqual([{ type: 'text', text: 'hi' }])
    const anonymous = await connect()
    expect(
      (await denied(anonymous.callTool({ name: 'echo', arguments: { text: 'hi' } }))).data,
    ).toMatchObject({
      reason: 'unauthenticated',
      status: 401,
    })
    expect(executed).toEqual(['echo'])
  })

  it("analyses the arguments its bundle's data declares, as the PDP does", async () => {
    // echo's text is declared a URL: the policy sees the URL analyzer's finding, not the text.
    const built = await buildPolicy({
      rego: {
        'policy.rego': `package mcp

decision := {"allow": true, "status": 200, "reasons": [], "obligations": {}} if {
	input.mcp.method != "tools/call"
} else := {"allow": true, "status": 200, "reasons": [], "obligations": {}} if {
	input.mcp.tool.analysis.text.ambiguous == false
} else := {"allow": false, "status": 403, "reasons": [{"code": "ambiguous", "message": "no"}], "obligations": {}}

response := {"allow": true, "redactions": [], "reasons": []}
`,
      },
      data: {
        mcp_data: { servers: { tools: { tools: { echo: { arguments: { text: { analyze: 'url' } } } } } } },
      },
    })
    const analysing = await PolicyEngine.fromBundleFile(built.path)
    const client = await connect({ engine: analysing }, await token())
    const plain = await client.callTool({ name: 'echo', arguments: { text: 'https://docs.example.com/' } })
    expect(plain.content).toEqual([{ type: 'text', text: 'https://docs.example.com/' }])
    const refusal = await denied(
      client.callTool({ name: 'echo', arguments: { text: 'https://a.example\\@b.example/' } }),
    )
    expect(refusal.data).toMatchObject({ reason: 'ambiguous', status: 403 })
    expect(executed).toEqual(['echo'])
  })

  it('denies an approval obligation nobody can meet, and asks the approver when there is one', async () => {
    const client = await connect({}, await token())
    const refusal = await denied(client.callTool({ name: 'deploy', arguments: { text: 'v2' } }))
    expect(refusal.data).toMatchObject({ reason: 'approval_required', status: 403 })
    expect(refusal.message).toContain('deploys need a human')
    expect(executed).toEqual([])

    const asked: string[] = []
    const approving = await connect(
      {
        approve: async (input, approval) => {
          asked.push(`${input.subject.id}: ${approval.reason}`)
          return true
        },
      },
      await token(),
    )
    await approving.callTool({ name: 'deploy', arguments: { text: 'v2' } })
    expect(asked).toEqual(['alice: deploys need a human'])
    expect(executed).toEqual(['deploy'])
  })

  it('blocks a result the response policy denies, after the tool ran', async () => {
    const client = await connect({}, await token())
    const blocked = await denied(client.callTool({ name: 'leak', arguments: { text: 'secret' } }))
    expect(blocked.data).toMatchObject({ reason: 'sensitive_data_blocked' })
    expect(JSON.stringify(blocked)).not.toContain('secret"')
    expect(executed).toEqual(['leak'])
  })

  it('blocks a result whose redaction cannot be applied rather than pass it unredacted', async () => {
    const client = await connect({}, await token())
    const blocked = await denied(client.callTool({ name: 'misredact', arguments: { text: 'x' } }))
    expect(blocked.data).toMatchObject({ reason: 'redaction_failed' })
  })

  it('answers an engine failure with its stable code and the generic summary, nothing internal', async () => {
    const client = await connect({}, await token())
    const failure = await denied(client.callTool({ name: 'boom', arguments: { text: 'x' } }))
    expect(failure.data).toMatchObject({ reason: 'ERR_DECISION_UNDEFINED', status: 500 })
    expect(failure.message).toBe(`MCP error ${POLICY_DENIED_ERROR_CODE}: The entrypoint produced no result.`)
    expect(JSON.stringify(failure)).not.toContain('mcp/decision')
    expect(executed).toEqual([])
  })

  it('enforcePolicy wraps every transport the server is connected to (a v1 server too)', async () => {
    const server = new McpServer({ name: 'tools', version: '1.0.0' })
    server.registerTool('echo', { inputSchema: { text: z.string() } }, ({ text }) => {
      executed.push('echo')
      return { content: [{ type: 'text', text }] }
    })
    server.registerTool('boom', { inputSchema: { text: z.string() } }, ({ text }) => {
      executed.push('boom')
      return { content: [{ type: 'text', text }] }
    })
    expect(enforcePolicy(server, { engine, normalizer, server: 'tools' })).toBe(server)
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
    await server.connect(serverSide)
    const client = new Client({ name: 'test', version: '1.0.0' })
    await client.connect(clientSide)
    open.push(client)
    // Anonymous over the in-memory pair: listing is allowed (and filtered), calling is not.
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo'])
    const refusal = await denied(client.callTool({ name: 'echo', arguments: { text: 'hi' } }))
    expect(refusal.data).toMatchObject({ reason: 'unauthenticated', status: 401 })
    expect(executed).toEqual([])
  })

  it('denies what it cannot log', async () => {
    const log = await DecisionLog.open({ dir: await mkdtemp(join(tmpdir(), 'mcp-policy-enforce-log-')) })
    const client = await connect({ log }, await token())
    await client.callTool({ name: 'echo', arguments: { text: 'logged' } })
    await log.close()
    const failure = await denied(client.callTool({ name: 'echo', arguments: { text: 'unlogged' } }))
    expect(failure.data).toMatchObject({ reason: 'ERR_LOG_WRITE_FAILED', status: 503 })
    expect(executed).toEqual(['echo'])
  })
})
