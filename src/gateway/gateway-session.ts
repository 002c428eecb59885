import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js'
import { policyDenial } from '../enforce/policy-denial.js'
import { filterToolList, judgeToolResult } from '../enforce/result-enforcement.js'
import type { Decision } from '../engine/decision.js'
import type { HeaderBag } from '../normalize/http-envelope.js'
import type { InputDocument } from '../normalize/input-document.js'
import type { DecisionService } from '../pdp/decision-service.js'
import type { UpstreamChannel, UpstreamHeaders } from './upstream-channel.js'

/** A client request the policy admitted, kept until its answer passes back. */
export interface AdmittedRequest {
  method: string
  input: InputDocument
  decision: Decision
}

type Message = Record<string, unknown> & { id?: RequestId; method?: string; result?: unknown }

/** Options for {@link GatewaySession}. */
export interface GatewaySessionOptions {
  service: DecisionService
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
  /** The headers of the client's latest request: the identity server-initiated messages are decided under. */
  lastHeaders: HeaderBag = {}
  lastActive = Date.now()
  readonly #options: GatewaySessionOptions
  readonly #admitted = new Map<RequestId, AdmittedRequest>()
  readonly #headers = new Map<RequestId, UpstreamHeaders>()
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
    this.#options = options
    transport.onmessage = (message) => {
      const m = message as Message
      const headers = m.id !== undefined && m.method !== undefined ? this.#headers.get(m.id) : undefined
      if (headers) this.#headers.delete(m.id as RequestId)
      channel.send(message, headers).catch(() => {
        if (m.id !== undefined && m.method !== undefined) this.#failed(m.id)
      })
    }
    channel.onmessage = (message, related) => {
      this.#outbound = this.#outbound.then(() => this.#deliver(message as Message, related)).catch(() => {})
    }
    channel.onclose = () => {
      this.close().catch(() => {})
    }
  }

  /**
   * Records a decided client message before the transport hands it on: the request's decision
   * (for its result) and the headers its obligations ask for upstream.
   */
  async admit(
    message: Message,
    input: InputDocument,
    decision: Decision,
    decisionId: string,
    clientHeaders: HeaderBag,
  ): Promise<void> {
    this.lastHeaders = clientHeaders
    this.lastActive = Date.now()
    if (message.id === undefined || message.method === undefined) return
    if (message.method === 'tools/list' || message.method === 'tools/call')
      this.#admitted.set(message.id, { method: message.method, input, decision })
    const headers: UpstreamHeaders = {
      ...(decision.obligations.headers ?? {}),
      ...(this.#options.assert ? await this.#options.assert(input, decisionId) : {}),
    }
    const authorization = clientHeaders.authorization
    if (this.#options.forwardClientToken && typeof authorization === 'string')
      headers.authorization = authorization
    if (Object.keys(headers).length > 0) this.#headers.set(message.id, headers)
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
    const { response } = await this.#options.service.decideMessage({
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
    const admitted = this.#admitted.get(id)
    this.#admitted.delete(id)
    if (!admitted || !('result' in message)) return this.#send(message, id)
    const result = message.result as Record<string, unknown>
    if (admitted.method === 'tools/list') {
      return this.#send({ ...message, result: filterToolList(result, admitted.decision) }, id)
    }
    const judged = await judgeToolResult(this.#options.service, {
      request: admitted.input,
      decision: admitted.decision,
      result,
      destination: this.#options.destination,
    })
    if (!judged.allow) {
      return this.#send({ jsonrpc: '2.0', id, error: policyDenial(judged, judged.decisionId) }, id)
    }
    return this.#send({ ...message, result: judged.result }, id)
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
    this.#admitted.delete(id)
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
    this.#admitted.clear()
    await this.channel.close().catch(() => {})
    await this.transport.close().catch(() => {})
  }
}
