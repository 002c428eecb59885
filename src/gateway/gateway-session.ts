import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js'
import { policyDenial } from '../enforce/policy-denial.js'
import type { Decision } from '../engine/decision.js'
import type { Subject } from '../identity/subject.js'
import type { HeaderBag } from '../normalize/http-envelope.js'
import type { InputDocument } from '../normalize/input-document.js'
import type { McpMessage as Message } from '../normalize/mcp-message.js'
import type { AdmittedRequest, DecisionPort } from '../pdp/decision-port.js'
import { enforceAnswer } from './answer-enforcement.js'
import type { UpstreamChannel, UpstreamHeaders } from './upstream-channel.js'

/** Options for {@link GatewaySession}. */
export interface GatewaySessionOptions {
  /** Where its messages are decided: the decision service, or the gateway's worker pool. */
  decisions: DecisionPort
  serverId: string
  /** `input.destination.model` for result judgements; omitted = the policy's default. */
  destination?: string
  /** Forward the client's Authorization header upstream (explicit opt-in). */
  forwardClientToken?: boolean
  /** Who opened the session (issuer and subject id): later requests must come from the same caller. */
  owner: string
  /** Signs an identity assertion per request for the upstream (servers with `identityAssertion`). */
  assert?: (input: InputDocument, decisionId: string) => Promise<UpstreamHeaders>
}

/**
 * One client session of the gateway: the SDK's Streamable HTTP server transport facing the client,
 * a channel to the upstream server, and the policy between them.
 *
 * Client messages reach it already decided (the gateway's HTTP front end decides each POSTed
 * message, so a deny can be an HTTP challenge) and go upstream only when admitted. Every upstream
 * message is enforced on its way back, in arrival order: answers to admitted `tools/list` are
 * filtered by `visible_tools`, answers to `tools/call` judged at `mcp/response` (redacted or
 * blocked); requests and notifications the server sends (sampling, elicitation, roots, progress,
 * logging) are decided at `mcp/decision` with `direction: server_to_client` under the identity of
 * the client's latest request — a denied request is answered to the server with the policy's
 * error, a denied notification dropped.
 */
export class GatewaySession {
  readonly transport: StreamableHTTPServerTransport
  readonly channel: UpstreamChannel
  readonly owner: string
  /** The server this session was opened at: it is not reachable through another server's endpoint. */
  readonly serverId: string
  /** The headers of the client's latest request: the identity server-initiated messages are decided under. */
  lastHeaders: HeaderBag = {}
  lastActive = Date.now()
  readonly #options: GatewaySessionOptions
  /** Decided requests the SDK transport has not handed on yet (it may still refuse them). */
  readonly #pending = new Map<RequestId, { admitted?: AdmittedRequest; headers?: UpstreamHeaders }>()
  /** Requests sent upstream and not answered yet, with what their answer is enforced against. */
  readonly #inFlight = new Map<RequestId, AdmittedRequest | undefined>()
  #outbound: Promise<void> = Promise.resolve()
  #closed = false

  constructor(
    transport: StreamableHTTPServerTransport,
    channel: UpstreamChannel,
    options: GatewaySessionOptions,
  ) {
    this.transport = transport
    this.channel = channel
    this.owner = options.owner
    this.serverId = options.serverId
    this.#options = options
    transport.onmessage = (message) => {
      const m = message as Message
      const isRequest = m.id !== undefined && m.method !== undefined
      // Only now, accepted by the transport, does a request count as in flight.
      const pending = isRequest ? this.#pending.get(m.id as RequestId) : undefined
      if (isRequest) {
        this.#pending.delete(m.id as RequestId)
        this.#inFlight.set(m.id as RequestId, pending?.admitted)
      }
      channel.send(message, pending?.headers).catch(() => {
        if (isRequest) this.#failed(m.id as RequestId)
      })
    }
    channel.onmessage = (message, related) => {
      this.#outbound = this.#outbound
        .then(() => this.#deliver(message as Message, related))
        .catch(() => {
          // Enforcement failed: the answer is not sent as it is, but the client is not left waiting.
          const m = message as Message
          if (m.method === undefined && m.id !== undefined) this.#failed(m.id)
        })
    }
    channel.onclose = () => {
      this.close().catch(() => {})
    }
  }

  /**
   * Records a decided client message before the transport hands it on: the request's decision
   * (for its result) and the headers its obligations ask for upstream. Returns false for a request
   * whose id is still in flight: its answer would be enforced against the other request's decision.
   * {@link settle} forgets what the transport refused.
   */
  async admit(
    message: Message,
    input: InputDocument,
    decision: Decision,
    decisionId: string,
    clientHeaders: HeaderBag,
  ): Promise<boolean> {
    if (message.id === undefined || message.method === undefined) {
      this.lastHeaders = clientHeaders
      this.lastActive = Date.now()
      return true
    }
    if (this.#inFlight.has(message.id) || this.#pending.has(message.id)) return false
    this.lastHeaders = clientHeaders
    this.lastActive = Date.now()
    const admitted =
      message.method === 'tools/list' || message.method === 'tools/call'
        ? { method: message.method, input, decision }
        : undefined
    const headers: UpstreamHeaders = {
      ...(decision.obligations.headers ?? {}),
      ...(this.#options.assert ? await this.#options.assert(input, decisionId) : {}),
    }
    const authorization = clientHeaders.authorization
    if (this.#options.forwardClientToken && typeof authorization === 'string')
      headers.authorization = authorization
    this.#pending.set(message.id, {
      admitted,
      headers: Object.keys(headers).length > 0 ? headers : undefined,
    })
    return true
  }

  /** After the transport handled a POST: a request it refused (bad Accept, version…) is forgotten. */
  settle(message: Message): void {
    if (message.id !== undefined && message.method !== undefined) this.#pending.delete(message.id)
  }

  /** Answers a server request the client's (denied) response was meant for, so the server never waits. */
  refuseClientResponse(message: Message, decision: Decision, decisionId: string): void {
    if (message.id === undefined) return
    const error = policyDenial(decision, decisionId)
    this.channel.send({ jsonrpc: '2.0', id: message.id, error } as JSONRPCMessage).catch(() => {})
  }

  async #deliver(message: Message, related: RequestId | undefined): Promise<void> {
    if (this.#closed) return
    const isResponse = message.method === undefined && message.id !== undefined
    if (isResponse) return this.#deliverResponse(message)
    const { response } = await this.#options.decisions.decideMessage({
      message,
      headers: this.lastHeaders,
      server: this.#options.serverId,
      direction: 'server_to_client',
    })
    if (!response.allow) {
      if (message.id !== undefined) {
        const { decision_id, ...decision } = response
        await this.channel
          .send({
            jsonrpc: '2.0',
            id: message.id,
            error: policyDenial(decision, decision_id),
          } as JSONRPCMessage)
          .catch(() => {})
      }
      return
    }
    await this.#send(message, related)
  }

  async #deliverResponse(message: Message): Promise<void> {
    const id = message.id as RequestId
    if (!this.#inFlight.has(id)) return // no request of this session has that id in flight
    const admitted = this.#inFlight.get(id)
    this.#inFlight.delete(id)
    const out = await enforceAnswer(this.#options.decisions, admitted, message, this.#options.destination)
    return this.#send(out as Message, id)
  }

  async #send(message: Message, related: RequestId | undefined): Promise<void> {
    // A client that went away takes its stream with it: nothing more to do for this message.
    await this.transport
      .send(
        message as unknown as JSONRPCMessage,
        related === undefined ? undefined : { relatedRequestId: related },
      )
      .catch(() => {})
  }

  #failed(id: RequestId): void {
    this.#inFlight.delete(id)
    this.#send(
      {
        jsonrpc: '2.0',
        id,
        error: {
          code: -32603,
          message: 'the upstream server cannot be reached',
          data: { reason: 'ERR_GATEWAY_UPSTREAM_UNAVAILABLE' },
        },
      },
      id,
    ).catch(() => {})
  }

  /** Ends the session: its upstream channel and its client transport. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#pending.clear()
    this.#inFlight.clear()
    await this.channel.close().catch(() => {})
    await this.transport.close().catch(() => {})
  }
}

/** Who a session (or a stateless caller's upstream bridge) belongs to: the verified issuer and subject. */
export function ownerOf(subject: Subject): string {
  return JSON.stringify([subject.issuer ?? '', subject.id ?? ''])
}
