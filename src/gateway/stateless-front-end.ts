import type { ServerResponse } from 'node:http'
import type { RequestId } from '@modelcontextprotocol/sdk/types.js'
import { policyDenial } from '../enforce/policy-denial.js'
import type { Decision } from '../engine/decision.js'
import type { HeaderBag } from '../normalize/http-envelope.js'
import type { InputDocument } from '../normalize/input-document.js'
import type { McpMessage as Message } from '../normalize/mcp-message.js'
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  FIRST_STATELESS_REVISION,
  isStatelessRevision,
  PROTOCOL_VERSION_META_KEY,
} from '../normalize/request-meta.js'
import { encodeHeaderValue, mcpNameField } from '../normalize/routing-headers.js'
import type { AdmittedRequest, DecisionPort } from '../pdp/decision-port.js'
import { sendJson } from '../pdp/http/respond.js'
import { enforceAnswer } from './answer-enforcement.js'
import type { GatewayConfig, HttpUpstreamConfig } from './gateway-config.js'
import { ownerOf } from './gateway-session.js'
import { IDENTITY_ASSERTION_HEADER, type IdentityAsserter } from './identity-assertion.js'
import { LegacyBridge } from './legacy-bridge.js'
import { sseMessages } from './sse-messages.js'
import { type Upstream, type UpstreamHeaders, upstreamUnavailable } from './upstream-channel.js'

const SERVER_INFO_META_KEY = 'io.modelcontextprotocol/serverInfo'

/** What the front end needs from the gateway. */
export interface StatelessParts {
  config: GatewayConfig
  decisions: DecisionPort
  upstreams: Map<string, Upstream>
  /** Signs identity assertions for servers with `identityAssertion`. */
  asserter?: IdentityAsserter
  version?: string
}

/** One decided, admitted message of a stateless client. */
export interface StatelessExchange {
  serverId: string
  message: Message
  input: InputDocument
  decision: Decision
  decisionId: string
  headers: HeaderBag
}

/**
 * The gateway's side for clients of a stateless MCP revision (2026-07-28 and later): every POST is
 * one whole exchange — no `initialize` before it, no `Mcp-Session-Id`, the revision and client in
 * the request's `_meta`. The front end has already decided the message (the same decision path
 * as every other message); this carries an admitted one to its upstream and enforces the answer:
 *
 * - an upstream that speaks the revision (found by asking it `server/discover` once) gets the
 *   request as it came, with `Mcp-Method` / `Mcp-Name` set from the judged body; its answer, JSON
 *   or an SSE stream, comes back judged (`tools/list` filtered, `tools/call` results at
 *   `mcp/response`, notifications decided `server_to_client`, an `input_required` result's input
 *   requests decided as the server requests they stand for);
 * - an upstream of an earlier revision (stdio, or an HTTP server that does not know
 *   `server/discover`) is reached through a {@link LegacyBridge}: one `initialize`d session per
 *   caller, the envelope stripped, the answer made complete (`resultType`) for the client;
 *   `server/discover` is answered from that session's `initialize` result.
 */
export class StatelessFrontEnd {
  readonly #parts: StatelessParts
  /** Per HTTP upstream: whether it speaks the stateless revision (asked once, remembered). */
  readonly #eras = new Map<string, Promise<'stateless' | 'legacy'>>()
  readonly #bridges = new Map<string, LegacyBridge>()
  readonly #sweep: NodeJS.Timeout

  constructor(parts: StatelessParts) {
    this.#parts = parts
    this.#sweep = setInterval(() => {
      const idleSince = Date.now() - parts.config.limits.sessionIdleMs
      for (const [key, bridge] of this.#bridges)
        if (bridge.lastActive < idleSince) {
          this.#bridges.delete(key)
          bridge.close().catch(() => {})
        }
    }, 60_000)
    this.#sweep.unref()
  }

  /**
   * Whether a decided message belongs to a stateless revision: its `_meta` claim or its
   * `MCP-Protocol-Version` header names 2026-07-28 or later. An `initialize` without a claim is an
   * earlier revision's handshake, whatever version it offers.
   */
  static handles(message: Message, input: InputDocument): boolean {
    const version = input.mcp.protocol_version
    if (version === undefined || !isStatelessRevision(version)) return false
    if (message.method !== 'initialize') return true
    const meta = message.params?._meta as Record<string, unknown> | undefined
    return typeof meta?.[PROTOCOL_VERSION_META_KEY] === 'string'
  }

  /** Carries one admitted message upstream and answers the client. */
  async handle(res: ServerResponse, exchange: StatelessExchange): Promise<void> {
    const { serverId, message } = exchange
    const upstreamConfig = this.#parts.config.servers[serverId]!
    const stateless =
      'url' in upstreamConfig && (await this.#era(serverId, upstreamConfig).catch(() => undefined))
    if ('url' in upstreamConfig && stateless === undefined)
      return sendJson(res, 200, unavailable(message.id ?? null, `${serverId} cannot be reached`))
    if (stateless === 'stateless') return this.#forward(res, exchange, upstreamConfig as HttpUpstreamConfig)
    return this.#bridge(res, exchange)
  }

  async close(): Promise<void> {
    clearInterval(this.#sweep)
    await Promise.allSettled([...this.#bridges.values()].map((b) => b.close()))
    this.#bridges.clear()
  }

  /** Asks an HTTP upstream `server/discover` once: does it speak the stateless revision? */
  #era(serverId: string, upstream: HttpUpstreamConfig): Promise<'stateless' | 'legacy'> {
    let era = this.#eras.get(serverId)
    if (!era) {
      era = this.#probe(upstream)
      // A server that could not be reached is asked again next time.
      era.catch(() => this.#eras.delete(serverId))
      this.#eras.set(serverId, era)
    }
    return era
  }

  async #probe(upstream: HttpUpstreamConfig): Promise<'stateless' | 'legacy'> {
    if (upstream.transport === 'sse') return 'legacy'
    const probe: Message = {
      jsonrpc: '2.0',
      id: 'mcp-policy-gateway-discover',
      method: 'server/discover',
      params: {
        _meta: {
          [PROTOCOL_VERSION_META_KEY]: FIRST_STATELESS_REVISION,
          [CLIENT_INFO_META_KEY]: { name: 'mcp-policy-gateway', version: this.#parts.version ?? '0.0.0' },
          [CLIENT_CAPABILITIES_META_KEY]: {},
        },
      },
    }
    const response = await fetch(upstream.url, {
      method: 'POST',
      headers: this.#upstreamRequestHeaders(upstream, probe, {}),
      body: JSON.stringify(probe),
      signal: AbortSignal.timeout(Math.min(this.#parts.config.limits.upstreamTimeoutMs, 30_000)),
    })
    // Only the answer of a server that speaks the revision says so; anything else (400 "not
    // initialized", 404, an error) is a server of an earlier revision.
    let reply: Message | undefined
    const type = response.headers.get('content-type') ?? ''
    if (response.ok && response.body && type.includes('text/event-stream')) {
      for await (const m of sseMessages(response.body, 1024 * 1024))
        if (m.id === probe.id) {
          reply = m
          break
        }
    } else if (type.includes('json'))
      reply = (await response.json().catch(() => undefined)) as Message | undefined
    else await response.body?.cancel()
    const versions = (reply?.result as { supportedVersions?: unknown } | undefined)?.supportedVersions
    return Array.isArray(versions) && versions.some((v) => typeof v === 'string' && isStatelessRevision(v))
      ? 'stateless'
      : 'legacy'
  }

  /** A stateless upstream: the request as it came, the answer (JSON or SSE) judged on its way back. */
  async #forward(
    res: ServerResponse,
    exchange: StatelessExchange,
    upstream: HttpUpstreamConfig,
  ): Promise<void> {
    const { message, input, decision, decisionId, headers: clientHeaders, serverId } = exchange
    const { config } = this.#parts
    const extra = await this.#decidedHeaders(serverId, input, decision, decisionId, clientHeaders)
    const aborted = new AbortController()
    // A client that goes away takes its upstream request with it.
    res.on('close', () => {
      if (!res.writableFinished) aborted.abort()
    })
    let response: Response
    try {
      response = await fetch(upstream.url, {
        method: 'POST',
        headers: this.#upstreamRequestHeaders(upstream, message, extra, clientHeaders),
        body: JSON.stringify(message),
        signal: AbortSignal.any([aborted.signal, AbortSignal.timeout(config.limits.upstreamTimeoutMs)]),
      })
    } catch {
      return sendJson(res, 200, unavailable(message.id ?? null, `${serverId} cannot be reached`))
    }
    if (message.id === undefined || message.method === undefined) {
      // A notification: the server's status is the answer.
      await response.body?.cancel()
      res.statusCode = response.status === 202 || response.ok ? 202 : response.status
      return void res.end()
    }
    const admitted: AdmittedRequest = { method: message.method, input, decision }
    const type = response.headers.get('content-type') ?? ''
    const judge = (m: Message) => this.#judgeFromServer(m, exchange, admitted)
    try {
      if (type.includes('text/event-stream') && response.body) {
        let opened = false
        for await (const m of sseMessages(response.body, config.limits.maxResultBytes)) {
          const out = await judge(m as Message)
          if (out === undefined) continue
          if (!opened) {
            res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' })
            opened = true
          }
          res.write(`event: message\ndata: ${JSON.stringify(out)}\n\n`)
          if (out.id === message.id && out.method === undefined) break
        }
        if (!opened)
          return sendJson(res, 200, unavailable(message.id, `${serverId} ended its stream without an answer`))
        return void res.end()
      }
      const text = await boundedText(response, config.limits.maxResultBytes)
      const reply = JSON.parse(text) as Message
      if (reply === null || typeof reply !== 'object' || reply.id !== message.id)
        return sendJson(
          res,
          200,
          unavailable(message.id, `${serverId} answered with something other than the answer`),
        )
      const out = (await judge(reply)) ?? unavailable(message.id, 'the answer was withheld')
      return sendJson(res, response.ok ? 200 : response.status, out)
    } catch {
      if (res.headersSent) return void res.destroy()
      return sendJson(
        res,
        200,
        unavailable(message.id, `${serverId} sent an answer the gateway could not judge`),
      )
    }
  }

  /**
   * One message the stateless upstream sent back: the answer enforced; a notification decided as
   * the server's (`undefined` when the policy drops it); a server request dropped (the revision has
   * none on a request's stream).
   */
  async #judgeFromServer(
    m: Message,
    exchange: StatelessExchange,
    admitted: AdmittedRequest,
  ): Promise<Message | undefined> {
    const { decisions, config } = this.#parts
    const destination = config.servers[exchange.serverId]?.destination
    if (m.method === undefined) {
      if (m.id !== exchange.message.id) return undefined
      const refused = await this.#inputRequestsRefused(m, exchange)
      if (refused) return refused
      return enforceAnswer(decisions, admitted, m, destination)
    }
    if (m.id !== undefined) return undefined
    const { response } = await decisions.decideMessage({
      message: m,
      headers: exchange.headers,
      server: exchange.serverId,
      direction: 'server_to_client',
    })
    return response.allow ? m : undefined
  }

  /**
   * An `input_required` result asks the client, through the answer, for what an earlier revision's
   * server requested itself (sampling, elicitation, roots): each input request is decided as that
   * server request. One the policy refuses refuses the answer.
   */
  async #inputRequestsRefused(m: Message, exchange: StatelessExchange): Promise<Message | undefined> {
    const result = m.result as { resultType?: unknown; inputRequests?: unknown } | undefined
    if (result?.resultType !== 'input_required') return undefined
    const requests = result.inputRequests
    if (requests === undefined) return undefined
    if (requests === null || typeof requests !== 'object' || Array.isArray(requests))
      return unavailable(m.id ?? null, 'the server asked for input the gateway cannot read')
    for (const [key, request] of Object.entries(requests as Record<string, unknown>)) {
      const r = request as { method?: unknown; params?: unknown }
      const { response } = await this.#parts.decisions.decideMessage({
        message: { jsonrpc: '2.0', id: `input-${key}`, method: r?.method, params: r?.params },
        headers: exchange.headers,
        server: exchange.serverId,
        direction: 'server_to_client',
      })
      if (!response.allow) {
        const { decision_id, ...decision } = response
        return { jsonrpc: '2.0', id: m.id, error: policyDenial(decision, decision_id) }
      }
    }
    return undefined
  }

  /** An upstream of an earlier revision: through the caller's bridge session. */
  async #bridge(res: ServerResponse, exchange: StatelessExchange): Promise<void> {
    const { message, input, decision, decisionId, headers: clientHeaders, serverId } = exchange
    const { config, decisions } = this.#parts
    const key = JSON.stringify([serverId, ownerOf(input.subject)])
    let bridge = this.#bridges.get(key)
    if (!bridge) {
      if (this.#bridges.size >= config.limits.maxSessions) {
        res.setHeader('Retry-After', '30')
        return sendJson(
          res,
          503,
          unavailable(
            message.id ?? null,
            `the gateway holds ${config.limits.maxSessions} sessions, its bound`,
          ),
        )
      }
      const upstreamConfig = config.servers[serverId]!
      bridge = new LegacyBridge(this.#parts.upstreams.get(serverId)!, {
        timeoutMs:
          ('timeoutMs' in upstreamConfig && upstreamConfig.timeoutMs) || config.limits.upstreamTimeoutMs,
        clientVersion: this.#parts.version,
      })
      this.#bridges.set(key, bridge)
    }
    try {
      await bridge.ready()
    } catch {
      this.#bridges.delete(key)
      return sendJson(res, 200, unavailable(message.id ?? null, `${serverId} cannot be reached`))
    }
    const extra = await this.#decidedHeaders(serverId, input, decision, decisionId, clientHeaders)
    if (message.id === undefined || message.method === undefined) {
      await bridge.notify(message, extra).catch(() => {})
      res.statusCode = 202
      return void res.end()
    }
    if (message.method === 'server/discover')
      return sendJson(res, 200, discovered(message.id, bridge.initializeResult ?? {}))
    if (message.method === 'initialize' || message.method === 'subscriptions/listen')
      return sendJson(res, 200, {
        jsonrpc: '2.0',
        id: message.id,
        error: {
          code: -32601,
          message: `${message.method} is not available: ${serverId} speaks an earlier MCP revision`,
        },
      })
    const reply = await bridge.request(message, extra)
    try {
      const out = await enforceAnswer(
        decisions,
        { method: message.method, input, decision },
        reply,
        config.servers[serverId]?.destination,
      )
      return sendJson(res, 200, complete(message.method, out))
    } catch {
      return sendJson(res, 200, unavailable(message.id, 'the answer could not be judged'))
    }
  }

  /** What a request's decision sends upstream with it: as a session's request gets (`GatewaySession.admit`). */
  async #decidedHeaders(
    serverId: string,
    input: InputDocument,
    decision: Decision,
    decisionId: string,
    clientHeaders: HeaderBag,
  ): Promise<UpstreamHeaders> {
    const upstream = this.#parts.config.servers[serverId]!
    const headers: UpstreamHeaders = { ...(decision.obligations.headers ?? {}) }
    const asserter = this.#parts.asserter
    if (asserter && 'url' in upstream && upstream.identityAssertion)
      headers[IDENTITY_ASSERTION_HEADER] = await asserter.sign({
        subject: input.subject,
        decisionId,
        audience: upstream.url,
        server: serverId,
      })
    const authorization = clientHeaders.authorization
    if ('url' in upstream && upstream.forwardClientToken === true && typeof authorization === 'string')
      headers.authorization = authorization
    return headers
  }

  #upstreamRequestHeaders(
    upstream: HttpUpstreamConfig,
    message: Message,
    extra: UpstreamHeaders,
    clientHeaders: HeaderBag = {},
  ): Record<string, string> {
    const headers: Record<string, string> = {
      ...(upstream.headers ?? {}),
      ...extra,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    }
    const meta = message.params?._meta as Record<string, unknown> | undefined
    const version = meta?.[PROTOCOL_VERSION_META_KEY]
    headers['mcp-protocol-version'] = typeof version === 'string' ? version : FIRST_STATELESS_REVISION
    if (typeof message.method === 'string') headers['mcp-method'] = message.method
    // Routing headers from the judged body, never copied from the client's.
    const field = message.method === undefined ? undefined : mcpNameField(message.method)
    const named = field === undefined ? undefined : message.params?.[field]
    if (typeof named === 'string') headers['mcp-name'] = encodeHeaderValue(named)
    // Trace context and Mcp-Param-* headers (the server checks those against the body itself).
    for (const [name, value] of Object.entries(clientHeaders)) {
      const lower = name.toLowerCase()
      if (typeof value !== 'string') continue
      if (lower === 'traceparent' || lower === 'tracestate' || lower.startsWith('mcp-param-'))
        headers[lower] = value
    }
    return headers
  }
}

/** `server/discover` answered for a server of an earlier revision, from its `initialize` result. */
function discovered(id: RequestId, init: Record<string, unknown>): Message {
  const result: Record<string, unknown> = {
    supportedVersions: [FIRST_STATELESS_REVISION],
    capabilities: init.capabilities ?? {},
    resultType: 'complete',
  }
  if (typeof init.instructions === 'string') result.instructions = init.instructions
  if (init.serverInfo !== undefined) result._meta = { [SERVER_INFO_META_KEY]: init.serverInfo }
  return { jsonrpc: '2.0', id, result }
}

// Results a 2026-07-28 client may cache: each must say for how long, and for whom.
const CACHEABLE = new Set([
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
])

/**
 * An earlier revision's result as a stateless client requires it: `resultType` says it is whole,
 * and a cacheable one is not to be cached (`ttlMs` 0) and never shared (`private`: the gateway
 * answers per caller, a filtered list included).
 */
function complete(method: string, message: Message): Message {
  const result = message.result as Record<string, unknown> | undefined
  if (result === undefined || result === null || typeof result !== 'object') return message
  const out: Record<string, unknown> = { ...result }
  if (!('resultType' in out)) out.resultType = 'complete'
  if (CACHEABLE.has(method)) {
    if (typeof out.ttlMs !== 'number') out.ttlMs = 0
    out.cacheScope = 'private'
  }
  return { ...message, result: out }
}

function unavailable(id: RequestId | null, message: string): Message {
  return upstreamUnavailable(id as RequestId, message) as Message
}

async function boundedText(response: Response, limit: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'))
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel()
    throw new Error('answer too large')
  }
  if (!response.body) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength
    if (size > limit) throw new Error('answer too large')
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}
