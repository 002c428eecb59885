import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { McpError } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { POLICY_DENIED_ERROR_CODE, replayLog, verifyLog } from '../../src/index.js'
import {
  buildReferenceBundleWith,
  connectClient,
  startTestGateway,
  stockServers,
  type TestGateway,
} from '../helpers/gateway.js'

// `mcp-policy gateway` in front of the real, unmodified stock servers from npm, spawned over stdio
// (one shared process each), with the reference policy; the real SDK client on the other side.

const EVERYTHING_GRANTED = [
  'echo',
  'get-sum',
  'get-tiny-image',
  'trigger-*',
  'get-roots-list',
  'get-structured-content',
]

/** The JSON-RPC error a denied call raised in the SDK client. */
async function denial(
  call: Promise<unknown>,
): Promise<{ code: number; data: { reason: string; reasons: { code: string }[] } }> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(McpError)
  return error as McpError as unknown as {
    code: number
    data: { reason: string; reasons: { code: string }[] }
  }
}

describe('mcp-policy gateway: SDK client → gateway → stock stdio servers, the reference policy deciding', () => {
  let gateway: TestGateway
  let srv = ''
  const clients: Client[] = []
  const connect = async (...args: Parameters<typeof connectClient>) => {
    const client = await connectClient(...args)
    clients.push(client)
    return client
  }

  beforeAll(async () => {
    srv = await mkdtemp(join(tmpdir(), 'mcp-policy-srv-'))
    await mkdir(join(srv, 'secrets'))
    await writeFile(join(srv, 'readme.txt'), 'hello from the project\n')
    await writeFile(join(srv, 'keys.txt'), 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n')
    await writeFile(join(srv, 'secrets', 'token.txt'), 'top secret\n')
    const bundle = await buildReferenceBundleWith((data) => {
      // The filesystem rules name /srv/projects/; this run's project directory stands in for it.
      data.servers.filesystem = JSON.parse(
        JSON.stringify(data.servers.filesystem).replaceAll('/srv/projects/', `${srv}/`),
      )
      data.servers.everything = {
        classification: 'internal',
        tools: Object.fromEntries(
          [
            ...EVERYTHING_GRANTED.filter((t) => !t.includes('*')),
            'get-env',
            'trigger-sampling-request',
            'trigger-elicitation-request',
            'trigger-long-running-operation',
          ].map((t) => [t, {}]),
        ),
      }
      data.grants.roles.developer.tools.everything = EVERYTHING_GRANTED
    })
    gateway = await startTestGateway(bundle.path, {
      filesystem: { command: process.execPath, args: [stockServers.filesystem, srv] },
      everything: { command: process.execPath, args: [stockServers.everything, 'stdio'] },
    })
  })

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()))
    await gateway?.close()
  })

  it('protects server-filesystem: a filtered list, an allowed read, denied calls with their reasons, a blocked secret', async () => {
    const alice = await connect(
      gateway.endpoints.filesystem!,
      await gateway.token('alice', ['developer'], 'filesystem'),
    )
    expect(alice.getServerVersion()?.name).toBe('secure-filesystem-server')
    const listed = (await alice.listTools()).tools.map((t) => t.name)
    // The developer role reads (read_*, list_directory); it cannot write, so write tools are not shown.
    expect(listed).toContain('read_file')
    expect(listed).toContain('list_directory')
    expect(listed).not.toContain('write_file')
    expect(listed.every((name) => name.startsWith('read_') || name === 'list_directory')).toBe(true)

    const read = await alice.callTool({ name: 'read_file', arguments: { path: join(srv, 'readme.txt') } })
    expect(JSON.stringify(read.content)).toContain('hello from the project')

    const write = await denial(
      alice.callTool({ name: 'write_file', arguments: { path: join(srv, 'x.txt'), content: 'x' } }),
    )
    expect(write.code).toBe(POLICY_DENIED_ERROR_CODE)
    expect(write.data.reason).toBe('not_granted')

    const secret = await denial(
      alice.callTool({ name: 'read_file', arguments: { path: join(srv, 'secrets', 'token.txt') } }),
    )
    expect(secret.data.reasons.map((r) => r.code)).toContain('argument_path_denied')

    // The server answers; the policy judges the answer before the client sees it.
    const key = await denial(
      alice.callTool({ name: 'read_file', arguments: { path: join(srv, 'keys.txt') } }),
    )
    expect(key.data.reason).toBe('sensitive_data_blocked')
  })

  it('answers a request without a token with 401 and the RFC 9728 metadata of the server', async () => {
    const endpoint = gateway.endpoints.filesystem!
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    })
    expect(response.status).toBe(401)
    const challenge = response.headers.get('www-authenticate') ?? ''
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1]
    expect(metadataUrl).toBe(`${gateway.url}/.well-known/oauth-protected-resource/mcp/filesystem`)
    const metadata = (await (await fetch(metadataUrl!)).json()) as Record<string, unknown>
    expect(metadata.resource).toBe(gateway.resources.filesystem)
    expect(metadata.authorization_servers).toEqual(gateway.core.identity.issuers.map((i) => i.issuer))

    const forged = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: 'Bearer not.a.token',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    })
    expect(forged.status).toBe(401)
    expect(forged.headers.get('www-authenticate')).toContain('error="invalid_token"')

    // A token for another server behind the same gateway is not good here.
    const elsewhere = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${await gateway.token('alice', ['developer'], 'everything')}`,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    })
    expect(elsewhere.status).toBe(401)
  })

  it('relays server-everything over stdio: content types, progress, sampling, elicitation and roots, each decided', async () => {
    const client = await connect(
      gateway.endpoints.everything!,
      await gateway.token('alice', ['developer'], 'everything'),
      {
        sampling: {},
        elicitation: {},
        roots: { listChanged: true },
      },
    )
    const { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema } = await import(
      '@modelcontextprotocol/sdk/types.js'
    )
    client.setRequestHandler(CreateMessageRequestSchema, async () => ({
      role: 'assistant',
      model: 'test-model',
      content: { type: 'text', text: 'sampled by the client' },
    }))
    client.setRequestHandler(ElicitRequestSchema, async () => ({
      action: 'accept',
      content: { color: 'blue' },
    }))
    client.setRequestHandler(ListRootsRequestSchema, async () => ({
      roots: [{ uri: 'file:///work', name: 'work' }],
    }))

    const tools = (await client.listTools()).tools.map((t) => t.name)
    expect(tools).toContain('echo')
    expect(tools).not.toContain('get-env') // in the catalog, not granted
    const echo = await client.callTool({ name: 'echo', arguments: { message: 'hi there' } })
    expect(JSON.stringify(echo.content)).toContain('hi there')
    // Personal data from an internal server going to a public model is redacted, not blocked.
    const pii = await client.callTool({ name: 'echo', arguments: { message: 'write to alice@example.com' } })
    expect(JSON.stringify(pii.content)).not.toContain('alice@example.com')
    expect(JSON.stringify(pii.content)).toContain('REDACTED')
    const image = await client.callTool({ name: 'get-tiny-image', arguments: {} })
    expect((image.content as { type: string }[]).map((c) => c.type)).toContain('image')
    const env = await denial(client.callTool({ name: 'get-env', arguments: {} }))
    expect(env.data.reason).toBe('not_granted')

    const sampled = await client.callTool({
      name: 'trigger-sampling-request',
      arguments: { prompt: 'say hi', maxTokens: 10 },
    })
    expect(JSON.stringify(sampled.content)).toContain('sampled by the client')

    const progress: number[] = []
    await client.callTool(
      { name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 3 } },
      undefined,
      { onprogress: (p) => progress.push(p.progress) },
    )
    expect(progress.length).toBeGreaterThan(0)

    const roots = await client.callTool({ name: 'get-roots-list', arguments: {} })
    expect(JSON.stringify(roots.content)).toContain('file:///work')
  })

  it('keeps sessions apart on one shared process: each caller sees its own list, and a session id is its opener’s', async () => {
    const aliceToken = await gateway.token('alice', ['developer'], 'filesystem')
    const alice = await connect(gateway.endpoints.filesystem!, aliceToken)
    const bob = await connect(
      gateway.endpoints.filesystem!,
      await gateway.token('bob', ['support'], 'filesystem'),
    )
    const [aliceTools, bobTools] = await Promise.all([alice.listTools(), bob.listTools()])
    expect(aliceTools.tools.length).toBeGreaterThan(0)
    expect(bobTools.tools).toEqual([]) // support holds no filesystem grant
    const bobRead = await denial(
      bob.callTool({ name: 'read_file', arguments: { path: join(srv, 'readme.txt') } }),
    )
    expect(bobRead.data.reason).toBe('not_granted')

    // Bob presents Alice's session id with his own (valid) token: the session does not exist for him.
    const sessionId = (alice.transport as { sessionId?: string }).sessionId!
    const hijack = await fetch(gateway.endpoints.filesystem!, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-11-25',
        authorization: `Bearer ${await gateway.token('bob', ['developer'], 'filesystem')}`,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
    })
    expect(hijack.status).toBe(404)
  })

  it('logs every decision, both directions, in a log that verifies and replays to the same decisions', async () => {
    await gateway.flushLogs()
    const verification = await verifyLog([gateway.logDir])
    expect(verification.findings).toEqual([])
    expect(verification.intact).toBe(true)
    const events = verification.chains.reduce((n, c) => n + c.events, 0)
    expect(events).toBeGreaterThan(20)
    const replay = await replayLog([gateway.logDir], { bundleStore: join(gateway.logDir, '..', 'store') })
    expect(replay.differences).toEqual([])
    expect(replay.missingBundles).toEqual({})
    expect(replay.same).toBeGreaterThan(20)
    expect(replay.same + replay.rejected + replay.withheld).toBe(replay.events)
  })
})
