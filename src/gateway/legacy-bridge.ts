import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js'
import type { McpMessage as Message } from '../normalize/mcp-message.js'
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY,
} from '../normalize/request-meta.js'
import {
  type Upstream,
  type UpstreamChannel,
  type UpstreamHeaders,
  upstreamUnavailable,
} from './upstream-channel.js'

/** The revision the gateway speaks to an upstream that predates 2026-07-28. */
const LEGACY_REVISION = '2025-11-25'
const LOG_LEVEL_META_KEY = 'io.modelcontextprotocol/logLevel'

/**
 * Carries requests of a stateless MCP revision (2026-07-28: no `initialize`, no session) to an
 * upstream server that speaks only earlier revisions: the gateway opens one session with it
 * (`initialize` as a 2025-11-25 client), then sends each request in that session under an id of
 * its own, without the per-request `_meta` envelope the server would not understand, and hands
 * back the answer under the client's id. What the server sends meanwhile (progress, logging, its
 * own requests) has no client to go to — a stateless client has no stream for it — so
 * notifications are dropped and requests answered with an error.
 *
 * One bridge serves one caller at one server (the gateway keys them by verified subject), so a
 * server that keeps per-session state never mixes two users' state.
 */
export class LegacyBridge {
  /** The server's answer to the gateway's `initialize`: what `server/discover` reports. */
  initializeResult: Record<string, unknown> | undefined
  lastActive = Date.now()
  readonly #upstream: Upstream
  readonly #timeoutMs: number
  readonly #clientVersion: string
  readonly #pending = new Map<string, { resolve: (m: Message) => void; timer: NodeJS.Timeout }>()
  #channel: UpstreamChannel | undefined
  #ready: Promise<void> | undefined
  #next = 1
  #closed = false

  constructor(upstream: Upstream, options: { timeoutMs: number; clientVersion?: string }) {
    this.#upstream = upstream
    this.#timeoutMs = options.timeoutMs
    this.#clientVersion = options.clientVersion ?? '0.0.0'
  }

  /** Opens the session once; rejects (and may be retried) when the server cannot be reached. */
  ready(): Promise<void> {
    this.#ready ??= this.#open().catch((err: unknown) => {
      this.#ready = undefined
      throw err
    })
    return this.#ready
  }

  /**
   * Sends one request and resolves with the server's answer under the client's id (an error
   * answer when the server does not answer within the timeout or the session ends).
   */
  async request(message: Message, headers?: UpstreamHeaders): Promise<Message> {
    await this.ready()
    this.lastActive = Date.now()
    const clientId = message.id as RequestId
    const id = `gateway-${this.#next++}`
    const answer = new Promise<Message>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        resolve(unavailable(id, `no answer from the server within ${this.#timeoutMs} ms`))
      }, this.#timeoutMs)
      timer.unref()
      this.#pending.set(id, { resolve, timer })
    })
    try {
      await this.#channel!.send({ ...withoutEnvelope(message), id } as JSONRPCMessage, headers)
    } catch {
      this.#settle(id, unavailable(id, 'the upstream server cannot be reached'))
    }
    return { ...(await answer), id: clientId }
  }

  /** Sends one notification (`notifications/cancelled`, …) in the session. */
  async notify(message: Message, headers?: UpstreamHeaders): Promise<void> {
    await this.ready()
    this.lastActive = Date.now()
    await this.#channel!.send(withoutEnvelope(message) as JSONRPCMessage, headers)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const [id] of this.#pending) this.#settle(id, unavailable(id, 'the gateway closed the session'))
    await this.#channel?.close().catch(() => {})
  }

  async #open(): Promise<void> {
    const channel = await this.#upstream.open()
    this.#channel = channel
    channel.onmessage = (message) => this.#received(message as Message)
    channel.onclose = () => {
      // The next request opens a new session.
      this.#ready = undefined
      this.initializeResult = undefined
      for (const [id] of this.#pending) this.#settle(id, unavailable(id, 'the upstream session ended'))
    }
    const id = `gateway-${this.#next++}`
    const answer = new Promise<Message>((resolve) => {
      const timer = setTimeout(() => resolve(unavailable(id, 'initialize timed out')), this.#timeoutMs)
      timer.unref()
      this.#pending.set(id, { resolve, timer })
    })
    await channel.send({
      jsonrpc: '2.0',
      id,
      method: 'initialize',
      params: {
        protocolVersion: LEGACY_REVISION,
        capabilities: {},
        clientInfo: { name: 'mcp-policy-gateway', version: this.#clientVersion },
      },
    })
    const reply = await answer
    const result = reply.result as Record<string, unknown> | undefined
    if (!result || typeof result !== 'object') {
      await channel.close().catch(() => {})
      throw new Error(
        `the upstream server refused initialize: ${JSON.stringify(reply.error ?? reply).slice(0, 200)}`,
      )
    }
    await channel.send({ jsonrpc: '2.0', method: 'notifications/initialized' })
    this.initializeResult = result
  }

  #received(message: Message): void {
    if (message.method === undefined && message.id !== undefined) {
      this.#settle(String(message.id), message)
      return
    }
    if (message.method !== undefined && message.id !== undefined) {
      // A server request has no client to go to: a stateless client keeps no stream open for it.
      this.#channel
        ?.send({
          jsonrpc: '2.0',
          id: message.id,
          error: {
            code: -32601,
            message:
              'the client speaks a stateless MCP revision: the gateway cannot relay server requests to it',
          },
        } as JSONRPCMessage)
        .catch(() => {})
    }
  }

  #settle(id: string, message: Message): void {
    const pending = this.#pending.get(id)
    if (!pending) return
    this.#pending.delete(id)
    clearTimeout(pending.timer)
    pending.resolve(message)
  }
}

/**
 * A 2026-07-28 message as an earlier revision's server takes it: the per-request envelope (the
 * protocol version, client info and capabilities, log level) removed from `params._meta`, and
 * `_meta` itself when nothing else is in it. Progress tokens and trace context stay.
 */
export function withoutEnvelope(message: Message): Message {
  const meta = message.params?._meta
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return message
  const rest: Record<string, unknown> = { ...(meta as Record<string, unknown>) }
  for (const key of [
    PROTOCOL_VERSION_META_KEY,
    CLIENT_INFO_META_KEY,
    CLIENT_CAPABILITIES_META_KEY,
    LOG_LEVEL_META_KEY,
  ])
    delete rest[key]
  const params: Record<string, unknown> = { ...message.params }
  if (Object.keys(rest).length > 0) params._meta = rest
  else delete params._meta
  return { ...message, params }
}

function unavailable(id: RequestId, message: string): Message {
  return upstreamUnavailable(id, message) as Message
}
