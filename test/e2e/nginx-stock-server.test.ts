import { type ChildProcess, spawn } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { request, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { CreateMessageRequestSchema, ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { buildBundle, defaultServerResource, POLICY_DENIED_ERROR_CODE } from '../../src/index.js'
import { buildPolicy } from '../helpers/build-policy.js'
import {
  findNginx,
  freePort,
  type NginxGateway,
  nginxGatewayDir,
  startNginxGateway,
} from '../helpers/nginx-gateway.js'
import { startTestPdp, type TestPdp } from '../helpers/pdp.js'

// The shipped nginx gateway in front of a stock MCP server nobody here wrote:
// @modelcontextprotocol/server-everything in Streamable HTTP mode (a child process, sessions,
// resumability with priming events, server-initiated requests), the real SDK client, the PDP
// in-process with the reference policy plus a test server `everything`. In CI a missing nginx is a
// failure, elsewhere the suite is skipped (like nginx-gateway.test.ts).
const found = findNginx()
const run = found !== undefined || process.env.CI !== undefined

const everythingResource = defaultServerResource('everything')
// The tools of the server's catalog in the policy data; the role grants only some of them. The
// server offers many more (get-annotated-message, get-tiny-image, …): not in the catalog, never shown.
const catalog = ['echo', 'get-sum', 'get-env', 'get-roots-list', 'trigger-sampling-request']
const granted = ['echo', 'get-roots-list', 'get-sum', 'trigger-sampling-request']
const root = { uri: 'file:///srv/projects/demo', name: 'demo project' }

/** The reference policy and data, plus the server `everything` and a role `tester` granted some of its tools. */
async function buildEverythingBundle(): Promise<{ path: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-everything-'))
  const bundleDir = join(dir, 'bundle')
  await mkdir(bundleDir)
  await copyFile(resolve('bundles/default/.manifest'), join(bundleDir, '.manifest'))
  const data = JSON.parse(await readFile(resolve('bundles/default/data.json'), 'utf8'))
  data.mcp_data.servers.everything = {
    classification: 'internal',
    tools: Object.fromEntries(catalog.map((name) => [name, {}])),
  }
  data.mcp_data.grants.roles.tester = { tools: { everything: granted } }
  await writeFile(join(bundleDir, 'data.json'), JSON.stringify(data))
  return buildBundle({
    bundleDir,
    regoDir: resolve('rego'),
    out: join(dir, 'everything.tar.gz'),
    bundleStore: join(dir, 'store'),
  })
}

/** server-everything in Streamable HTTP mode on a free port, its stdout kept (it logs each request). */
interface Everything {
  url: string
  stdout: () => string
  close: () => Promise<void>
}

async function startEverything(): Promise<Everything> {
  const cwd = await mkdtemp(join(tmpdir(), 'mcp-policy-everything-run-'))
  const port = await freePort()
  const entry = resolve('node_modules/@modelcontextprotocol/server-everything/dist/index.js')
  const child: ChildProcess = spawn(process.execPath, [entry, 'streamableHttp'], {
    cwd,
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString()
  })
  const exited = new Promise<void>((done) => child.once('exit', () => done()))
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`server-everything did not start: ${stderr}`)), 30_000)
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
      if (/listening on port/i.test(stderr)) {
        clearTimeout(timer)
        ready()
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      fail(new Error(`server-everything exited with ${code}: ${stderr}`))
    })
  })
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    stdout: () => stdout,
    close: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
      await rm(cwd, { recursive: true, force: true })
    },
  }
}

const count = (text: string, pattern: RegExp) => (text.match(pattern) ?? []).length

/** The JSON-RPC error the gateway answered, from the SDK client's HTTP error. */
function gatewayDenial(error: unknown): {
  status: number
  body: { error: { code: number; data: Record<string, unknown> } }
} {
  expect(error).toBeInstanceOf(StreamableHTTPError)
  const message = (error as StreamableHTTPError).message
  return {
    status: (error as StreamableHTTPError).code as number,
    body: JSON.parse(message.slice(message.indexOf('{'))),
  }
}

/** Reads an SSE response until `until` matches what came, or `ms` pass; then drops the connection. */
async function readStream(response: Response, until: RegExp, ms: number, abort: AbortController) {
  const reader = response.body!.getReader()
  const decoder = new TextDecoder()
  let text = ''
  const deadline = Date.now() + ms
  try {
    while (!until.test(text) && Date.now() < deadline) {
      const chunk = await Promise.race([
        reader.read(),
        new Promise<undefined>((done) => setTimeout(() => done(undefined), deadline - Date.now())),
      ])
      if (chunk === undefined || chunk.done) break
      text += decoder.decode(chunk.value, { stream: true })
    }
  } finally {
    abort.abort()
    await reader.cancel().catch(() => {})
  }
  return text
}

describe.runIf(run)('nginx + njs gateway in front of a stock MCP server (server-everything)', () => {
  let pdp: TestPdp
  let everything: Everything
  let gateway: NginxGateway
  let token = ''
  const clients: Client[] = []

  beforeAll(async () => {
    if (!found) throw new Error('CI is set but nginx with the njs module is not installed (see .ci/run)')
    const bundle = await buildEverythingBundle()
    pdp = await startTestPdp(bundle.path, {
      normalize: { servers: { everything: { resource: everythingResource } } },
    })
    token = await pdp.token('tess', ['tester'], 'everything')
    everything = await startEverything()
    gateway = await startNginxGateway({ pdp: pdp.url, upstream: everything.url, serverId: 'everything' })
  })

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => {})
    await gateway?.close()
    await everything?.close()
    await pdp?.close()
  })

  /**
   * An SDK client connected through `url`, by default with roots and sampling (answered here);
   * `rootsAsked` settles when the server asks for the roots.
   */
  async function connect(url: string, serverRequests = true) {
    const capabilities = serverRequests ? { roots: { listChanged: true }, sampling: {} } : {}
    const client = new Client({ name: 'e2e-nginx-everything', version: '1.0.0' }, { capabilities })
    let askedRoots: () => void = () => {}
    const rootsAsked = new Promise<void>((done) => {
      askedRoots = done
    })
    const sampled: string[] = []
    if (serverRequests) {
      client.setRequestHandler(ListRootsRequestSchema, async () => {
        askedRoots()
        return { roots: [root] }
      })
      client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
        const content = request.params.messages[0]!.content
        sampled.push('text' in content ? String(content.text) : '')
        return {
          role: 'assistant' as const,
          model: 'gateway-test-model',
          stopReason: 'endTurn',
          content: { type: 'text' as const, text: 'a sampled answer' },
        }
      })
    }
    const transport = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    })
    await client.connect(transport)
    clients.push(client)
    return { client, transport, rootsAsked, sampled }
  }

  /** A raw Streamable HTTP POST through the gateway (or to the server), as the SDK client sends it. */
  function post(url: string, body: unknown, headers: Record<string, string> = {}) {
    return fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-11-25',
        ...headers,
      },
      body: JSON.stringify(body),
    })
  }

  it('lists tools through nginx (priming events and all, no 502), filtered by visible_tools', async () => {
    const { client, rootsAsked } = await connect(gateway.url)
    // The server registers its capability-dependent tools once initialized; it asks for roots after.
    await rootsAsked
    const names = (await client.listTools()).tools.map((t) => t.name).sort()
    expect(names).toEqual(granted)

    // The same server, asked directly, offers far more: the gateway filtered, it did not just relay.
    const direct = await connect(everything.url)
    await direct.rootsAsked
    const all = (await direct.client.listTools()).tools.map((t) => t.name)
    expect(all).toEqual(expect.arrayContaining([...catalog, 'get-annotated-message', 'get-tiny-image']))
    expect(all.length).toBeGreaterThan(names.length + 3)
  })

  it('relays an allowed echo call with the server’s own result (judged at mcp/response)', async () => {
    const { client } = await connect(gateway.url)
    const result = await client.callTool({ name: 'echo', arguments: { message: 'through nginx' } })
    expect(result.content).toEqual([{ type: 'text', text: 'Echo: through nginx' }])
    const sum = await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 40 } })
    expect(sum.content).toEqual([{ type: 'text', text: 'The sum of 2 and 40 is 42.' }])
  })

  it('denies a tool outside the grant with its reason code; the server never sees the call', async () => {
    // No roots or sampling: the server asks this client nothing, so it POSTs only what it is told to.
    const { client } = await connect(gateway.url, false)
    const posts = count(everything.stdout(), /Received MCP POST request/g)
    const { status, body } = gatewayDenial(
      await client.callTool({ name: 'get-env', arguments: {} }).catch((e: unknown) => e),
    )
    expect(status).toBe(403)
    expect(body.error.code).toBe(POLICY_DENIED_ERROR_CODE)
    expect(body.error.data).toMatchObject({ reason: 'not_granted', status: 403 })
    expect(count(everything.stdout(), /Received MCP POST request/g)).toBe(posts)
  })

  it('carries server-initiated requests on the GET stream (roots/list) and the client’s answer back', async () => {
    const { client, transport, rootsAsked } = await connect(gateway.url)
    // The server asks roots/list on its standalone stream (no related request) 350 ms after
    // initialization: only a GET stream through the gateway can carry it.
    await rootsAsked
    expect(everything.stdout()).toContain(`Establishing new SSE stream for session ${transport.sessionId}`)
    const result = await client.callTool({ name: 'get-roots-list', arguments: {} })
    const text = (result.content as { text: string }[])[0]!.text
    expect(text).toContain('Current MCP Roots (1 total)')
    expect(text).toContain(root.uri)
  })

  it('carries a sampling request a tool sends on its own response stream (result judging off)', async () => {
    // Sampling inside a tool call travels on that call's POST response stream. With result judging
    // on, the gateway buffers that response whole, so the question cannot reach the client (docs/nginx.md).
    const streaming = await startNginxGateway({
      pdp: pdp.url,
      upstream: everything.url,
      serverId: 'everything',
      judgeResults: false,
    })
    try {
      const { client, sampled } = await connect(streaming.url)
      const result = await client.callTool({
        name: 'trigger-sampling-request',
        arguments: { prompt: 'say hi', maxTokens: 10 },
      })
      expect(sampled).toEqual(['Resource trigger-sampling-request context: say hi'])
      const text = (result.content as { text: string }[])[0]!.text
      expect(text).toContain('LLM sampling result')
      expect(text).toContain('a sampled answer')
    } finally {
      await streaming.close()
    }
  })

  it('ends the session with DELETE through the gateway', async () => {
    const { client, transport } = await connect(gateway.url)
    await client.ping()
    const sessionId = transport.sessionId!
    expect(sessionId).toEqual(expect.any(String))
    await transport.terminateSession()
    expect(everything.stdout()).toContain(`Received session termination request for session ${sessionId}`)
    expect(transport.sessionId).toBeUndefined()
    // The server forgot the session: a request in it is refused by the server (the PDP allowed it).
    const after = await post(
      gateway.url,
      { jsonrpc: '2.0', id: 9, method: 'ping' },
      { 'mcp-session-id': sessionId },
    )
    expect(after.status).toBe(400)
    expect(await after.text()).toContain('No valid session ID provided')
    expect(await gateway.accessLog()).toMatch(/"DELETE \/mcp HTTP\/1\.1" 200/)
  })

  it('answers GET and DELETE without a valid token with 401 and WWW-Authenticate; the server sees neither', async () => {
    // A session opened by hand (initialize, initialized), so no GET stream is open in it yet.
    const init = await post(gateway.url, {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    })
    expect(init.status).toBe(200)
    await init.text()
    const sessionId = init.headers.get('mcp-session-id')!
    expect(sessionId).toEqual(expect.any(String))
    const session = { 'mcp-session-id': sessionId }
    expect(
      (await post(gateway.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, session)).status,
    ).toBe(202)
    const github = `Bearer ${await pdp.token('tess', ['tester'], 'github')}` // another server's audience
    for (const authorization of [undefined, github, 'Bearer not-a-token']) {
      for (const method of ['GET', 'DELETE']) {
        const headers: Record<string, string> = { accept: 'text/event-stream', ...session }
        if (authorization) headers.authorization = authorization
        const response = await fetch(gateway.url, { method, headers })
        expect(response.status).toBe(401)
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /)
        const body = (await response.json()) as {
          id: unknown
          error: { code: number; data: { reason: string } }
        }
        expect(body).toMatchObject({ id: null, error: { code: POLICY_DENIED_ERROR_CODE } })
        expect(body.error.data.reason).toBe('unauthenticated')
      }
    }
    expect(everything.stdout()).not.toContain(`Establishing new SSE stream for session ${sessionId}`)
    expect(everything.stdout()).not.toContain(`Received session termination request for session ${sessionId}`)
    // The session lives on, and with a valid token the same GET reaches the server.
    const ping = await post(gateway.url, { jsonrpc: '2.0', id: 1, method: 'ping' }, session)
    expect(ping.status).toBe(200)
    expect(await ping.text()).toContain('"result":{}')
    // The stream's headers come at once, before any event (the server's first keep-alive is 15 s away).
    const abort = new AbortController()
    const stream = await fetch(gateway.url, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream', ...session },
      signal: AbortSignal.any([abort.signal, AbortSignal.timeout(5_000)]),
    })
    expect(stream.status).toBe(200)
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/)
    abort.abort()
    expect(everything.stdout()).toContain(`Establishing new SSE stream for session ${sessionId}`)
    // Other methods are not MCP's.
    const put = await fetch(gateway.url, { method: 'PUT', headers: { authorization: `Bearer ${token}` } })
    expect(put.status).toBe(405)
    expect(put.headers.get('allow')).toBe('GET, POST, DELETE')
  })

  it('refuses results replayed on a resumed GET stream (Last-Event-ID), which would bypass filtering', async () => {
    const { rootsAsked, transport } = await connect(gateway.url)
    await rootsAsked
    const session = { 'mcp-session-id': transport.sessionId! }
    // tools/list through the gateway: a priming event (its id a resumption cursor), then the
    // filtered result.
    const listed = await post(gateway.url, { jsonrpc: '2.0', id: 'list-1', method: 'tools/list' }, session)
    expect(listed.status).toBe(200)
    const listedText = await listed.text()
    const priming = /^id: *(\S+)\r?\ndata: *\r?\n/m.exec(listedText)
    expect(priming).not.toBeNull()
    expect(listedText).not.toContain('get-annotated-message')
    const resume = (url: string) => {
      const abort = new AbortController()
      return fetch(url, {
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'text/event-stream',
          'mcp-protocol-version': '2025-11-25',
          'last-event-id': priming![1]!,
          ...session,
        },
        signal: abort.signal,
      }).then((response) => ({ response, abort }))
    }
    // Asked directly, the server replays the whole unfiltered tools/list result after that cursor.
    const direct = await resume(everything.url)
    expect(direct.response.status).toBe(200)
    const replayed = await readStream(direct.response, /"list-1"/, 5_000, direct.abort)
    expect(replayed).toContain('get-annotated-message')
    // Through the gateway, that result becomes a policy error for the same id.
    const through = await resume(gateway.url)
    expect(through.response.status).toBe(200)
    const text = await readStream(through.response, /"list-1"/, 5_000, through.abort)
    expect(text).toContain('"id":"list-1"')
    expect(text).toContain('response_replay_refused')
    expect(text).not.toContain('get-annotated-message')
    expect(text).not.toContain('"tools"')
  })

  it('lets the policy judge a GET stream: the synthetic ping carries context.attributes.http_method', async () => {
    const streamPolicy = await buildPolicy({
      rego: {
        'streams.rego': `package mcp

default decision := {"allow": false, "status": 403, "reasons": [{"code": "server_streams_refused", "message": "no server-initiated stream for this server"}], "obligations": {}}

decision := {"allow": true, "status": 200, "reasons": [], "obligations": {"visible_tools": ["echo"]}} if {
	input.context.attributes.http_method != "GET"
}
`,
      },
    })
    const streamPdp = await startTestPdp(streamPolicy.path, {
      normalize: { servers: { everything: { resource: everythingResource } } },
    })
    const streamGateway = await startNginxGateway({
      pdp: streamPdp.url,
      upstream: everything.url,
      serverId: 'everything',
    })
    try {
      const { client, transport } = await connect(streamGateway.url)
      const response = await fetch(streamGateway.url, {
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'text/event-stream',
          'mcp-session-id': transport.sessionId!,
        },
      })
      expect(response.status).toBe(403)
      expect(((await response.json()) as { error: { data: { reason: string } } }).error.data.reason).toBe(
        'server_streams_refused',
      )
      // POSTs are still allowed.
      expect((await client.callTool({ name: 'echo', arguments: { message: 'x' } })).content).toEqual([
        { type: 'text', text: 'Echo: x' },
      ])
      await streamPdp.close()
      const events = (
        await Promise.all(
          (
            await readdir(streamPdp.logDir)
          )
            .filter((f) => f.endsWith('.jsonl'))
            .map((f) => readFile(join(streamPdp.logDir, f), 'utf8')),
        )
      )
        .join('')
        .trim()
        .split('\n')
        .map(
          (l) =>
            JSON.parse(l) as {
              path: string
              input: {
                mcp: { method?: string; id?: unknown }
                context: { attributes: Record<string, unknown> }
              }
              result: { allow: boolean }
            },
        )
        .filter((e) => e.path === 'mcp/decision')
      const streams = events.filter((e) => e.input.context.attributes.http_method === 'GET')
      expect(streams.length).toBeGreaterThanOrEqual(2) // the SDK client's own GET and the one above
      for (const event of streams) {
        expect(event.input.mcp).toMatchObject({ method: 'ping', id: 'mcp-gateway:GET' })
        expect(event.input.context.attributes.gateway).toBe('nginx')
        expect(event.result.allow).toBe(false)
      }
      expect(events.some((e) => e.input.context.attributes.http_method === 'POST' && e.result.allow)).toBe(
        true,
      )
    } finally {
      await streamGateway.close()
      await streamPdp.close()
    }
  })

  it('sends the upstream’s own Host, so an SDK server with DNS-rebinding protection answers', async () => {
    // createMcpExpressApp on 127.0.0.1 refuses any Host but localhost/127.0.0.1/[::1] (403).
    const app = createMcpExpressApp()
    type Handled = Parameters<StreamableHTTPServerTransport['handleRequest']>
    app.post('/mcp', async (req: Handled[0] & { body: unknown }, res: Handled[1]) => {
      const server = new McpServer({ name: 'rebinding-protected', version: '1.0.0' })
      server.registerTool('echo', { inputSchema: { message: z.string() } }, async ({ message }) => ({
        content: [{ type: 'text', text: `protected: ${message}` }],
      }))
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined })
      await server.connect(transport)
      await transport.handleRequest(req, res, req.body)
    })
    const http: Server = await new Promise((done) => {
      const listening: Server = app.listen(0, '127.0.0.1', () => done(listening))
    })
    const port = (http.address() as { port: number }).port
    const upstream = `http://127.0.0.1:${port}/mcp`
    const protectedGateway = await startNginxGateway({ pdp: pdp.url, upstream, serverId: 'everything' })
    try {
      // The protection is on: the Host nginx used to send (the upstream block's name) is refused.
      const refused = await new Promise<{ status: number; body: string }>((done, fail) => {
        const req = request(upstream, { method: 'POST', headers: { host: 'mcp_server' } }, (res) => {
          let body = ''
          res.on('data', (chunk: Buffer) => {
            body += chunk.toString()
          })
          res.on('end', () => done({ status: res.statusCode ?? 0, body }))
        })
        req.on('error', fail)
        req.end('{}')
      })
      expect(refused.status).toBe(403)
      expect(refused.body).toContain('Invalid Host')
      const client = new Client({ name: 'e2e-nginx-host', version: '1.0.0' })
      await client.connect(
        new StreamableHTTPClientTransport(new URL(protectedGateway.url), {
          requestInit: { headers: { authorization: `Bearer ${token}` } },
        }),
      )
      clients.push(client)
      const result = await client.callTool({ name: 'echo', arguments: { message: 'hi' } })
      expect(result.content).toEqual([{ type: 'text', text: 'protected: hi' }])
    } finally {
      await protectedGateway.close()
      await new Promise((done) => http.close(done))
    }
  })

  it('leaves nothing in the error log of the gateway', async () => {
    const errors = (await gateway.errorLog())
      .split('\n')
      .filter((l) => /\[(error|crit|alert|emerg)\]/.test(l))
    expect(errors).toEqual([])
  })
})

// The SSE and JSON rewriting of mcp-authz.js, loaded in Node (the module is plain JavaScript; the
// nginx-specific parts take a request object). The end-to-end tests above run it in njs itself.
type Message = Record<string, unknown>
type Rewrite = (message: Message) => Message | undefined
interface Authz {
  rewriteMessages: (contentType: string | undefined, text: string, rewrite: Rewrite) => string
  filterStream: (r: FakeRequest, data: Buffer, flags: { last: boolean }) => void
  streamHeaders: (r: FakeRequest) => void
}
interface FakeRequest {
  method: string
  status: number
  headersOut: Record<string, string>
  sent: string[]
  warnings: string[]
  errors: string[]
  sendBuffer: (data: string | Buffer, flags: { last?: boolean; flush?: boolean }) => void
  warn: (text: string) => void
  error: (text: string) => void
}

let loads = 0
/** A fresh instance of mcp-authz.js (njs gives each request its own; Node caches modules by URL). */
async function loadAuthz(): Promise<Authz> {
  const url = `${pathToFileURL(join(nginxGatewayDir, 'mcp-authz.js')).href}?instance=${++loads}`
  return ((await import(url)) as { default: Authz }).default
}

function fakeRequest(method = 'GET', contentType = 'text/event-stream'): FakeRequest {
  const r: FakeRequest = {
    method,
    status: 200,
    headersOut: { 'Content-Type': contentType },
    sent: [],
    warnings: [],
    errors: [],
    sendBuffer: (data, flags) => {
      r.sent.push(`${data.toString()}${flags.last ? '<last>' : ''}`)
    },
    warn: (text) => r.warnings.push(text),
    error: (text) => r.errors.push(text),
  }
  return r
}

describe('mcp-authz.js: Streamable HTTP bodies (SSE per WHATWG, JSON)', () => {
  let authz: Authz
  beforeAll(async () => {
    authz = await loadAuthz()
  })
  const tools = { tools: [{ name: 'echo' }, { name: 'get-env' }] }
  const filtered = { tools: [{ name: 'echo' }] }
  // Replaces the result of request 1, leaves everything else alone.
  const filterTools: Rewrite = (message) =>
    message.id === 1 && message.result ? { ...message, result: filtered } : undefined
  const sse = (text: string) => authz.rewriteMessages('text/event-stream; charset=utf-8', text, filterTools)

  it('relays a priming event (id and empty data) untouched and rewrites the result after it', () => {
    const priming = 'id: 0a1b\nretry: 1000\ndata: \n\n'
    const result = `event: message\nid: 0a1c\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: tools })}\n\n`
    expect(sse(priming + result)).toBe(
      `${priming}event: message\nid: 0a1c\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: filtered })}\n\n`,
    )
    // data: with no space, and a bare `data` line, are empty data too.
    expect(sse('id: 1\ndata:\n\n')).toBe('id: 1\ndata:\n\n')
    expect(sse('id: 1\ndata\n\n')).toBe('id: 1\ndata\n\n')
  })

  it('keeps keep-alive comments and data-less events as they are, between messages', () => {
    const text = `: keepalive\n\nevent: ping\n\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: tools })}\n\n: keepalive\n\n`
    expect(sse(text)).toBe(
      `: keepalive\n\nevent: ping\n\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: filtered })}\n\n: keepalive\n\n`,
    )
  })

  it('joins multi-line data with \\n, with or without the leading space, CRLF or CR line ends', () => {
    const crlf = `id: 7\r\n: a comment inside\r\ndata: {"jsonrpc":"2.0",\r\ndata:"id":1,\r\ndata: "result":${JSON.stringify(tools)}}\r\n\r\n`
    expect(sse(crlf)).toBe(
      `id: 7\r\n: a comment inside\r\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: filtered })}\r\n\r\n`,
    )
    const cr = `data: {"jsonrpc":"2.0","id":1,\rdata: "result":${JSON.stringify(tools)}}\r\r`
    expect(sse(cr)).toBe(`data: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: filtered })}\r\r`)
  })

  it('relays other messages byte for byte and rewrites a result without its closing blank line', () => {
    const notification =
      'data: {"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info"}}\n\n'
    const request = 'data:  {"jsonrpc":"2.0","id":"s1","method":"roots/list"}\n\n'
    const last = `data: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: tools })}`
    expect(sse(notification + request + last)).toBe(
      `${notification}${request}data: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: filtered })}`,
    )
    // A byte order mark opening the stream does not hide the first event.
    expect(sse(`\uFEFFdata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: tools })}\n\n`)).toBe(
      `\uFEFFdata: ${JSON.stringify({ jsonrpc: '2.0', id: 1, result: filtered })}\n\n`,
    )
  })

  it('refuses data it cannot read (the gateway answers 502), and rewrites JSON bodies and batches', () => {
    expect(() => sse('data: {"jsonrpc":\n\n')).toThrow()
    expect(() => authz.rewriteMessages('application/json', '', filterTools)).toThrow()
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, result: tools })
    expect(JSON.parse(authz.rewriteMessages('application/json', body, filterTools))).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: filtered,
    })
    const batch = JSON.stringify([
      { jsonrpc: '2.0', method: 'notifications/progress' },
      { jsonrpc: '2.0', id: 1, result: tools },
    ])
    expect(JSON.parse(authz.rewriteMessages('application/json', batch, filterTools))).toEqual([
      { jsonrpc: '2.0', method: 'notifications/progress' },
      { jsonrpc: '2.0', id: 1, result: filtered },
    ])
    const other = JSON.stringify({ jsonrpc: '2.0', id: 2, result: tools })
    expect(authz.rewriteMessages('application/json', other, filterTools)).toBe(other)
  })
})

describe('mcp-authz.js: the GET stream body filter', () => {
  const result = JSON.stringify({ jsonrpc: '2.0', id: 3, result: { tools: [{ name: 'get-env' }] } })
  const stream = [
    'id: p1\ndata: \n\n',
    ': keepalive\n\n',
    'event: message\nid: e1\ndata: {"jsonrpc":"2.0","id":0,"method":"roots/list"}\n\n',
    `event: message\r\nid: e2\r\ndata: ${result}\r\n\r\n`,
    'data: {"jsonrpc":"2.0","method":"notifications/message","params":{"data":"h\u00e9llo"}}\n\n',
    'data: {"jsonrpc":"2.0","id":4,"error":{"code":-32000,"message":"gone"}}\n\n',
  ].join('')

  /** Feeds `bytes` to a fresh filter in chunks cut at `cuts`. */
  async function feed(bytes: Buffer, cuts: number[], method = 'GET') {
    const authz = await loadAuthz()
    const r = fakeRequest(method)
    authz.streamHeaders(r)
    let at = 0
    for (const cut of [...cuts.sort((a, b) => a - b), bytes.length]) {
      authz.filterStream(r, bytes.subarray(at, cut), { last: false })
      at = cut
    }
    authz.filterStream(r, Buffer.alloc(0), { last: true })
    return r
  }

  it('relays requests, notifications, errors and comments as they came and refuses a replayed result', async () => {
    const bytes = Buffer.from(stream)
    // Cut everywhere: inside a CRLF, inside the UTF-8 of é, between the two \n of a blank line.
    const everyByte = Array.from({ length: bytes.length - 1 }, (_, i) => i + 1)
    for (const cuts of [
      [],
      [1, 2, 3],
      [bytes.indexOf('\r\n') + 1, bytes.indexOf('é') + 1, 40, 41],
      everyByte,
    ]) {
      const r = await feed(bytes, cuts)
      const out = r.sent.join('')
      expect(out.endsWith('<last>')).toBe(true)
      const expected = stream.replace(
        result,
        JSON.stringify({
          jsonrpc: '2.0',
          id: 3,
          error: {
            code: POLICY_DENIED_ERROR_CODE,
            message:
              'the gateway does not relay a result replayed on the GET stream: it could not be checked',
            data: {
              reason: 'response_replay_refused',
              reasons: [
                {
                  code: 'response_replay_refused',
                  message:
                    'the gateway does not relay a result replayed on the GET stream: it could not be checked',
                },
              ],
              status: 403,
            },
          },
        }),
      )
      expect(out).toBe(`${expected}<last>`)
      expect(r.warnings).toHaveLength(1)
    }
  })

  it('sends each complete event at once and holds only an incomplete one', async () => {
    const authz = await loadAuthz()
    const r = fakeRequest()
    authz.filterStream(r, Buffer.from(': keepalive\n\ndata: {"jsonrpc":"2.0",'), { last: false })
    expect(r.sent).toEqual([': keepalive\n\n'])
    // Nothing complete: an empty flush (nginx sends the headers with the first flush).
    authz.filterStream(r, Buffer.from('"method":"ping","id":1}\n'), { last: false })
    expect(r.sent).toEqual([': keepalive\n\n', ''])
    authz.filterStream(r, Buffer.from('\n'), { last: false })
    expect(r.sent[2]).toBe('data: {"jsonrpc":"2.0","method":"ping","id":1}\n\n')
  })

  it('ends the stream when one event outgrows 1 MiB, and relays nothing after', async () => {
    const authz = await loadAuthz()
    const r = fakeRequest()
    authz.filterStream(r, Buffer.from(': before\n\ndata: "'), { last: false })
    for (let i = 0; i < 5; i++) authz.filterStream(r, Buffer.alloc(256 * 1024, 'a'), { last: false })
    authz.filterStream(r, Buffer.from('"\n\n: after\n\n'), { last: false })
    authz.filterStream(r, Buffer.alloc(0), { last: true })
    expect(r.sent.join('')).toBe(': before\n\n<last>')
    expect(r.errors).toHaveLength(1)
  })

  it('leaves out data that is not JSON, and passes other responses (DELETE, JSON) untouched', async () => {
    const r = await feed(Buffer.from('data: not json\n\n: ok\n\n'), [])
    expect(r.sent.join('')).toBe(': ok\n\n<last>')
    const del = await feed(Buffer.from(`data: ${result}\n\n`), [5], 'DELETE')
    expect(del.sent.join('')).toBe(`data: ${result}\n\n<last>`)
  })
})
