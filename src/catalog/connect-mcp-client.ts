import type { Stream } from 'node:stream'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { SSEClientTransport, SseError } from '@modelcontextprotocol/sdk/client/sse.js'
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { McpPolicyError } from '../errors.js'
import { printable } from './printable.js'

/**
 * Where a catalog is read from: a server started as a child process and spoken to over stdio, or
 * one reached over HTTP (Streamable HTTP, or the legacy HTTP+SSE transport of MCP 2024-11-05).
 */
export type CatalogSource =
  | {
      kind: 'stdio'
      command: string
      args?: string[]
      /** Added to the SDK's default environment (HOME, PATH, …): the server sees nothing else. */
      env?: Record<string, string>
      cwd?: string
    }
  | {
      kind: 'http'
      url: string
      /** Sent with every request, e.g. `{ Authorization: 'Bearer …' }`. */
      headers?: Record<string, string>
    }

/**
 * An initialized SDK client and how it got there.
 *
 * @internal
 */
export interface CatalogConnection {
  client: Client
  transport: 'stdio' | 'streamable-http' | 'sse'
  /** Ends the session and, for stdio, stops the server process. */
  close: () => Promise<void>
}

/**
 * How long connecting and each list request may take, in milliseconds.
 *
 * @internal
 */
export interface ConnectOptions {
  timeoutMs?: number
}

/** The client announces itself as this; it asks for no client capabilities (no roots, no sampling). */
const CLIENT_INFO = { name: 'mcp-policy-catalog', version: '1' }

/** Server stderr kept for the error message when it fails to start: the end is where the cause is. */
const STDERR_TAIL = 4000

/**
 * Connects the official SDK client to an MCP server and runs the initialize handshake. Over HTTP
 * it tries Streamable HTTP first and falls back to the legacy HTTP+SSE transport when the server
 * answers the initialize POST with a 4xx other than 401/403, as the MCP specification's
 * backwards-compatibility section describes (an auth failure is reported, not retried on SSE).
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_CATALOG_CONNECT_FAILED` when the server cannot be started, reached or
 *   initialized in time; for stdio the message ends with the tail of the server's stderr.
 * @example
 * ```ts
 * const { client, close } = await connectMcpClient({ kind: 'stdio', command: 'node', args: ['server.js'] })
 * try { console.log(client.getServerVersion()) } finally { await close() }
 * ```
 */
export async function connectMcpClient(
  source: CatalogSource,
  options: ConnectOptions = {},
): Promise<CatalogConnection> {
  const timeout = options.timeoutMs ?? 30_000
  return source.kind === 'stdio' ? connectStdio(source, timeout) : connectHttp(source, timeout)
}

async function connectStdio(
  source: Extract<CatalogSource, { kind: 'stdio' }>,
  timeout: number,
): Promise<CatalogConnection> {
  const transport = new StdioClientTransport({
    command: source.command,
    args: source.args ?? [],
    env: { ...getDefaultEnvironment(), ...source.env },
    ...(source.cwd ? { cwd: source.cwd } : {}),
    stderr: 'pipe',
  })
  const stderr = collectTail(transport.stderr)
  const client = new Client(CLIENT_INFO, { capabilities: {} })
  try {
    await client.connect(transport, { timeout })
  } catch (err) {
    await client.close().catch(() => {})
    const command = [source.command, ...(source.args ?? [])].join(' ')
    const tail = printable(await stderr()).trim()
    throw new McpPolicyError(
      'ERR_CATALOG_CONNECT_FAILED',
      `MCP server '${printable(command)}' did not start or initialize: ${describe(err)}${tail ? `; its stderr ends with:\n${tail}` : ' (nothing on its stderr)'}`,
      { cause: err },
    )
  }
  return { client, transport: 'stdio', close: () => client.close().catch(() => {}) }
}

async function connectHttp(
  source: Extract<CatalogSource, { kind: 'http' }>,
  timeout: number,
): Promise<CatalogConnection> {
  let url: URL
  try {
    url = new URL(source.url)
  } catch (err) {
    throw new McpPolicyError('ERR_CATALOG_CONNECT_FAILED', `not a URL: ${printable(source.url)}`, {
      cause: err,
    })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new McpPolicyError(
      'ERR_CATALOG_CONNECT_FAILED',
      `the URL must be http: or https:, got ${url.protocol}`,
    )
  const requestInit: RequestInit = { headers: source.headers ?? {} }
  const streamable = new StreamableHTTPClientTransport(url, { requestInit })
  const client = new Client(CLIENT_INFO, { capabilities: {} })
  try {
    await client.connect(streamable, { timeout })
    return {
      client,
      transport: 'streamable-http',
      close: async () => {
        // A stateful server keeps the session until told: end it (servers without sessions answer 405).
        await streamable.terminateSession().catch(() => {})
        await client.close().catch(() => {})
      },
    }
  } catch (err) {
    await client.close().catch(() => {})
    if (!legacyServer(err)) throw connectFailed(url, err)
  }
  const sse = new SSEClientTransport(url, { requestInit })
  const legacy = new Client(CLIENT_INFO, { capabilities: {} })
  try {
    await legacy.connect(sse, { timeout })
  } catch (err) {
    await legacy.close().catch(() => {})
    throw connectFailed(
      url,
      err,
      ' (nor over the legacy HTTP+SSE transport, after Streamable HTTP was refused)',
    )
  }
  return { client: legacy, transport: 'sse', close: () => legacy.close().catch(() => {}) }
}

/** A 4xx to the initialize POST, other than an authentication or authorization failure. */
function legacyServer(err: unknown): boolean {
  if (!(err instanceof StreamableHTTPError) || err.code === undefined) return false
  return err.code >= 400 && err.code < 500 && err.code !== 401 && err.code !== 403
}

// The URL is printed without credentials or query (a token can sit in either); headers never are.
function connectFailed(url: URL, err: unknown, note = ''): McpPolicyError {
  const shown = `${url.protocol}//${url.host}${url.pathname}`
  // The SDK's HTTP errors carry the status as `code` but do not always say it in the message.
  const status =
    (err instanceof StreamableHTTPError || err instanceof SseError) &&
    typeof err.code === 'number' &&
    err.code > 0
      ? `HTTP ${err.code}: `
      : ''
  return new McpPolicyError(
    'ERR_CATALOG_CONNECT_FAILED',
    `could not initialize an MCP session with ${printable(shown)}${note}: ${status}${describe(err)}`,
    { cause: err },
  )
}

function describe(err: unknown): string {
  return printable(err instanceof Error ? err.message : String(err))
}

/**
 * Keeps the last {@link STDERR_TAIL} characters a stream produced, for an error message. Reading it
 * waits (briefly) for the stream to end: a server that crashed at start has often written its
 * stack trace to the pipe after the client already saw the connection close.
 */
function collectTail(stream: Stream | null): () => Promise<string> {
  let tail = ''
  const ended = new Promise<void>((resolve) => {
    if (!stream) return resolve()
    stream.on('data', (chunk: Buffer | string) => {
      tail = (tail + chunk.toString()).slice(-STDERR_TAIL)
    })
    stream.on('end', resolve)
    stream.on('close', resolve)
    stream.on('error', () => resolve())
  })
  return async () => {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)))])
    clearTimeout(timer)
    return tail
  }
}
