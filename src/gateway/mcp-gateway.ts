import { randomUUID } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js'
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { policyDenial } from '../enforce/policy-denial.js'
import { McpPolicyError } from '../errors.js'
import { listenError } from '../listen-error.js'
import { type HeaderBag, withDistinctMcpHeaders } from '../normalize/http-envelope.js'
import { type DecisionCore, openDecisionCore } from '../pdp/decision-core.js'
import type { DecisionPort } from '../pdp/decision-port.js'
import type { McpDecisionResponse } from '../pdp/decision-service.js'
import { isLoopbackHost } from '../pdp/load-pdp-config.js'
import { BoundedEventStore } from './bounded-event-store.js'
import { DecisionPool } from './decision-pool.js'
import {
  decisionCoreConfig,
  type GatewayConfig,
  gatewayBaseUrl,
  type HttpUpstreamConfig,
  type StdioUpstreamConfig,
  upstreamResource,
} from './gateway-config.js'
import { GatewaySession, ownerOf } from './gateway-session.js'
import { GATEWAY_JWKS_PATH, IDENTITY_ASSERTION_HEADER, IdentityAsserter } from './identity-assertion.js'
import { PerClientUpstream } from './per-client-upstream.js'
import {
  authenticationChallenge,
  PROTECTED_RESOURCE_PREFIX,
  protectedResourceMetadata,
  protectedResourceMetadataUrl,
} from './protected-resource.js'
import { SharedStdioUpstream } from './shared-stdio-upstream.js'
import { StatelessFrontEnd } from './stateless-front-end.js'
import type { Upstream } from './upstream-channel.js'

/** A running gateway. */
export interface RunningGateway {
  /** `http://host:port` it listens on. */
  url: string
  port: number
  /** The MCP endpoint of each server: `<url>/mcp/<id>`. */
  endpoints: Record<string, string>
  /** The resource URI (token audience) of each server. */
  resources: Record<string, string>
  /**
   * The main thread's decision core: the bundle source, the identity, and — without decision
   * workers — every decision and its log. With workers, its log chain holds only what no worker
   * could decide (`ERR_GATEWAY_WORKER_FAILED`, `ERR_GATEWAY_OVERLOADED`).
   */
  core: DecisionCore
  /** Where the gateway's decisions are made: `core.service`, or the worker pool. */
  decisions: DecisionPort
  /** The decision worker threads (`workers` ≥ 2), absent when decisions are made in this thread. */
  pool?: DecisionPool
  upstreams: Map<string, Upstream>
  /** Open client sessions. */
  sessionCount(): number
  /** Writes and fsyncs every decision-log chain of the gateway (this thread's and each worker's). */
  flushLogs(): Promise<void>
  /** Stops accepting, closes every session and upstream, flushes the log. */
  close(): Promise<void>
}

/** Options for {@link startGateway}. */
export interface StartGatewayOptions {
  /** Where start-up lines, upstream stderr and restarts go. Default stderr. */
  print?: (line: string) => void
  /** Version reported to upstream servers as the gateway's client version. */
  version?: string
}

const SESSION_HEADER = 'mcp-session-id'

/**
 * Starts `mcp-policy gateway`: a Streamable HTTP front end (the MCP SDK's server transport) that
 * fronts each configured upstream server at `/mcp/<id>`, deciding every message in-process with
 * the same {@link DecisionService} the PDP uses (so its decisions are logged, verified and replayed
 * like the PDP's). Sessions, transports and upstreams live in this one thread; with `workers` ≥ 2
 * the decisions (normalize → decide → log) are made by a {@link DecisionPool} of worker threads,
 * each with its own engine and log chain, every bundle handed to all of them. Per server it
 * publishes OAuth Protected Resource Metadata (RFC 9728) and answers a missing or bad token with
 * 401 and a `WWW-Authenticate` challenge pointing at it. The client's token is not passed
 * upstream; the policy's `headers` obligation and the server's configured headers are.
 *
 * @throws McpPolicyError `ERR_GATEWAY_CONFIG_INVALID` (no servers, unsafe bind), bundle and log errors.
 * @example
 * ```ts
 * const gateway = await startGateway({ ...defaultGatewayConfig(), port: 0,
 *   servers: { filesystem: { command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '/srv'] } } })
 * console.log(gateway.endpoints.filesystem) // http://127.0.0.1:…/mcp/filesystem
 * await gateway.close()
 * ```
 */
export async function startGateway(
  config: GatewayConfig,
  options: StartGatewayOptions = {},
): Promise<RunningGateway> {
  const print = options.print ?? ((line: string) => process.stderr.write(`${line}\n`))
  const ids = Object.keys(config.servers)
  if (ids.length === 0)
    throw new McpPolicyError(
      'ERR_GATEWAY_CONFIG_INVALID',
      'no upstream server configured (servers, or -- COMMAND…)',
    )
  if (!isLoopbackHost(config.host) && !config.identity)
    throw new McpPolicyError(
      'ERR_GATEWAY_CONFIG_INVALID',
      `refusing to listen on ${config.host} with the local dev issuer: configure identity (your SSO's issuer), or bind 127.0.0.1`,
    )
  const server = createServer({
    maxHeaderSize: 16 * 1024,
    headersTimeout: 10_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 5_000,
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(listenError(err, config.host, config.port, 'ERR_GATEWAY_CONFIG_INVALID')),
    )
    server.listen({ host: config.host, port: config.port }, () => resolve())
  })
  const port = (server.address() as AddressInfo).port
  const coreConfig = decisionCoreConfig(config, port)
  // The main thread alone watches the bundle source; each bundle it loads goes on to the workers.
  let latestBundle: { bytes: Uint8Array; origin: string } | undefined
  let pool: DecisionPool | undefined
  let core: DecisionCore
  try {
    core = await openDecisionCore(coreConfig, {
      worker: '0',
      chain: 'gateway',
      onBundle: async (bytes, origin) => {
        latestBundle = { bytes, origin }
        await pool?.loadBundle(bytes, origin)
      },
    })
  } catch (err) {
    server.close()
    throw err
  }
  if (config.workers >= 2) {
    const main = core
    try {
      pool = await DecisionPool.start({
        size: config.workers,
        config: { ...coreConfig, identity: main.identity },
        bundle: () => latestBundle!,
        maxQueued: config.limits.maxQueuedDecisions,
        deadlineMs: config.limits.evaluationDeadlineMs,
        refuse: (facts, error) => main.service.refuse(facts, error),
        print,
      })
    } catch (err) {
      await main.close()
      server.close()
      throw err
    }
  }
  const decisions: DecisionPort = pool ?? core.service
  const base = gatewayBaseUrl(config, port)
  const resources = Object.fromEntries(ids.map((id) => [id, upstreamResource(config, id, port)]))
  const endpoints = Object.fromEntries(ids.map((id) => [id, `${base}/mcp/${id}`]))
  const upstreams = new Map<string, Upstream>()
  for (const id of ids) {
    const upstream = makeUpstream(id, config, print, options.version)
    upstreams.set(id, upstream)
    if (upstream instanceof SharedStdioUpstream) {
      upstream.start().then(
        () => print(`upstream ${id}: ready`),
        () => {}, // reported, and restarted, by the upstream itself
      )
    }
  }
  const sessions = new Map<string, GatewaySession>()
  const issuers = core.identity.issuers.map((i) => i.issuer)
  const wantsAssertions = Object.values(config.servers).some(
    (u) => 'url' in u && u.identityAssertion === true,
  )
  let asserter: IdentityAsserter | undefined
  try {
    asserter = wantsAssertions ? await IdentityAsserter.create(base, config.identityAssertion) : undefined
  } catch (err) {
    await Promise.allSettled([...upstreams.values()].map((u) => u.close()))
    await pool?.close()
    await core.close()
    server.close()
    throw err
  }
  // Clients of a stateless revision (2026-07-28): each POST a whole exchange, no session.
  const stateless = new StatelessFrontEnd({
    config,
    decisions,
    upstreams,
    asserter,
    version: options.version,
  })
  const front = new GatewayFrontEnd({
    asserter,
    stateless,
    config,
    core,
    decisions,
    pool,
    upstreams,
    sessions,
    resources,
    issuers,
  })
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    front.handle(req, res).catch((err: Error) => {
      print(`gateway: ${err.message}`)
      if (!res.headersSent) sendJson(res, 500, rpcError(null, -32603, 'internal gateway error'))
      else res.destroy()
    })
  })
  const sweep = setInterval(() => {
    const idleSince = Date.now() - config.limits.sessionIdleMs
    for (const [id, session] of sessions)
      if (session.lastActive < idleSince) {
        sessions.delete(id)
        session.close().catch(() => {})
      }
  }, 60_000)
  sweep.unref()

  return {
    url: base,
    port,
    endpoints,
    resources,
    core,
    decisions,
    pool,
    upstreams,
    sessionCount: () => sessions.size,
    async flushLogs() {
      await Promise.all([core.log?.flush(), pool?.flush()])
    },
    async close() {
      clearInterval(sweep)
      await core.stopBundleSource()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      await Promise.allSettled([...sessions.values()].map((s) => s.close()))
      sessions.clear()
      await stateless.close()
      await Promise.allSettled([...upstreams.values()].map((u) => u.close()))
      server.closeAllConnections()
      await closed
      // Every worker finishes what it holds, then flushes and fsyncs its chain; this thread's last.
      await pool?.close()
      await core.close()
    },
  }
}

function makeUpstream(
  id: string,
  config: GatewayConfig,
  print: (line: string) => void,
  version: string | undefined,
): Upstream {
  const upstream = config.servers[id]!
  if ('command' in upstream) {
    const stdio = upstream as StdioUpstreamConfig
    if (stdio.sessions !== 'per-client')
      return new SharedStdioUpstream(id, stdio, {
        print,
        maxMessageBytes: config.limits.maxResultBytes,
        requestTimeoutMs: stdio.timeoutMs ?? config.limits.upstreamTimeoutMs,
        clientVersion: version,
      })
    return new PerClientUpstream(
      id,
      () =>
        new StdioClientTransport({
          command: stdio.command,
          args: stdio.args,
          env: { ...getDefaultEnvironment(), ...stdio.env },
          cwd: stdio.cwd,
          stderr: 'inherit',
          maxBufferSize: config.limits.maxResultBytes,
        }),
      { transport: 'stdio' },
    )
  }
  const http = upstream as HttpUpstreamConfig
  const url = new URL(http.url)
  return new PerClientUpstream(
    id,
    (headersFor) => {
      // The configured headers on every request; a request's obligation headers on that request.
      const fetchWithHeaders = async (input: string | URL | Request, init?: RequestInit) => {
        // The SDK transport passes one long-lived signal to every fetch; undici adds an abort
        // listener per request and drops it only when the request is garbage-collected, so a busy
        // session passes Node's listener warning without leaking beyond a GC cycle.
        if (init?.signal) setMaxListeners(0, init.signal)
        const extra = typeof init?.body === 'string' ? headersFor(init.body) : undefined
        if (!extra) return fetch(input, init)
        const headers = new Headers(init?.headers)
        for (const [name, value] of Object.entries(extra)) headers.set(name, value)
        return fetch(input, { ...init, headers })
      }
      const requestInit = { headers: { ...(http.headers ?? {}) } }
      return http.transport === 'sse'
        ? new SSEClientTransport(url, { requestInit, fetch: fetchWithHeaders })
        : new StreamableHTTPClientTransport(url, { requestInit, fetch: fetchWithHeaders })
    },
    { transport: http.transport ?? 'streamable-http' },
  )
}

interface FrontEndParts {
  asserter?: IdentityAsserter
  stateless: StatelessFrontEnd
  config: GatewayConfig
  core: DecisionCore
  decisions: DecisionPort
  pool: DecisionPool | undefined
  upstreams: Map<string, Upstream>
  sessions: Map<string, GatewaySession>
  resources: Record<string, string>
  issuers: string[]
}

/** The HTTP side of the gateway: routes, metadata, decisions that become HTTP answers, sessions. */
class GatewayFrontEnd {
  readonly #parts: FrontEndParts
  /** Sessions being opened (their upstream starting): counted against `maxSessions` too. */
  #opening = 0

  constructor(parts: FrontEndParts) {
    this.#parts = parts
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway')
    const path = url.pathname
    if (path.startsWith(PROTECTED_RESOURCE_PREFIX))
      return this.#metadata(res, path.slice(PROTECTED_RESOURCE_PREFIX.length))
    if (path === GATEWAY_JWKS_PATH && this.#parts.asserter)
      return sendJson(res, 200, this.#parts.asserter.jwks())
    if (path === '/health/live') return sendJson(res, 200, { status: 'ok' })
    if (path === '/health/ready') return this.#ready(res)
    const match = /^\/mcp\/([^/]+)\/?$/.exec(path)
    const id = match ? decodeURIComponent(match[1]!) : undefined
    if (id === undefined || !this.#parts.upstreams.has(id))
      return sendJson(res, 404, rpcError(null, -32601, `no MCP server at ${path.slice(0, 200)}`))
    if (req.method === 'POST') return this.#post(req, res, id)
    if (req.method === 'GET' || req.method === 'DELETE') return this.#streamOrEnd(req, res, id)
    res.setHeader('Allow', 'GET, POST, DELETE')
    return sendJson(res, 405, rpcError(null, -32600, 'method not allowed'))
  }

  #metadata(res: ServerResponse, resourcePath: string): void {
    const { resources, issuers } = this.#parts
    const ids = Object.keys(resources)
    const id =
      ids.find((i) => new URL(resources[i]!).pathname === resourcePath) ??
      (ids.length === 1 && resourcePath === '' ? ids[0] : undefined)
    if (id === undefined) sendJson(res, 404, { error: 'not_found' })
    else sendJson(res, 200, protectedResourceMetadata(resources[id]!, issuers, id))
  }

  #ready(res: ServerResponse): void {
    const upstreams = Object.fromEntries([...this.#parts.upstreams].map(([id, u]) => [id, u.status()]))
    const { core, pool } = this.#parts
    const ready = core.service.engine.bundle !== undefined && (!pool || pool.ready())
    sendJson(res, ready ? 200 : 503, {
      ready,
      sessions: this.#parts.sessions.size,
      upstreams,
      ...core.status(),
      ...(pool && { workers: pool.status() }),
    })
  }

  async #post(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const { config, decisions, sessions } = this.#parts
    const body = await readBody(req, config.limits.maxRequestBytes)
    if (body === undefined) {
      res.setHeader('Connection', 'close')
      return sendJson(
        res,
        413,
        rpcError(null, -32600, `message exceeds ${config.limits.maxRequestBytes} bytes`),
      )
    }
    // Node joins copies of a header: MCP's own are handed over apart, so a copy is refused.
    const headers = withDistinctMcpHeaders(req.headers as HeaderBag, req.headersDistinct)
    const decided = await decisions.decideMessage({
      message: body,
      headers,
      server: id,
      sourceIp: req.socket.remoteAddress,
      host: req.headers.host,
      path: req.url,
    })
    const { response, input } = decided
    // The message exactly as the normalizer parsed and checked it: forwarded, never parsed again.
    const message = decided.message
    const requestId = message?.id ?? null
    const sessionId = header(req, SESSION_HEADER)
    let session = sessionId === undefined ? undefined : sessions.get(sessionId)
    if (!response.allow || !input || !message) {
      const challenge = this.#challenge(response, id, headers)
      if (challenge) {
        res.setHeader('WWW-Authenticate', challenge.header)
        return sendJson(
          res,
          challenge.status,
          rpcError(requestId, -31001, response.reasons[0]?.message ?? 'unauthorized', denialData(response)),
        )
      }
      if (!input || !message) {
        // Not decided: a message that did not normalize is the client's (400); a server-side
        // failure keeps its code's status (errorTable), 503 with a hint to retry.
        const status = response.status >= 500 ? response.status : 400
        if (status === 503) res.setHeader('Retry-After', '1')
        return sendJson(res, status, {
          jsonrpc: '2.0',
          id: null,
          error: policyDenial(response, response.decision_id),
        })
      }
      if (message.method !== undefined && message.id !== undefined)
        return sendJson(res, 200, {
          jsonrpc: '2.0',
          id: message.id,
          error: policyDenial(response, response.decision_id),
        })
      // A denied notification is dropped; a denied answer to the server's request becomes an error to the server.
      if (session && session.owner === ownerOf(input.subject)) {
        const { decision_id, ...decision } = response
        if (message.method === undefined) session.refuseClientResponse(message, decision, decision_id)
      }
      res.statusCode = 202
      return void res.end()
    }
    const approval = response.obligations.require_approval
    if (approval) {
      // The gateway has no human to ask: an obligation it cannot meet is not met (a notification
      // that carries it is dropped).
      const reasons = [
        { code: 'approval_required', message: `a human must approve this call: ${approval.reason}` },
      ]
      if (message.id === undefined || message.method === undefined) {
        res.statusCode = 202
        return void res.end()
      }
      return sendJson(res, 200, {
        jsonrpc: '2.0',
        id: message.id,
        error: policyDenial({ status: 403, reasons }, response.decision_id),
      })
    }
    if (sessionId === undefined && StatelessFrontEnd.handles(message, input)) {
      const { decision_id: decisionId, ...decision } = response
      return this.#parts.stateless.handle(res, {
        serverId: id,
        message,
        input,
        decision,
        decisionId,
        headers,
      })
    }
    const owner = ownerOf(input.subject)
    if (sessionId === undefined) {
      if (message.method !== 'initialize')
        return sendJson(
          res,
          400,
          rpcError(requestId, -32000, 'Bad Request: Mcp-Session-Id header is required'),
        )
      // Each session may hold an upstream session or process: their number is bounded.
      if (sessions.size + this.#opening >= config.limits.maxSessions) {
        res.setHeader('Retry-After', '30')
        return sendJson(
          res,
          503,
          rpcError(requestId, -32603, `the gateway holds ${config.limits.maxSessions} sessions, its bound`, {
            reason: 'ERR_GATEWAY_UPSTREAM_UNAVAILABLE',
          }),
        )
      }
      this.#opening++
      const opened = await this.#openSession(id, owner).finally(() => {
        this.#opening--
      })
      if (!opened)
        return sendJson(
          res,
          200,
          rpcError(requestId, -32603, `${id} cannot be reached`, {
            reason: 'ERR_GATEWAY_UPSTREAM_UNAVAILABLE',
          }),
        )
      session = opened
    } else if (!session || session.owner !== owner || session.serverId !== id) {
      // A session is its opener's, at the server it was opened at: to anyone else, and through any
      // other server's endpoint (decided for that server), it does not exist.
      return sendJson(res, 404, rpcError(requestId, -32001, 'Session not found'))
    }
    const { decision_id: decisionId, ...decision } = response
    if (!(await session.admit(message, input, decision, decisionId, headers)))
      return sendJson(
        res,
        200,
        rpcError(requestId, -32600, 'a request with this id is still in flight in this session'),
      )
    try {
      await session.transport.handleRequest(req, res, message)
    } finally {
      session.settle(message)
      // An initialize the transport refused (Accept, Content-Type, shape) opened no session: its
      // upstream channel (a process, a connection) goes now, not never.
      const registered =
        session.transport.sessionId !== undefined && sessions.has(session.transport.sessionId)
      if (sessionId === undefined && !registered) await session.close()
    }
  }

  /** GET opens the standalone SSE stream, DELETE ends the session: both only for the session's owner. */
  async #streamOrEnd(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const { decisions, sessions } = this.#parts
    const sessionId = header(req, SESSION_HEADER)
    const headers = req.headers as HeaderBag
    // Judged as the caller's ping: the token must verify for this server and the policy let it in.
    const { response, input } = await decisions.decideMessage({
      message: { jsonrpc: '2.0', id: `gateway-${req.method?.toLowerCase()}`, method: 'ping' },
      headers,
      server: id,
      sourceIp: req.socket.remoteAddress,
      host: req.headers.host,
      path: req.url,
    })
    if (!response.allow || !input) {
      const challenge = this.#challenge(response, id, headers)
      if (challenge) res.setHeader('WWW-Authenticate', challenge.header)
      return sendJson(res, challenge?.status ?? 403, {
        jsonrpc: '2.0',
        id: null,
        error: policyDenial(response, response.decision_id),
      })
    }
    const session = sessionId === undefined ? undefined : sessions.get(sessionId)
    if (!session || session.owner !== ownerOf(input.subject) || session.serverId !== id)
      return sendJson(res, sessionId === undefined ? 400 : 404, rpcError(null, -32001, 'Session not found'))
    session.lastHeaders = headers
    session.lastActive = Date.now()
    await session.transport.handleRequest(req, res)
  }

  async #openSession(id: string, owner: string): Promise<GatewaySession | undefined> {
    const { config, decisions, upstreams, sessions } = this.#parts
    let channel: Awaited<ReturnType<Upstream['open']>>
    try {
      channel = await upstreams.get(id)!.open()
    } catch {
      return undefined
    }
    const upstreamConfig = config.servers[id]!
    let session!: GatewaySession
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      // Resumption needs recent events only: a few MiB per session, not every large result.
      eventStore: new BoundedEventStore({ maxBytes: 4 * 1024 * 1024 }),
      onsessioninitialized: (sessionId) => {
        sessions.set(sessionId, session)
      },
      onsessionclosed: (sessionId) => {
        sessions.delete(sessionId)
        session.close().catch(() => {})
      },
      // Checked before the transport sees a request: the front end already bounded the body.
      maxRequestBodySize: config.limits.maxRequestBytes,
    })
    const asserter = this.#parts.asserter
    const audience = 'url' in upstreamConfig ? upstreamConfig.url : undefined
    session = new GatewaySession(transport, channel, {
      decisions,
      serverId: id,
      destination: upstreamConfig.destination,
      forwardClientToken: 'url' in upstreamConfig && upstreamConfig.forwardClientToken === true,
      owner,
      assert:
        asserter && audience && 'url' in upstreamConfig && upstreamConfig.identityAssertion
          ? async (input, decisionId) => ({
              [IDENTITY_ASSERTION_HEADER]: await asserter.sign({
                subject: input.subject,
                decisionId,
                audience,
                server: id,
              }),
            })
          : undefined,
    })
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId)
      session.close().catch(() => {})
    }
    return session
  }

  #challenge(response: McpDecisionResponse, id: string, headers: HeaderBag) {
    const metadataUrl = protectedResourceMetadataUrl(this.#parts.resources[id]!)
    return authenticationChallenge(response, metadataUrl, headers.authorization !== undefined)
  }
}

function denialData(response: McpDecisionResponse): Record<string, unknown> {
  return policyDenial(response, response.decision_id).data
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return Array.isArray(value) ? value[0] : value
}

function rpcError(id: unknown, code: number, message: string, data?: Record<string, unknown>) {
  return { jsonrpc: '2.0', id: id ?? null, error: { code, message, ...(data ? { data } : {}) } }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(text),
  })
  res.end(text)
}

/** The request body, or undefined once it passes `limit` bytes (the rest is not read). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) return undefined
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > limit) return undefined
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}
