import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js'
import {
  RequestsInFlight,
  type Upstream,
  type UpstreamChannel,
  type UpstreamHeaders,
} from './upstream-channel.js'

/** Makes the client transport of one session; `headersFor` gives the extra headers of a POSTed message. */
export type TransportFactory = (headersFor: (body: string) => UpstreamHeaders | undefined) => Transport

/**
 * An upstream reached through one client transport per client session: a Streamable HTTP (or
 * legacy SSE) server, where each client session becomes an upstream session of its own, or a stdio
 * server run as one process per session. Messages pass verbatim — `initialize` included — so the
 * upstream sees each client as it is, and answers only that session.
 */
export class PerClientUpstream implements Upstream {
  readonly id: string
  readonly #describe: Record<string, unknown>
  readonly #factory: TransportFactory
  readonly #channels = new Set<PerClientChannel>()

  constructor(id: string, factory: TransportFactory, describe: Record<string, unknown>) {
    this.id = id
    this.#factory = factory
    this.#describe = describe
  }

  async open(): Promise<UpstreamChannel> {
    const headers = new Map<RequestId, UpstreamHeaders>()
    const transport = this.#factory((body) => {
      // Read the body only when some request of this session has headers to add.
      if (headers.size === 0) return undefined
      const id = messageId(body)
      return id === undefined ? undefined : headers.get(id)
    })
    const channel = new PerClientChannel(transport, headers, () => this.#channels.delete(channel))
    this.#channels.add(channel)
    try {
      await transport.start()
    } catch (err) {
      this.#channels.delete(channel)
      throw err
    }
    return channel
  }

  status(): Record<string, unknown> {
    return { ...this.#describe, sessions: 'per-client', open_sessions: this.#channels.size }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#channels].map((c) => c.close()))
  }
}

class PerClientChannel implements UpstreamChannel {
  onmessage?: (message: JSONRPCMessage, relatedRequestId?: RequestId) => void
  onclose?: () => void
  readonly #transport: Transport
  readonly #headers: Map<RequestId, UpstreamHeaders>
  readonly #inFlight = new RequestsInFlight()
  readonly #initializeIds = new Set<RequestId>()
  #closed = false

  constructor(transport: Transport, headers: Map<RequestId, UpstreamHeaders>, forget: () => void) {
    this.#transport = transport
    this.#headers = headers
    transport.onmessage = (message) => this.#received(message)
    transport.onclose = () => {
      this.#closed = true
      forget()
      this.onclose?.()
    }
    // Errors of one message (an unreadable SSE event) are not the end of the session.
    transport.onerror = () => {}
  }

  async send(message: JSONRPCMessage, headers?: UpstreamHeaders): Promise<void> {
    const m = message as { id?: RequestId; method?: string }
    this.#inFlight.started(message)
    if (m.method === 'initialize' && m.id !== undefined) this.#initializeIds.add(m.id)
    if (headers && m.id !== undefined && m.method !== undefined) this.#headers.set(m.id, headers)
    await this.#transport.send(message)
  }

  #received(message: JSONRPCMessage): void {
    const m = message as { id?: RequestId; method?: string; result?: { protocolVersion?: unknown } }
    if (m.method === undefined && m.id !== undefined) {
      this.#inFlight.finished(m.id)
      this.#headers.delete(m.id)
      // The HTTP transport sends MCP-Protocol-Version on every later request, as the SDK client does.
      if (this.#initializeIds.delete(m.id) && typeof m.result?.protocolVersion === 'string')
        this.#transport.setProtocolVersion?.(m.result.protocolVersion)
      this.onmessage?.(message, m.id)
      return
    }
    this.onmessage?.(message, this.#inFlight.relatedTo(message))
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    // A Streamable HTTP upstream session is ended explicitly (DELETE), then the transport closed.
    const terminate = (this.#transport as { terminateSession?: () => Promise<void> }).terminateSession
    if (terminate) await terminate.call(this.#transport).catch(() => {})
    await this.#transport.close().catch(() => {})
  }
}

function messageId(body: string): RequestId | undefined {
  try {
    const id = (JSON.parse(body) as { id?: unknown } | null)?.id
    return typeof id === 'string' || typeof id === 'number' ? id : undefined
  } catch {
    return undefined
  }
}
