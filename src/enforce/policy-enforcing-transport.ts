import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { JSONRPCMessage, MessageExtraInfo, RequestId } from '@modelcontextprotocol/sdk/types.js'
import type { DecisionLog } from '../audit/decision-log.js'
import type { Decision } from '../engine/decision.js'
import type { PolicyEngine } from '../engine/policy-engine.js'
import type { HeaderBag } from '../normalize/http-envelope.js'
import type { InputDocument } from '../normalize/input-document.js'
import type { McpMessage as Message } from '../normalize/mcp-message.js'
import type { RequestNormalizer } from '../normalize/request-normalizer.js'
import type { AdmittedRequest } from '../pdp/decision-port.js'
import { DecisionService } from '../pdp/decision-service.js'
import { policyDenial } from './policy-denial.js'
import { filterToolList, judgeToolResult } from './result-enforcement.js'

/** Options for {@link PolicyEnforcingTransport}. */
export interface PolicyEnforcementOptions {
  /** The decision engine with the policy bundle loaded. */
  engine: PolicyEngine
  /** Turns each message plus the HTTP headers the transport saw into input document v1 (verifying the token). */
  normalizer: RequestNormalizer
  /** Server id policies see as `input.server.id`; the normalizer must know it (`servers` or `routes`). */
  server: string
  /** When given, every decision and result judgement is appended before it takes effect. */
  log?: DecisionLog
  /**
   * Where tool results go, for `mcp/response` (`input.destination.model`, e.g. `public` or
   * `internal`). Omitted: the policy's default (the reference policy treats it as public).
   */
  destination?: string
  /**
   * Asked when an allowing decision carries `obligations.require_approval`. Without it such calls
   * are denied with reason `approval_required`: an obligation nobody can meet is not met.
   */
  approve?: (input: InputDocument, approval: { reason: string }) => Promise<boolean>
  /** Extra facts for `input.context.attributes`. */
  attributes?: Record<string, unknown>
}

/**
 * What a transport of the MCP SDK v2 (`@modelcontextprotocol/server`) has beyond v1's `Transport`:
 * the wrapper passes these on, so one class serves servers of both SDKs.
 */
interface V2TransportMembers {
  readonly hasPerRequestStream?: boolean
  setSupportedProtocolVersions?: (versions: string[]) => void
}

/**
 * Where the v2 SDK's transports put the HTTP request a message came in (`extra.request`, a Fetch
 * `Request`); v1's put its headers in `extra.requestInfo.headers`.
 */
interface V2MessageExtra {
  request?: { headers?: { forEach(visit: (value: string, name: string) => void): void } }
}

/**
 * A policy enforcement point for any MCP SDK server: wraps the server's transport, so every message
 * the client sends is decided (`mcp/decision`, in-process, with identity from the bearer token the
 * HTTP transport saw) before the server sees it, and every response the server sends passes back
 * through it — `tools/list` results are filtered by `obligations.visible_tools`, `tools/call`
 * results are judged at `mcp/response` and redacted or blocked.
 *
 * A denied request never reaches the server: the client gets a JSON-RPC error with code
 * `POLICY_DENIED_ERROR_CODE` (-31001), the policy's reason code in `error.data.reason` and nothing internal.
 * A denied notification is dropped; a denied client response (to a server-initiated request) reaches
 * the server as an error, so nothing waits forever. Decisions are made in arrival order, so
 * `initialize` is always judged before what follows it.
 *
 * Normalizing, deciding and logging go through the same {@link DecisionService} the PDP uses, so
 * in-process decisions are logged, verified and replayed exactly like the PDP's.
 *
 * Wrapping the transport, not the server's handlers, means one wrapper covers every method the
 * server implements now or later — including ones nobody thought to guard — and every SDK server
 * (`McpServer`, low-level `Server`) over any transport, of either MCP SDK: v1
 * (`@modelcontextprotocol/sdk`, revisions up to 2025-11-25) and v2 (`@modelcontextprotocol/server`,
 * 2026-07-28 and the stateless fallback for earlier ones). v2's `Transport` is v1's plus optional
 * members, which the wrapper passes on; 2026-07-28 requests carry their revision and client in
 * `_meta`, which the normalizer reads, so each request is judged on its own, with no session.
 * A v2 serving entry that builds its transports itself (`createMcpHandler`) is reached through
 * `enforcePolicy`.
 *
 * @example
 * ```ts
 * const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined })
 * await mcpServer.connect(new PolicyEnforcingTransport(transport, { engine, normalizer, server: 'github', log }))
 * await transport.handleRequest(req, res)
 * ```
 */
export class PolicyEnforcingTransport implements Transport {
  onclose?: () => void
  onerror?: (error: Error) => void
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void

  readonly #inner: Transport
  readonly #options: PolicyEnforcementOptions
  readonly #service: DecisionService
  readonly #admitted = new Map<RequestId, AdmittedRequest>()
  #inbound: Promise<void> = Promise.resolve()

  constructor(inner: Transport, options: PolicyEnforcementOptions) {
    this.#inner = inner
    this.#options = options
    this.#service = new DecisionService({
      engine: options.engine,
      normalizer: options.normalizer,
      log: options.log,
    })
    const innerClose = inner.onclose
    const innerError = inner.onerror
    inner.onclose = () => {
      innerClose?.()
      this.#admitted.clear()
      this.onclose?.()
    }
    inner.onerror = (error) => {
      innerError?.(error)
      this.onerror?.(error)
    }
    inner.onmessage = (message, extra) => {
      // One decision at a time, in arrival order; the server's handlers still run concurrently.
      this.#inbound = this.#inbound.then(() =>
        this.#admit(message as Message, extra).catch((err: unknown) =>
          this.onerror?.(err instanceof Error ? err : new Error(String(err))),
        ),
      )
    }
  }

  /** The wrapped transport's session id. */
  get sessionId(): string | undefined {
    return this.#inner.sessionId
  }

  start(): Promise<void> {
    return this.#inner.start()
  }

  close(): Promise<void> {
    return this.#inner.close()
  }

  setProtocolVersion(version: string): void {
    this.#inner.setProtocolVersion?.(version)
  }

  /** Passed on (MCP SDK v2): the server tells the transport which revisions it speaks. */
  setSupportedProtocolVersions(versions: string[]): void {
    ;(this.#inner as V2TransportMembers).setSupportedProtocolVersions?.(versions)
  }

  /**
   * The wrapped transport's (MCP SDK v2): whether it opens one underlying request per message.
   * The v2 protocol layer cancels a 2026-07-28 request by aborting that request instead of sending
   * `notifications/cancelled`, so it must see the real transport's answer through the wrapper.
   */
  get hasPerRequestStream(): boolean | undefined {
    return (this.#inner as V2TransportMembers).hasPerRequestStream
  }

  /** Sends a server message; results of admitted `tools/list` and `tools/call` requests are enforced first. */
  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const out = message as Message
    const isResponse = out.method === undefined && out.id !== undefined
    const admitted = isResponse ? this.#admitted.get(out.id as RequestId) : undefined
    if (!admitted) return this.#inner.send(message, options)
    this.#admitted.delete(out.id as RequestId)
    if (!('result' in out)) return this.#inner.send(message, options)
    const result = out.result as Record<string, unknown>
    if (admitted.method === 'tools/list') {
      return this.#inner.send(
        { ...out, result: filterToolList(result, admitted.decision) } as JSONRPCMessage,
        options,
      )
    }
    const judged = await judgeToolResult(this.#service, {
      request: admitted.input,
      decision: admitted.decision,
      result,
      destination: this.#options.destination,
    })
    if (!judged.allow) {
      return this.#inner.send(
        { jsonrpc: '2.0', id: out.id as RequestId, error: policyDenial(judged, judged.decisionId) },
        options,
      )
    }
    return this.#inner.send({ ...out, result: judged.result } as JSONRPCMessage, options)
  }

  async #admit(message: Message, extra: MessageExtraInfo | undefined): Promise<void> {
    const { decisionId, decision, input } = await this.#decide(message, extra)
    const isRequest = typeof message.method === 'string' && message.id !== undefined
    if (decision.allow) {
      if (isRequest && input && (message.method === 'tools/list' || message.method === 'tools/call')) {
        this.#admitted.set(message.id as RequestId, { method: message.method, input, decision })
      }
      this.onmessage?.(message as JSONRPCMessage, extra)
      return
    }
    const error = policyDenial(decision, decisionId)
    if (isRequest) {
      await this.#inner.send(
        { jsonrpc: '2.0', id: message.id as RequestId, error },
        {
          relatedRequestId: message.id as RequestId,
        },
      )
    } else if (message.method === undefined && message.id !== undefined) {
      this.onmessage?.({ jsonrpc: '2.0', id: message.id, error } as JSONRPCMessage, extra)
    }
  }

  /** Normalizes, decides and logs (through the PDP's decision core), then meets obligations; never throws. */
  async #decide(
    message: Message,
    extra: MessageExtraInfo | undefined,
  ): Promise<{ decisionId: string; decision: Decision; input?: InputDocument }> {
    const facts = {
      message,
      headers: requestHeaders(extra),
      server: this.#options.server,
      attributes: this.#options.attributes,
    }
    let input: InputDocument
    try {
      input = await this.#options.normalizer.normalize(facts, {
        analysis: this.#service.argumentAnalysis(),
        validation: this.#service.argumentSchemas(),
      })
    } catch {
      // The service normalizes again, fails the same way, and logs the rejection as the PDP does.
      const { decision_id, ...decision } = await this.#service.decideMcp(facts)
      return { decisionId: decision_id, decision }
    }
    const { decision_id, ...decision } = await this.#service.decideInput(input)
    const approval = decision.allow ? decision.obligations.require_approval : undefined
    if (!approval) return { decisionId: decision_id, decision, input }
    return { decisionId: decision_id, decision: await this.#approve(input, decision, approval), input }
  }

  async #approve(input: InputDocument, decision: Decision, approval: { reason: string }): Promise<Decision> {
    let approved = false
    try {
      approved = (await this.#options.approve?.(input, approval)) === true
    } catch {
      approved = false
    }
    if (approved) return decision
    return {
      allow: false,
      status: 403,
      reasons: [{ code: 'approval_required', message: `a human must approve this call: ${approval.reason}` }],
      obligations: {},
    }
  }
}

/**
 * The HTTP request headers the transport saw (v1 SDK: `requestInfo.headers`; v2 SDK: the Fetch
 * `request`, whose `Headers` join repeated fields with `, ` as HTTP does). An SDK bearer-auth middleware may hand over only the
 * verified token (`authInfo`): then it is passed on as the Authorization header it came from.
 */
function requestHeaders(extra: MessageExtraInfo | undefined): HeaderBag {
  const headers: HeaderBag = { ...(extra?.requestInfo?.headers ?? {}) }
  // MCP SDK v2 (2026-07-28 and its stateless fallback for earlier revisions): the Fetch request.
  ;(extra as V2MessageExtra | undefined)?.request?.headers?.forEach((value, name) => {
    headers[name] = value
  })
  const hasAuthorization = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization')
  if (!hasAuthorization && extra?.authInfo?.token) headers.authorization = `Bearer ${extra.authInfo.token}`
  return headers
}
