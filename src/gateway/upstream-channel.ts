import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js'

/** Headers the gateway adds to one upstream request (the policy's `headers` obligation). */
export type UpstreamHeaders = Record<string, string>

/**
 * One client session's line to its upstream MCP server. The gateway session sends only messages
 * the policy admitted, and receives every upstream message for this session, to be decided.
 */
export interface UpstreamChannel {
  /** Sends an admitted client message upstream; `headers` go with it where the transport has headers. */
  send(message: JSONRPCMessage, headers?: UpstreamHeaders): Promise<void>
  /**
   * An upstream message for this session. `relatedRequestId` names the client request it belongs
   * to (a progress notification, a sampling request made while a tool runs), when it can be told.
   */
  onmessage?: (message: JSONRPCMessage, relatedRequestId?: RequestId) => void
  /** The channel is gone for good (its per-client process died, its HTTP session ended). */
  onclose?: () => void
  /** Ends this session's use of the upstream. */
  close(): Promise<void>
}

/** An upstream server: opens one channel per client session. */
export interface Upstream {
  readonly id: string
  /** A channel for a new client session; waits until the server can take requests. */
  open(): Promise<UpstreamChannel>
  /** What `/health/ready` and the start-up lines say about it. */
  status(): Record<string, unknown>
  /** Stops the upstream (its process, its connections) and every channel. */
  close(): Promise<void>
}

/** The JSON-RPC error a gateway answers for a request the upstream cannot take. */
export function upstreamUnavailable(id: RequestId, message: string): JSONRPCMessage {
  return {
    jsonrpc: '2.0',
    id,
    error: { code: -32603, message, data: { reason: 'ERR_GATEWAY_UPSTREAM_UNAVAILABLE' } },
  }
}

/**
 * The client requests of one session still waiting for their answer, by id, with their progress
 * tokens: an upstream notification or request is related to the request it belongs to (so it
 * travels on that request's SSE stream), or to the only request in flight.
 */
export class RequestsInFlight {
  readonly #byId = new Map<RequestId, { progressToken?: string | number }>()
  readonly #byProgressToken = new Map<string | number, RequestId>()

  /** Notes a client request going upstream. */
  started(message: JSONRPCMessage): void {
    const m = message as { id?: RequestId; method?: string; params?: { _meta?: { progressToken?: unknown } } }
    if (m.id === undefined || m.method === undefined) return
    const token = m.params?._meta?.progressToken
    const progressToken = typeof token === 'string' || typeof token === 'number' ? token : undefined
    this.#byId.set(m.id, { progressToken })
    if (progressToken !== undefined) this.#byProgressToken.set(progressToken, m.id)
  }

  /** Notes an answer going back to the client. */
  finished(id: RequestId): void {
    const entry = this.#byId.get(id)
    if (!entry) return
    this.#byId.delete(id)
    if (entry.progressToken !== undefined) this.#byProgressToken.delete(entry.progressToken)
  }

  /** The client request an upstream message belongs to, when it can be told. */
  relatedTo(message: JSONRPCMessage): RequestId | undefined {
    const m = message as { method?: string; params?: { progressToken?: unknown } }
    if (m.method === 'notifications/progress') {
      const token = m.params?.progressToken
      if (typeof token === 'string' || typeof token === 'number') return this.#byProgressToken.get(token)
    }
    return this.only()
  }

  /** The one request in flight, if exactly one is. */
  only(): RequestId | undefined {
    if (this.#byId.size !== 1) return undefined
    return this.#byId.keys().next().value
  }

  get size(): number {
    return this.#byId.size
  }

  ids(): RequestId[] {
    return [...this.#byId.keys()]
  }

  clear(): void {
    this.#byId.clear()
    this.#byProgressToken.clear()
  }
}
