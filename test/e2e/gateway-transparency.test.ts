import { type ChildProcess, spawn } from 'node:child_process'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultServerResource } from '../../src/index.js'
import { buildPolicy } from '../helpers/build-policy.js'
import { connectClient, startTestGateway, stockServers, type TestGateway } from '../helpers/gateway.js'
import { findNginx, type NginxGateway, startNginxGateway } from '../helpers/nginx-gateway.js'
import { startTestPdp, type TestPdp } from '../helpers/pdp.js'

// A gateway must be transparent to every message the policy allows. With a policy that allows
// every authenticated message, each MCP feature of the stock server-everything is driven directly
// and through the gateway — stdio (one shared process) and Streamable HTTP (a session per
// client) — and through nginx with the PDP (src/gateway/nginx, result judging off: with it on, a
// request the server sends from inside a tool cannot pass, a documented limit) — and the answers
// compared. Under CI a missing nginx is a failure.

const nginx = findNginx()
const runNginx = nginx !== undefined || process.env.CI !== undefined

const ALLOW_AUTHENTICATED = `package mcp

default decision := {
	"allow": false, "status": 401, "obligations": {},
	"reasons": [{"code": "unauthenticated", "message": "a verified identity is required"}],
}

decision := {"allow": true, "status": 200, "reasons": [], "obligations": {"visible_tools": data.visible_tools}} if {
	input.subject.authenticated == true
}

response := {"allow": true, "redactions": [], "reasons": []}
`

const CAPABILITIES = { sampling: {}, elicitation: {}, roots: { listChanged: true } }

/** Answers the server's requests as a user and model would, and records its notifications. */
function instrument(client: Client) {
  const seen = { logs: 0, updates: [] as string[] }
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => ({
    role: 'assistant',
    model: 'test-model',
    content: { type: 'text', text: `sampled: ${JSON.stringify(request.params.messages[0]?.content)}` },
  }))
  client.setRequestHandler(ElicitRequestSchema, async () => ({
    action: 'accept',
    content: { color: 'blue', number: 7, pets: 'cats' },
  }))
  client.setRequestHandler(ListRootsRequestSchema, async () => ({
    roots: [{ uri: 'file:///work', name: 'work' }],
  }))
  client.setNotificationHandler(LoggingMessageNotificationSchema, async () => {
    seen.logs++
  })
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, async (n) => {
    seen.updates.push(n.params.uri)
  })
  return seen
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 100))
  return check()
}

/** Every feature, each reduced to what must be equal on both paths (ids, random parts left out). */
async function exercise(client: Client): Promise<Record<string, unknown>> {
  const seen = instrument(client)
  const out: Record<string, unknown> = {}
  const call = (name: string, args: Record<string, unknown> = {}) =>
    client.callTool({ name, arguments: args })
  out.tools = (await client.listTools()).tools.map((t) => t.name).sort()
  out.echo = await call('echo', { message: 'transparent' })
  out.sum = await call('get-sum', { a: 2, b: 40 })
  out.image = await call('get-tiny-image')
  out.annotated = await call('get-annotated-message', { messageType: 'error', includeImage: true })
  out.resourceReference = await call('get-resource-reference', { resourceType: 'Text', resourceId: 2 })
  out.structured = await call('get-structured-content', { location: 'Chicago' })
  const progress: number[] = []
  await client.callTool(
    { name: 'trigger-long-running-operation', arguments: { duration: 1, steps: 3 } },
    undefined,
    {
      onprogress: (p) => progress.push(p.progress),
    },
  )
  // The last notification may race the result on any path (the SDK drops progress after the answer).
  out.progress = progress.length >= 2 && progress.every((p, i) => i === 0 || p > progress[i - 1]!)
  out.sampling = await call('trigger-sampling-request', { prompt: 'hello', maxTokens: 5 })
  out.elicitation = await call('trigger-elicitation-request')
  out.roots = await call('get-roots-list')
  const resources = await client.listResources()
  out.resources = resources.resources.map((r) => r.uri).sort()
  out.templates = (await client.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate).sort()
  out.read = await client.readResource({ uri: resources.resources[0]!.uri })
  out.prompts = (await client.listPrompts()).prompts.map((p) => p.name).sort()
  out.simplePrompt = await client.getPrompt({ name: 'simple-prompt' })
  out.argsPrompt = await client.getPrompt({ name: 'args-prompt', arguments: { city: 'Lisbon', state: 'PT' } })
  out.completion = await client.complete({
    ref: { type: 'ref/prompt', name: 'completable-prompt' },
    argument: { name: 'department', value: 'E' },
  })
  await client.setLoggingLevel('debug')
  await call('toggle-simulated-logging')
  out.logging = await until(() => seen.logs > 0, 8_000)
  await call('toggle-simulated-logging')
  const subscribed = resources.resources[0]!.uri
  await client.subscribeResource({ uri: subscribed })
  await call('toggle-subscriber-updates')
  out.subscription = await until(() => seen.updates.includes(subscribed), 8_000)
  await call('toggle-subscriber-updates')
  await client.unsubscribeResource({ uri: subscribed })
  out.ping = await client.ping()
  // Dynamic resources carry the time they were made: the one part that may differ.
  return JSON.parse(JSON.stringify(out).replace(/\d{1,2}:\d{2}:\d{2}\s?[AP]M/g, '<time>'))
}

describe('the gateway is transparent to what the policy allows (server-everything, every feature)', () => {
  let gateway: TestGateway
  let httpServer: ChildProcess
  let httpUrl = ''
  let sseServer: ChildProcess
  let sseUrl = ''
  let toolNames: string[] = []
  let bundlePath = ''
  const clients: Client[] = []
  const stop: (() => Promise<void>)[] = []

  beforeAll(async () => {
    // The tool list the policy shows is the server's own, read directly first.
    const probe = new Client({ name: 'probe', version: '1' }, { capabilities: CAPABILITIES })
    await probe.connect(
      new StdioClientTransport({ command: process.execPath, args: [stockServers.everything, 'stdio'] }),
    )
    toolNames = (await probe.listTools()).tools.map((t) => t.name)
    await probe.close()
    const port = 20_000 + Math.floor(Math.random() * 20_000)
    httpServer = spawn(process.execPath, [stockServers.everything, 'streamableHttp'], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    await new Promise<void>((resolve, reject) => {
      httpServer.stderr!.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) resolve()
      })
      httpServer.once('exit', (code) => reject(new Error(`server-everything exited ${code}`)))
    })
    httpUrl = `http://127.0.0.1:${port}/mcp`
    const ssePort = port + 1
    sseServer = spawn(process.execPath, [stockServers.everything, 'sse'], {
      env: { ...process.env, PORT: String(ssePort) },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    await new Promise<void>((resolve, reject) => {
      sseServer.stderr!.on('data', (d: Buffer) => {
        if (d.toString().includes('running on port')) resolve()
      })
      sseServer.once('exit', (code) => reject(new Error(`server-everything (sse) exited ${code}`)))
    })
    sseUrl = `http://127.0.0.1:${ssePort}/sse`
    const bundle = await buildPolicy({
      rego: { 'allow.rego': ALLOW_AUTHENTICATED },
      data: { visible_tools: toolNames },
    })
    bundlePath = bundle.path
    gateway = await startTestGateway(bundle.path, {
      'everything-stdio': { command: process.execPath, args: [stockServers.everything, 'stdio'] },
      'everything-http': { url: httpUrl },
      'everything-sse': { url: sseUrl, transport: 'sse' },
    })
  })

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()))
    await gateway?.close()
    for (const close of stop) await close().catch(() => {})
    httpServer?.kill()
    sseServer?.kill()
  })

  /** Both clients driven through every feature; what the gateway path answers must equal the direct one. */
  async function compare(
    direct: Transport,
    endpoint: string,
    token: string,
  ): Promise<Record<string, unknown>> {
    const directClient = new Client({ name: 'direct', version: '1' }, { capabilities: CAPABILITIES })
    clients.push(directClient)
    await directClient.connect(direct)
    const viaGateway = await connectClient(endpoint, token, CAPABILITIES)
    clients.push(viaGateway)
    const [expected, actual] = [await exercise(directClient), await exercise(viaGateway)]
    expect(actual).toEqual(expected)
    return expected
  }

  const viaGateway = async (id: string) =>
    [gateway.endpoints[id]!, await gateway.token('alice', ['developer'], id)] as const

  it('over stdio: directly and through the gateway (one shared process), the same answers', async () => {
    const stdio = new StdioClientTransport({
      command: process.execPath,
      args: [stockServers.everything, 'stdio'],
    })
    const expected = await compare(stdio, ...(await viaGateway('everything-stdio')))
    expect(expected.tools).toEqual([...toolNames].sort())
  }, 120_000)

  it('over Streamable HTTP: directly and through the gateway (a session per client), the same answers', async () => {
    await compare(
      new StreamableHTTPClientTransport(new URL(httpUrl)),
      ...(await viaGateway('everything-http')),
    )
  }, 120_000)

  it('over the legacy HTTP+SSE transport: directly and through the gateway, the same answers', async () => {
    await compare(new SSEClientTransport(new URL(sseUrl)), ...(await viaGateway('everything-sse')))
  }, 120_000)

  it.runIf(runNginx)(
    'over Streamable HTTP: directly and through nginx + the PDP, the same answers',
    async () => {
      if (!nginx) throw new Error('CI is set but nginx with the njs module is not installed (see .ci/run)')
      const pdp: TestPdp = await startTestPdp(bundlePath, {
        normalize: { servers: { 'everything-http': { resource: defaultServerResource('everything-http') } } },
      })
      stop.push(() => pdp.close())
      const proxy: NginxGateway = await startNginxGateway({
        pdp: pdp.url,
        upstream: httpUrl,
        serverId: 'everything-http',
        judgeResults: false,
      })
      stop.push(() => proxy.close())
      await compare(
        new StreamableHTTPClientTransport(new URL(httpUrl)),
        proxy.url,
        await pdp.token('alice', ['developer'], 'everything-http'),
      )
    },
    120_000,
  )
})
