import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import {
  type JSONRPCMessage,
  LATEST_PROTOCOL_VERSION,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js'
import type { McpMessage as Message } from '../normalize/mcp-message.js'
import { backoffDelay } from '../pdp/backoff.js'
import type { StdioUpstreamConfig } from './gateway-config.js'
import {
  RequestsInFlight,
  type Upstream,
  type UpstreamChannel,
  upstreamUnavailable,
} from './upstream-channel.js'

/** Options for {@link SharedStdioUpstream}. */
export interface SharedStdioOptions {
  /** Where the child's stderr lines and restarts are reported. */
  print: (line: string) => void
  /** Largest message the child may write (one stdout line). */
  maxMessageBytes: number
  /** An upstream request unanswered this long is answered with an error. */
  requestTimeoutMs: number
  /** Version the gateway reports as its client version. */
  clientVersion?: string
  /** Restart delays. Default 250 ms doubling to 30 s. */
  backoff?: { minMs: number; maxMs: number }
}

interface Pending {
  channel: SharedChannel
  clientId: RequestId
  progressToken?: string
  timer: NodeJS.Timeout
}

// A process that stayed up this long is healthy again: its next crash restarts it without delay.
const HEALTHY_AFTER_MS = 10_000
// Stderr is the upstream's to fill: at most this many lines a second reach the gateway log.
const STDERR_LINES_PER_SECOND = 50
const STDERR_LINE_BYTES = 2048

/**
 * A stdio MCP server run as one process that every client session shares.
 *
 * How sessions map: the gateway is the process's only MCP client. It initializes the process once
 * (declaring sampling, elicitation and roots, so any request the server may send can be relayed),
 * answers each client's `initialize` with the server's own result, and multiplexes requests by
 * giving each an id of its own (and each progress token a token of its own), mapping answers back
 * to the session that asked. A request the server sends to its client goes to the session whose
 * request is the only one in flight — or, when no request or several are in flight, to the only
 * session there is; with several, the server is told no client can take it, rather than asking a
 * user it does not serve. List-changed notifications go to every session, resource updates to the
 * sessions that subscribed to the resource.
 *
 * A process that exits is restarted with exponential backoff; requests in flight at that moment
 * are answered `ERR_GATEWAY_UPSTREAM_UNAVAILABLE`, and later ones wait for the new process (up to
 * the request timeout). Stderr is captured to the gateway log, rate-limited; a stdout line that is
 * not JSON-RPC is reported and skipped.
 */
export class SharedStdioUpstream implements Upstream {
  readonly id: string
  readonly #config: StdioUpstreamConfig
  readonly #options: SharedStdioOptions
  readonly #channels = new Set<SharedChannel>()
  readonly #pending = new Map<number, Pending>()
  /** Server-initiated requests relayed to a session: the session's id for it → the server's id. */
  readonly #serverRequests = new Map<string, { channel: SharedChannel; upstreamId: RequestId }>()
  readonly #initWaiters = new Map<number, (message: Message) => void>()
  #transport: StdioClientTransport | undefined
  #ready: Promise<Record<string, unknown>> | undefined
  #initializeResult: Record<string, unknown> | undefined
  #nextId = 1
  #nextServerRequest = 1
  #failures = 0
  #restarts = 0
  #startedAt = 0
  #closing = false
  #lastError: string | undefined
  #stderrWindow = { second: 0, lines: 0, dropped: 0 }

  constructor(id: string, config: StdioUpstreamConfig, options: SharedStdioOptions) {
    this.id = id
    this.#config = config
    this.#options = options
  }

  /** Starts the process and initializes it; resolves once it takes requests. */
  start(): Promise<Record<string, unknown>> {
    this.#ready ??= this.#attempt()
    return this.#ready
  }

  /** One start of the process; a failed start is handled as an exit (restart with backoff). */
  #attempt(): Promise<Record<string, unknown>> {
    const attempt = this.#spawn()
    attempt.catch((err: Error) => {
      this.#lastError = err.message
      this.#options.print(`upstream ${this.id}: start failed: ${err.message}`)
      const transport = this.#transport
      if (!transport) return // its exit is being handled already
      this.#exited(transport)
      transport.close().catch(() => {})
    })
    return attempt
  }

  async open(): Promise<UpstreamChannel> {
    const channel = new SharedChannel(this)
    this.#channels.add(channel)
    return channel
  }

  status(): Record<string, unknown> {
    return {
      // Unauthenticated readiness probes see states, never a command line, a path or an error text.
      transport: 'stdio',
      sessions: 'shared',
      pid: this.#transport?.pid ?? null,
      ready: this.#initializeResult !== undefined,
      restarts: this.#restarts,
      open_sessions: this.#channels.size,
      failing: this.#lastError !== undefined && this.#initializeResult === undefined,
    }
  }

  async close(): Promise<void> {
    this.#closing = true
    for (const channel of [...this.#channels]) await channel.close()
    await this.#transport?.close().catch(() => {})
  }

  /** The server's initialize result, once it is running. */
  async initializeResult(): Promise<Record<string, unknown>> {
    return this.start()
  }

  // ----- client → server -----

  /** Relays one admitted message of `channel` to the process, ids made unique. */
  async relay(channel: SharedChannel, message: Message): Promise<void> {
    if (message.method !== undefined && message.id !== undefined) return this.#relayRequest(channel, message)
    if (message.method === undefined && message.id !== undefined) {
      // The client answers a request the server made: back to the server under the server's id.
      const key = String(message.id)
      const entry = this.#serverRequests.get(key)
      if (!entry || entry.channel !== channel) return
      this.#serverRequests.delete(key)
      return this.#write({ ...message, id: entry.upstreamId })
    }
    if (message.method === 'notifications/initialized') return // the gateway initialized the process
    if (message.method === 'notifications/cancelled') {
      const upstreamId = channel.upstreamIdOf(message.params?.requestId as RequestId)
      if (upstreamId === undefined) return
      return this.#write({ ...message, params: { ...message.params, requestId: upstreamId } })
    }
    return this.#write(message)
  }

  async #relayRequest(channel: SharedChannel, message: Message): Promise<void> {
    const clientId = message.id as RequestId
    if (message.method === 'initialize') {
      // Every session shares the process the gateway initialized: its answer is the server's own.
      try {
        const result = await this.#withTimeout(this.start())
        channel.deliver({ jsonrpc: '2.0', id: clientId, result } as unknown as JSONRPCMessage, clientId)
      } catch (err) {
        channel.deliver(upstreamUnavailable(clientId, `${this.id} is not running: ${(err as Error).message}`))
      }
      return
    }
    try {
      await this.#withTimeout(this.start())
    } catch (err) {
      channel.deliver(upstreamUnavailable(clientId, `${this.id} is not running: ${(err as Error).message}`))
      return
    }
    const upstreamId = this.#nextId++
    let params = message.params
    let progressToken: string | undefined
    const meta = params?._meta as Record<string, unknown> | undefined
    if (meta && (typeof meta.progressToken === 'string' || typeof meta.progressToken === 'number')) {
      progressToken = `p${upstreamId}`
      params = { ...params, _meta: { ...meta, progressToken } }
    }
    const timer = setTimeout(() => {
      if (!this.#pending.delete(upstreamId)) return
      channel.forget(clientId)
      channel.deliver(
        upstreamUnavailable(
          clientId,
          `${this.id} did not answer within ${this.#options.requestTimeoutMs} ms`,
        ),
      )
    }, this.#options.requestTimeoutMs)
    timer.unref()
    this.#pending.set(upstreamId, { channel, clientId, progressToken, timer })
    channel.started(clientId, upstreamId, message)
    if (message.method === 'resources/subscribe') channel.subscribe(message.params?.uri)
    if (message.method === 'resources/unsubscribe') channel.unsubscribe(message.params?.uri)
    await this.#write({ ...message, id: upstreamId, ...(params ? { params } : {}) })
  }

  async #write(message: Message): Promise<void> {
    const transport = this.#transport
    if (!transport) throw new Error(`${this.id} is not running`)
    await transport.send(message as unknown as JSONRPCMessage)
  }

  #withTimeout<T>(promise: Promise<T>): Promise<T> {
    const ms = this.#options.requestTimeoutMs
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready within ${ms} ms`)), ms)
      timer.unref()
      promise.then(
        (v) => {
          clearTimeout(timer)
          resolve(v)
        },
        (e) => {
          clearTimeout(timer)
          reject(e)
        },
      )
    })
  }

  /** A channel is closed: its requests are forgotten and the process is told to cancel them. */
  detach(channel: SharedChannel): void {
    this.#channels.delete(channel)
    for (const [upstreamId, pending] of this.#pending) {
      if (pending.channel !== channel) continue
      clearTimeout(pending.timer)
      this.#pending.delete(upstreamId)
      this.#write({
        jsonrpc: '2.0',
        method: 'notifications/cancelled',
        params: { requestId: upstreamId, reason: 'the client session ended' },
      }).catch(() => {})
    }
    for (const [key, entry] of this.#serverRequests)
      if (entry.channel === channel) this.#serverRequests.delete(key)
  }

  // ----- server → client -----

  #received(message: Message): void {
    if (message.method === undefined && message.id !== undefined) this.#answer(message)
    else if (message.id !== undefined) this.#serverRequest(message)
    else this.#notification(message)
  }

  #answer(message: Message): void {
    const waiter = this.#initWaiters.get(message.id as number)
    if (waiter) {
      this.#initWaiters.delete(message.id as number)
      waiter(message)
      return
    }
    const pending = typeof message.id === 'number' ? this.#pending.get(message.id) : undefined
    if (!pending) return // an answer after its timeout, or for a session that left
    this.#pending.delete(message.id as number)
    clearTimeout(pending.timer)
    pending.channel.forget(pending.clientId)
    pending.channel.deliver(
      { ...message, id: pending.clientId } as unknown as JSONRPCMessage,
      pending.clientId,
    )
  }

  #serverRequest(message: Message): void {
    const channel = this.#targetOf()
    if (!channel) {
      this.#write({
        jsonrpc: '2.0',
        id: message.id,
        error: {
          code: -32603,
          message: 'the gateway cannot tell which client session this request is for',
          data: { reason: 'ERR_GATEWAY_UPSTREAM_UNAVAILABLE' },
        },
      }).catch(() => {})
      return
    }
    const key = `gw-${this.#nextServerRequest++}`
    this.#serverRequests.set(key, { channel, upstreamId: message.id as RequestId })
    channel.deliver({ ...message, id: key } as unknown as JSONRPCMessage, channel.onlyRequestInFlight())
  }

  /** The session a server request or a log message is for: see the class comment. */
  #targetOf(): SharedChannel | undefined {
    const busy = [...this.#channels].filter((c) => c.busy)
    if (busy.length === 1) return busy[0]
    if (this.#channels.size === 1) return this.#channels.values().next().value
    return undefined
  }

  #notification(message: Message): void {
    const params = message.params ?? {}
    if (message.method === 'notifications/progress') {
      const token = params.progressToken
      const entry = [...this.#pending.values()].find((p) => p.progressToken === token)
      if (!entry) return
      const clientToken = entry.channel.progressTokenOf(entry.clientId)
      entry.channel.deliver(
        { ...message, params: { ...params, progressToken: clientToken } } as unknown as JSONRPCMessage,
        entry.clientId,
      )
      return
    }
    if (message.method === 'notifications/cancelled') {
      // The server gives up a request it made of a client: tell that client, under its id.
      for (const [key, entry] of this.#serverRequests) {
        if (entry.upstreamId !== params.requestId) continue
        this.#serverRequests.delete(key)
        entry.channel.deliver({
          ...message,
          params: { ...params, requestId: key },
        } as unknown as JSONRPCMessage)
      }
      return
    }
    if (message.method === 'notifications/resources/updated') {
      for (const channel of this.#channels)
        if (channel.subscribedTo(params.uri)) channel.deliver(message as unknown as JSONRPCMessage)
      return
    }
    if (message.method === 'notifications/message') {
      // A log line cannot be tied to a request: it goes to a session only when there is just one.
      if (this.#channels.size !== 1) return
      const channel = this.#channels.values().next().value!
      channel.deliver(message as unknown as JSONRPCMessage, channel.onlyRequestInFlight())
      return
    }
    for (const channel of this.#channels) channel.deliver(message as unknown as JSONRPCMessage)
  }

  // ----- the process -----

  async #spawn(): Promise<Record<string, unknown>> {
    const config = this.#config
    const transport = new StdioClientTransport({
      command: config.command,
      args: config.args,
      env: { ...getDefaultEnvironment(), ...config.env },
      cwd: config.cwd,
      stderr: 'pipe',
      maxBufferSize: this.#options.maxMessageBytes,
    })
    this.#transport = transport
    transport.onmessage = (message) => this.#received(message as unknown as Message)
    transport.onerror = (error) => {
      this.#lastError = error.message
      this.#options.print(`upstream ${this.id}: ${error.message.slice(0, 300)}`)
    }
    const exited = new Promise<never>((_, reject) => {
      transport.onclose = () => {
        reject(new Error('the process exited'))
        this.#exited(transport)
      }
    })
    exited.catch(() => {})
    await transport.start()
    this.#startedAt = Date.now()
    const stderr = transport.stderr as Readable | null
    if (stderr)
      createInterface({ input: stderr, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (l) =>
        this.#stderrLine(l),
      )
    const initId = this.#nextId++
    const answered = new Promise<Message>((resolve) => this.#initWaiters.set(initId, resolve))
    await transport.send({
      jsonrpc: '2.0',
      id: initId,
      method: 'initialize',
      params: {
        protocolVersion: LATEST_PROTOCOL_VERSION,
        // Whatever the server may ask of a client, the gateway can relay to one.
        capabilities: { sampling: {}, elicitation: {}, roots: { listChanged: true } },
        clientInfo: { name: 'mcp-policy-gateway', version: this.#options.clientVersion ?? '0' },
      },
    })
    const reply = await Promise.race([answered, exited])
    if (!reply.result || typeof reply.result !== 'object')
      throw new Error(`initialize failed: ${JSON.stringify(reply.error ?? reply).slice(0, 300)}`)
    await transport.send({ jsonrpc: '2.0', method: 'notifications/initialized' })
    this.#initializeResult = reply.result as Record<string, unknown>
    return this.#initializeResult
  }

  #exited(transport: StdioClientTransport): void {
    if (transport !== this.#transport) return
    this.#transport = undefined
    this.#initializeResult = undefined
    this.#initWaiters.clear()
    for (const [upstreamId, pending] of this.#pending) {
      clearTimeout(pending.timer)
      this.#pending.delete(upstreamId)
      pending.channel.forget(pending.clientId)
      pending.channel.deliver(
        upstreamUnavailable(pending.clientId, `${this.id} exited; it is being restarted`),
      )
    }
    this.#serverRequests.clear()
    if (this.#closing) return
    if (Date.now() - this.#startedAt > HEALTHY_AFTER_MS) this.#failures = 0
    this.#failures++
    this.#restarts++
    const delay = backoffDelay(
      this.#failures,
      this.#options.backoff ?? { minMs: 250, maxMs: 30_000 },
      Math.random,
    )
    this.#options.print(`upstream ${this.id}: process exited; restarting in ${delay} ms`)
    // Requests arriving meanwhile wait for the new process (bounded by the request timeout).
    this.#ready = new Promise<void>((resolve) => setTimeout(resolve, delay).unref()).then(() =>
      this.#closing ? Promise.reject(new Error('the gateway is stopping')) : this.#attempt(),
    )
    this.#ready.catch(() => {})
  }

  #reportDropped(second: number): void {
    const window = this.#stderrWindow
    if (window.second !== second || window.dropped === 0) return
    this.#options.print(`upstream ${this.id} stderr: … ${window.dropped} lines dropped (rate limit)`)
    window.dropped = 0
  }

  #stderrLine(line: string): void {
    const second = Math.floor(Date.now() / 1000)
    if (this.#stderrWindow.second !== second) {
      this.#reportDropped(this.#stderrWindow.second)
      this.#stderrWindow = { second, lines: 0, dropped: 0 }
    }
    if (++this.#stderrWindow.lines > STDERR_LINES_PER_SECOND) {
      // The count is reported when the second is over, even if the flood stops here.
      if (this.#stderrWindow.dropped++ === 0) setTimeout(() => this.#reportDropped(second), 1000).unref()
      return
    }
    this.#options.print(`upstream ${this.id} stderr: ${line.slice(0, STDERR_LINE_BYTES)}`)
  }
}

/** One client session on a {@link SharedStdioUpstream}. */
class SharedChannel implements UpstreamChannel {
  onmessage?: (message: JSONRPCMessage, relatedRequestId?: RequestId) => void
  onclose?: () => void
  readonly #upstream: SharedStdioUpstream
  readonly #inFlight = new RequestsInFlight()
  /** Client request id → the id the process knows it by, and the client's progress token. */
  readonly #requests = new Map<RequestId, { upstreamId: number; progressToken?: string | number }>()
  readonly #subscriptions = new Set<string>()
  #closed = false

  constructor(upstream: SharedStdioUpstream) {
    this.#upstream = upstream
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (this.#closed) return Promise.resolve()
    return this.#upstream.relay(this, message as unknown as Message)
  }

  get busy(): boolean {
    return this.#inFlight.size > 0
  }

  onlyRequestInFlight(): RequestId | undefined {
    return this.#inFlight.only()
  }

  started(clientId: RequestId, upstreamId: number, message: Message): void {
    this.#inFlight.started(message as unknown as JSONRPCMessage)
    const meta = message.params?._meta as { progressToken?: string | number } | undefined
    this.#requests.set(clientId, { upstreamId, progressToken: meta?.progressToken })
  }

  forget(clientId: RequestId): void {
    this.#inFlight.finished(clientId)
    this.#requests.delete(clientId)
  }

  upstreamIdOf(clientId: RequestId): number | undefined {
    return this.#requests.get(clientId)?.upstreamId
  }

  progressTokenOf(clientId: RequestId): string | number | undefined {
    return this.#requests.get(clientId)?.progressToken
  }

  subscribe(uri: unknown): void {
    if (typeof uri === 'string') this.#subscriptions.add(uri)
  }

  unsubscribe(uri: unknown): void {
    if (typeof uri === 'string') this.#subscriptions.delete(uri)
  }

  subscribedTo(uri: unknown): boolean {
    return typeof uri === 'string' && this.#subscriptions.has(uri)
  }

  deliver(message: JSONRPCMessage, relatedRequestId?: RequestId): void {
    if (!this.#closed) this.onmessage?.(message, relatedRequestId)
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#upstream.detach(this)
    this.#inFlight.clear()
    this.#requests.clear()
  }
}
