import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import { z } from 'zod'

/** A secret the sample server leaks in a tool result (AWS's documented example key id). */
export const leakedAwsKey = 'AKIAIOSFODNN7EXAMPLE'

/**
 * A running sample MCP server on loopback.
 *
 * @internal
 */
export interface SampleMcpServer {
  url: string
  /** Tool calls the server actually executed, by tool name: a denied call must never get here. */
  executed: string[]
  close: () => Promise<void>
}

/**
 * A GitHub-like MCP server built with the real SDK (`McpServer` over stateless
 * `StreamableHTTPServerTransport`) on 127.0.0.1, serving `/mcp`. `wrap` lets a test put a policy
 * enforcement point around each transport; without it the server enforces nothing (it sits behind
 * a gateway).
 *
 * @internal
 */
export async function startSampleMcpServer(
  wrap: (transport: Transport) => Transport = (t) => t,
  options: { sessions?: boolean } = {},
): Promise<SampleMcpServer> {
  const executed: string[] = []
  const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] })
  const mcpServer = () => {
    const server = new McpServer({ name: 'sample-github', version: '1.0.0' })
    server.registerTool('get_issue', { inputSchema: { number: z.number() } }, ({ number }) => {
      executed.push('get_issue')
      return text(`Issue #${number}: login fails on the settings page`)
    })
    server.registerTool('get_file_contents', { inputSchema: { path: z.string() } }, ({ path }) => {
      executed.push('get_file_contents')
      return text(`${path}:\naws_access_key_id = ${leakedAwsKey}\nregion = eu-west-1`)
    })
    server.registerTool('create_issue', { inputSchema: { title: z.string() } }, ({ title }) => {
      executed.push('create_issue')
      return text(`created issue #43: ${title}`)
    })
    server.registerTool('delete_repository', { inputSchema: { repo: z.string() } }, ({ repo }) => {
      executed.push('delete_repository')
      return text(`deleted ${repo}`)
    })
    server.registerTool('run_shell', { inputSchema: { command: z.string() } }, ({ command }) => {
      executed.push('run_shell')
      return text(`ran ${command}`)
    })
    return server
  }

  // With sessions: one server and transport per Mcp-Session-Id, created at initialize.
  const sessions = new Map<string, StreamableHTTPServerTransport>()
  const handleInSession = async (req: IncomingMessage, res: ServerResponse) => {
    const id = req.headers['mcp-session-id']
    let transport = typeof id === 'string' ? sessions.get(id) : undefined
    if (!transport) {
      if (id !== undefined) {
        res.writeHead(404).end()
        return
      }
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sessionId) => {
          sessions.set(sessionId, created)
        },
      })
      created.onclose = () => {
        if (created.sessionId) sessions.delete(created.sessionId)
      }
      await mcpServer().connect(wrap(created))
      transport = created
    }
    await transport.handleRequest(req, res)
  }

  const http: Server = createServer(async (req, res) => {
    if (!req.url?.startsWith('/mcp')) {
      res.writeHead(404).end()
      return
    }
    if (options.sessions) {
      await handleInSession(req, res)
      return
    }
    // Stateless: one server and transport per HTTP request, as the SDK documents for scale-out.
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined })
    const server = mcpServer()
    res.on('close', () => {
      void transport.close()
      void server.close()
    })
    try {
      await server.connect(wrap(transport))
      await transport.handleRequest(req, res)
    } catch {
      if (!res.headersSent) res.writeHead(500).end()
    }
  })
  const port = await listen(http)
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    executed,
    close: async () => {
      for (const transport of sessions.values()) await transport.close()
      await closeServer(http)
    },
  }
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port))
  })
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}
