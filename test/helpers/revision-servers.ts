import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { McpServer as McpServerV1 } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js'
import {
  createMcpHandler,
  type McpServerFactory,
  McpServer as McpServerV2,
} from '@modelcontextprotocol/server'
import * as z from 'zod/v4'

// The same issue tracker served by each MCP SDK: v2 (`@modelcontextprotocol/server`, the
// 2026-07-28 revision with the stateless fallback for earlier clients) and v1
// (`@modelcontextprotocol/sdk` 1.x, sessions, up to 2025-11-25). Its tools answer so that the
// reference policy has something to judge: an email (personal data, redacted on its way to a
// public model), an AWS key (a secret, blocked), plain text.

/** The tracker's tools: name → what it answers. */
export const TRACKER_TOOLS: Record<string, (args: { number?: number; title?: string }) => string> = {
  get_issue: ({ number }) => `issue ${number ?? 0}: reported by alice@example.com`,
  list_issues: () => 'issues: 1, 2, 3 (deploy key AKIAIOSFODNN7EXAMPLE)',
  create_issue: ({ title }) => `created: ${title ?? ''}`,
  delete_repository: () => 'deleted',
}

const ARGS = { number: z.number().optional(), title: z.string().optional() }

/** A running test server. */
export interface RunningMcpServer {
  url: string
  /** The requests it received, in order: method, headers, body. */
  received: { method?: string; headers: IncomingMessage['headers']; body: unknown }[]
  close(): Promise<void>
}

/** The tracker on the v2 SDK: `createMcpHandler` on `node:http` (2026-07-28, and stateless legacy). */
export async function startV2Tracker(): Promise<RunningMcpServer> {
  return serveV2(() => {
    const server = new McpServerV2({ name: 'tracker-v2', version: '2.0.0' })
    for (const [name, answer] of Object.entries(TRACKER_TOOLS))
      server.registerTool(name, { description: name, inputSchema: z.object(ARGS) }, async (args) => ({
        content: [{ type: 'text', text: answer(args) }],
      }))
    return server
  })
}

/**
 * A v2 SDK server from `factory` (one instance per HTTP request), served by `createMcpHandler` on
 * `node:http` at 127.0.0.1: 2026-07-28, and earlier revisions through its stateless fallback.
 */
export async function serveV2(factory: McpServerFactory): Promise<RunningMcpServer> {
  const handler = createMcpHandler(factory)
  return listen(async (req, res, body, record) => {
    record(body)
    const request = new Request(`http://127.0.0.1${req.url}`, {
      method: req.method,
      headers: Object.entries(req.headers).flatMap(([k, v]) =>
        v === undefined
          ? []
          : Array.isArray(v)
            ? v.map((x) => [k, x] as [string, string])
            : [[k, v] as [string, string]],
      ),
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : new Uint8Array(body),
    })
    const response = await handler.fetch(request)
    response.headers.forEach((value, name) => {
      res.setHeader(name, value)
    })
    res.writeHead(response.status)
    if (!response.body) return void res.end()
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) res.write(chunk)
    res.end()
  })
}

/** The tracker on the v1 SDK: a Streamable HTTP server with sessions (up to 2025-11-25). */
export async function startV1Tracker(): Promise<RunningMcpServer> {
  const sessions = new Map<string, StreamableHTTPServerTransport>()
  return listen(async (req, res, body, record) => {
    const parsed = body.length > 0 ? JSON.parse(body.toString('utf8')) : undefined
    record(body)
    const sessionId = req.headers['mcp-session-id']
    let transport = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined
    if (!transport) {
      if (req.method !== 'POST' || !isInitializeRequest(parsed)) {
        res.writeHead(400, { 'content-type': 'application/json' })
        return void res.end(
          JSON.stringify({
            jsonrpc: '2.0',
            id: null,
            error: { code: -32000, message: 'Bad Request: Server not initialized' },
          }),
        )
      }
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, created)
        },
      })
      created.onclose = () => {
        if (created.sessionId) sessions.delete(created.sessionId)
      }
      const server = new McpServerV1({ name: 'tracker-v1', version: '1.0.0' })
      for (const [name, answer] of Object.entries(TRACKER_TOOLS))
        server.registerTool(name, { description: name, inputSchema: ARGS }, async (args) => ({
          content: [{ type: 'text', text: answer(args) }],
        }))
      await server.connect(created)
      transport = created
    }
    await transport.handleRequest(req, res, parsed)
  })
}

async function listen(
  handle: (
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    record: (body: Buffer) => void,
  ) => Promise<void>,
): Promise<RunningMcpServer> {
  const received: RunningMcpServer['received'] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      const record = (b: Buffer) => {
        let parsed: unknown
        try {
          parsed = b.length > 0 ? JSON.parse(b.toString('utf8')) : undefined
        } catch {
          parsed = b.toString('utf8')
        }
        received.push({ method: req.method, headers: req.headers, body: parsed })
      }
      handle(req, res, body, record).catch((err: Error) => {
        if (!res.headersSent) res.writeHead(500).end(err.message)
        else res.destroy()
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
