import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { McpError } from '@modelcontextprotocol/sdk/types.js'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultGatewayConfig, verifyLog } from '../../src/index.js'
import {
  buildReferenceBundleWith,
  connectClient,
  eventually,
  faultyServer,
  startTestGateway,
  type TestGateway,
} from '../helpers/gateway.js'

// The gateway against an upstream that misbehaves on request (test/fixtures/servers/faulty-mcp-server.ts)
// and against hostile clients: nothing crashes it, every message is decided and logged, every
// refusal carries a reason.

const FAULTY_TOOLS = ['echo', 'crash', 'hang', 'junk', 'flood', 'big', 'deep', 'leak', 'headers', 'progress']

async function rpcError(call: Promise<unknown>): Promise<McpError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(McpError)
  return error as McpError
}

describe('mcp-policy gateway under faults', () => {
  let gateway: TestGateway
  let httpUpstream: ChildProcess
  let httpUrl = ''
  let headersFile = ''
  const clients: Client[] = []
  const connect = async (server: string, capabilities = {}) => {
    const client = await connectClient(
      gateway.endpoints[server]!,
      await gateway.token('alice', ['developer'], server),
      capabilities,
    )
    clients.push(client)
    return client
  }

  beforeAll(async () => {
    headersFile = join(await mkdtemp(join(tmpdir(), 'mcp-policy-headers-')), 'headers.jsonl')
    httpUpstream = spawn(process.execPath, [faultyServer, '--http', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, HEADERS_FILE: headersFile },
    })
    const [line] = (await once(httpUpstream.stdout!, 'data')) as [Buffer]
    httpUrl = `http://127.0.0.1:${/listening (\d+)/.exec(line.toString())![1]}/mcp`
    const bundle = await buildReferenceBundleWith((data) => {
      for (const id of ['faulty', 'hostile', 'remote']) {
        data.servers[id] = {
          classification: 'internal',
          tools: Object.fromEntries(FAULTY_TOOLS.map((t) => [t, {}])),
        }
        data.grants.roles.developer.tools[id] = ['*']
      }
    })
    gateway = await startTestGateway(
      bundle.path,
      {
        faulty: { command: process.execPath, args: [faultyServer], timeoutMs: 1500 },
        hostile: { command: process.execPath, args: [faultyServer], env: { HOSTILE_TOOLS: '1' } },
        remote: {
          url: httpUrl,
          headers: { 'x-service-credential': 'gateway-secret' },
          identityAssertion: true,
        },
      },
      {
        limits: {
          ...defaultGatewayConfig().limits,
          maxRequestBytes: 64 * 1024,
          maxResultBytes: 16 * 1024 * 1024,
          upstreamTimeoutMs: 60_000,
          sessionIdleMs: 60_000,
          maxSessions: 16,
        },
      },
    )
  })

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()))
    await gateway?.close()
    httpUpstream?.kill()
  })

  it('restarts an upstream that crashes: the call in flight fails with a reason, later calls work again', async () => {
    const client = await connect('faulty')
    expect((await client.callTool({ name: 'echo', arguments: { text: 'before' } })).content).toEqual([
      { type: 'text', text: 'before' },
    ])
    const crashed = await rpcError(client.callTool({ name: 'crash', arguments: {} }))
    expect(crashed.data).toEqual({ reason: 'ERR_GATEWAY_UPSTREAM_UNAVAILABLE' })
    const after = await eventually(() => client.callTool({ name: 'echo', arguments: { text: 'after' } }))
    expect(after.content).toEqual([{ type: 'text', text: 'after' }])
    expect(gateway.upstreams.get('faulty')!.status().restarts).toBeGreaterThanOrEqual(1)
    expect(gateway.printed.some((l) => l.includes('upstream faulty: process exited; restarting'))).toBe(true)
  })

  it('answers a call the upstream never answers with a timeout error', async () => {
    const client = await connect('faulty')
    const hung = await rpcError(
      client.callTool({ name: 'hang', arguments: {} }, undefined, { timeout: 30_000 }),
    )
    expect(hung.message).toContain('did not answer within 1500 ms')
    expect((await client.callTool({ name: 'echo', arguments: { text: 'still here' } })).isError).toBeFalsy()
  })

  it('skips non-JSON lines on stdout, and rate-limits a stderr flood into its log', async () => {
    const client = await connect('faulty')
    const junk = await client.callTool({ name: 'junk', arguments: {} })
    expect(junk.content).toEqual([{ type: 'text', text: 'after junk' }])
    const flood = await client.callTool({ name: 'flood', arguments: {} })
    expect(flood.content).toEqual([{ type: 'text', text: 'flooded' }])
    const floodLines = gateway.printed.filter((l) => l.includes('flood line'))
    expect(floodLines.length).toBeGreaterThan(0)
    expect(floodLines.length).toBeLessThan(20_000)
    await eventually(async () => {
      expect(gateway.printed.some((l) => /lines dropped \(rate limit\)/.test(l))).toBe(true)
    }, 5_000)
  })

  it('judges and relays a 10 MB result, and refuses one beyond the bound', async () => {
    const client = await connect('hostile')
    const big = await client.callTool({ name: 'big', arguments: { bytes: 10 * 1024 * 1024 } }, undefined, {
      timeout: 60_000,
    })
    expect((big.content as { text: string }[])[0]!.text.length).toBe(10 * 1024 * 1024)
    // 17 MB is over maxResultBytes: the line never reaches the policy, the call fails, the gateway lives.
    const tooBig = await rpcError(
      client.callTool({ name: 'big', arguments: { bytes: 17 * 1024 * 1024 } }, undefined, {
        timeout: 60_000,
      }),
    )
    expect(tooBig.data).toEqual({ reason: 'ERR_GATEWAY_UPSTREAM_UNAVAILABLE' })
    await eventually(() => client.callTool({ name: 'echo', arguments: { text: 'ok' } }))
  })

  it('blocks a result nested deeper than the bound, with its reason', async () => {
    const client = await connect('faulty')
    const deep = await rpcError(client.callTool({ name: 'deep', arguments: {} }))
    expect((deep.data as { reason: string }).reason).toBe('ERR_NORMALIZE_TOO_DEEP')
    expect((await client.callTool({ name: 'echo', arguments: { text: 'fine' } })).isError).toBeFalsy()
  })

  it('shows none of the tools an upstream lists under hostile names, and keeps serving', async () => {
    const client = await connect('hostile')
    const names = (await client.listTools()).tools.map((t) => t.name)
    expect(names.sort()).toEqual([...FAULTY_TOOLS].sort())
    const proto = await rpcError(client.callTool({ name: '__proto__', arguments: {} }))
    expect((proto.data as { reason: string }).reason).toBe('tool_unknown')
  })

  it('passes progress notifications and cancellation through', async () => {
    const client = await connect('faulty')
    const progress: number[] = []
    await client.callTool({ name: 'progress', arguments: {} }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    })
    expect(progress).toEqual([1, 2, 3])
    const controller = new AbortController()
    const hung = client.callTool({ name: 'hang', arguments: {} }, undefined, { signal: controller.signal })
    setTimeout(() => controller.abort('the user gave up'), 100)
    await expect(hung).rejects.toThrow()
    expect((await client.callTool({ name: 'echo', arguments: { text: 'next' } })).content).toEqual([
      { type: 'text', text: 'next' },
    ])
  })

  it('never passes the client token upstream: the HTTP upstream sees its configured credential and a gateway-signed identity assertion', async () => {
    const client = await connect('remote')
    const seen = JSON.parse(
      ((await client.callTool({ name: 'headers', arguments: {} })).content as { text: string }[])[0]!.text,
    ) as string[]
    expect(seen).not.toContain('authorization')
    expect(seen).toContain('x-service-credential')
    expect(seen).toContain('mcp-policy-identity')
    // Instead: the gateway's own short-lived assertion of who is calling, checked against its JWKS.
    const jwks = createRemoteJWKSet(new URL(`${gateway.url}/.well-known/jwks.json`))
    const received = (await readFile(headersFile, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, string>)
    const calls = received.filter((h) => h['mcp-policy-identity'] !== undefined)
    expect(calls.length).toBeGreaterThan(0)
    expect(received.every((h) => h.authorization === undefined)).toBe(true)
    expect(received.every((h) => h['x-service-credential'] === 'gateway-secret')).toBe(true)
    const assertion = calls.at(-1)!['mcp-policy-identity']!
    const { payload, protectedHeader } = await jwtVerify(assertion, jwks, {
      issuer: gateway.url,
      audience: httpUrl,
    })
    expect(protectedHeader.typ).toBe('mcp-policy-identity+jwt')
    expect(payload.sub).toBe('alice')
    expect(payload.client_id).toBe('gateway-test')
    expect(payload.mcp_server).toBe('remote')
    expect(payload.decision_id).toMatch(/^[0-9a-f-]{36}$/)
    expect(payload.exp! - payload.iat!).toBe(60)
    // Another gateway's key does not verify it.
    const forged = assertion.replace(/\.[^.]+$/, '.AAAA')
    await expect(jwtVerify(forged, jwks)).rejects.toThrow()
  })

  it('refuses oversized, deep, malformed and batched client messages with reasons, and logs them', async () => {
    const token = await gateway.token('alice', ['developer'], 'faulty')
    const post = (body: string) =>
      fetch(gateway.endpoints.faulty!, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${token}`,
        },
        body,
      })
    const oversized = await post(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(70_000) } }),
    )
    expect(oversized.status).toBe(413)
    const deep = await post(
      `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"a":${'['.repeat(200)}${']'.repeat(200)}}}`,
    )
    expect(deep.status).toBe(400)
    expect(JSON.stringify(await deep.json())).toContain('ERR_NORMALIZE_TOO_DEEP')
    const malformed = await post('{"jsonrpc":"2.0","id":1,"method":')
    expect(malformed.status).toBe(400)
    const batch = await post(JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'ping' }]))
    expect(batch.status).toBe(400)
    expect(JSON.stringify(await batch.json())).toContain('ERR_NORMALIZE_BATCH_UNSUPPORTED')
    const notJsonRpc = await post('{"hello":"world"}')
    expect(notJsonRpc.status).toBe(400)
  })

  it('survives a client that disconnects mid-stream', async () => {
    const token = await gateway.token('alice', ['developer'], 'faulty')
    const client = await connect('faulty')
    const sessionId = (client.transport as { sessionId?: string }).sessionId!
    const controller = new AbortController()
    const pending = fetch(gateway.endpoints.faulty!, {
      method: 'POST',
      signal: controller.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${token}`,
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'gone',
        method: 'tools/call',
        params: { name: 'hang', arguments: {} },
      }),
    })
    const response = await pending
    expect(response.status).toBe(200)
    controller.abort()
    await new Promise((r) => setTimeout(r, 200))
    expect((await client.callTool({ name: 'echo', arguments: { text: 'alive' } })).content).toEqual([
      { type: 'text', text: 'alive' },
    ])
  })

  it('judges a tool error like a result: a secret in it is blocked', async () => {
    const client = await connect('faulty')
    const leak = await rpcError(client.callTool({ name: 'leak', arguments: {} }))
    expect((leak.data as { reason: string }).reason).toBe('sensitive_data_blocked')
    expect(JSON.stringify(leak)).not.toContain('AKIAIOSFODNN7EXAMPLE')
  })

  it('keeps a session at its server, refuses a second request with an id in flight, and leaks nothing for a refused initialize', async () => {
    const client = await connect('faulty')
    const sessionId = (client.transport as { sessionId?: string }).sessionId!
    const post = async (server: string, body: unknown, extra: Record<string, string> = {}) =>
      fetch(gateway.endpoints[server]!, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${await gateway.token('alice', ['developer'], server)}`,
          'mcp-protocol-version': '2025-11-25',
          ...extra,
        },
        body: JSON.stringify(body),
      })
    // The faulty session through the remote server's endpoint (decided for remote): no such session.
    const crossed = await post(
      'remote',
      { jsonrpc: '2.0', id: 1, method: 'tools/list' },
      { 'mcp-session-id': sessionId },
    )
    expect(crossed.status).toBe(404)

    const hang = { jsonrpc: '2.0', id: 'same', method: 'tools/call', params: { name: 'hang', arguments: {} } }
    const first = await post('faulty', hang, { 'mcp-session-id': sessionId })
    expect(first.status).toBe(200)
    const second = await post(
      'faulty',
      { ...hang, method: 'tools/list', params: {} },
      { 'mcp-session-id': sessionId },
    )
    expect(((await second.json()) as { error: { code: number } }).error.code).toBe(-32600)
    await first.body?.cancel()

    const before = gateway.upstreams.get('faulty')!.status().open_sessions
    const initialize = {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    }
    for (let i = 0; i < 3; i++) {
      // Accept without text/event-stream: the SDK transport refuses it (406) after the policy allowed it.
      const refused = await post('faulty', initialize, { accept: 'application/json' })
      expect(refused.status).toBe(406)
    }
    expect(gateway.upstreams.get('faulty')!.status().open_sessions).toBe(before)
  })

  it('bounds the sessions it holds: one more initialize is a 503 with a reason', async () => {
    const opened: Client[] = []
    let refused: unknown
    for (let i = 0; i < 20 && refused === undefined; i++) {
      await connect('faulty').then(
        (c) => opened.push(c),
        (e: unknown) => {
          refused = e
        },
      )
    }
    expect(gateway.sessionCount()).toBe(16)
    expect(String((refused as Error).message)).toContain('ERR_GATEWAY_UPSTREAM_UNAVAILABLE')
    // A session ends with DELETE (closing a client does not end it): the room is given back.
    for (const c of opened) {
      await (c.transport as StreamableHTTPClientTransport).terminateSession()
      await c.close()
    }
    expect(gateway.sessionCount()).toBe(16 - opened.length)
    await connect('faulty')
  })

  it('lets a client that lost its stream resume it with Last-Event-ID', async () => {
    const token = await gateway.token('alice', ['developer'], 'faulty')
    const client = await connect('faulty')
    const sessionId = (client.transport as { sessionId?: string }).sessionId!
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-11-25',
    }
    const call = {
      jsonrpc: '2.0',
      id: 'resume-1',
      method: 'tools/call',
      params: { name: 'progress', arguments: {}, _meta: { progressToken: 'p-1' } },
    }
    const first = await fetch(gateway.endpoints.faulty!, {
      method: 'POST',
      headers,
      body: JSON.stringify(call),
    })
    expect(first.headers.get('content-type')).toContain('text/event-stream')
    const events = parseSse(await first.text())
    // The priming event, three progress notifications, the answer: each with an id.
    expect(events.length).toBeGreaterThanOrEqual(5)
    expect(events.every((e) => e.id !== undefined)).toBe(true)
    const answer = events.find((e) => e.data && (JSON.parse(e.data) as { id?: string }).id === 'resume-1')
    expect(answer).toBeDefined()

    // The client saw only the first event; it reconnects and gets the rest, the answer included.
    const controller = new AbortController()
    const resumed = await fetch(gateway.endpoints.faulty!, {
      method: 'GET',
      signal: controller.signal,
      headers: { ...headers, accept: 'text/event-stream', 'last-event-id': events[0]!.id! },
    })
    expect(resumed.status).toBe(200)
    const reader = resumed.body!.getReader()
    let text = ''
    while (!text.includes('"resume-1"')) {
      const { value, done } = await reader.read()
      if (done) break
      text += new TextDecoder().decode(value)
    }
    controller.abort()
    const replayed = parseSse(text)
    expect(replayed.map((e) => e.id)).toEqual(
      events
        .slice(1)
        .map((e) => e.id)
        .slice(0, replayed.length),
    )
    expect(replayed.some((e) => e.id === answer!.id)).toBe(true)
  })

  it('recorded every decision in a log that verifies', async () => {
    await gateway.flushLogs()
    const verification = await verifyLog([gateway.logDir])
    expect(verification.intact).toBe(true)
    expect(verification.chains.reduce((n, c) => n + c.events, 0)).toBeGreaterThan(30)
  })
})

/** The events of an SSE body (WHATWG rules, enough for the gateway's own output). */
function parseSse(text: string): { id?: string; data: string }[] {
  return text
    .split(/\r?\n\r?\n/)
    .filter((block) => block.trim() !== '' && !block.startsWith(':'))
    .map((block) => {
      const lines = block.split(/\r?\n/)
      const id = lines
        .find((l) => l.startsWith('id:'))
        ?.slice(3)
        .trim()
      const data = lines
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n')
      return { id, data }
    })
}
