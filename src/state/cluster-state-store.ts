import { McpPolicyError } from '../errors.js'
import { ChangeFeed } from './change-feed.js'
import {
  isStateMessage,
  isWireChange,
  type PrimaryStateMessage,
  stateMessageTag,
  type WorkerStateMessage,
} from './cluster-state-messages.js'
import { checkKey, checkNamespace, checkTtl, decodeValue, encodeValue } from './entry-bounds.js'
import { EntryTable, type WireChange } from './entry-table.js'
import type { StateAvailabilityListener, StateChangeListener, StateEntry, StateStore } from './state-store.js'

/** The channel to the primary: `process` in a cluster worker. */
export interface PrimaryChannel {
  send?(
    message: unknown,
    sendHandle?: undefined,
    options?: undefined,
    callback?: (error: Error | null) => void,
  ): boolean
  readonly connected?: boolean
  on(event: 'message', listener: (message: unknown) => void): unknown
  on(event: 'disconnect', listener: () => void): unknown
  off(event: 'message', listener: (message: unknown) => void): unknown
  off(event: 'disconnect', listener: () => void): unknown
}

/**
 * Timing of a {@link ClusterStateStore}.
 *
 * @internal
 */
export interface ClusterStateStoreOptions {
  /** How long `setIfAbsent` and the startup snapshot wait for the primary. Default 2000. */
  requestTimeoutMs?: number
  /** Pause between snapshot requests while the primary does not answer. Default 1000. */
  retryMs?: number
}

const SWEEP_INTERVAL_MS = 30_000

/**
 * The in-memory store of one `mcp-policy serve` worker: a full replica of the entries, kept by
 * the cluster primary's {@link ClusterStateRelay}. Reads and change notifications are local (no
 * decision waits on another process); a write is applied here at once and sent to the primary,
 * which orders it and sends it to every worker. `setIfAbsent` asks the primary, the single judge
 * of which write came first.
 *
 * Available once the startup snapshot has arrived (asked again every `retryMs` until it does),
 * and for as long as the channel to the primary is connected. A primary that is slow (a relay
 * hiccup) does not make it unavailable: decisions go on from the replica, and changes from other
 * workers arrive when the primary catches up. A worker whose primary is gone (channel
 * disconnected) is unavailable for good: it can no longer learn of revocations.
 *
 * @internal
 *
 * @example
 * ```ts
 * // in a worker forked with MCP_POLICY_STATE_RELAY=1 by a primary running ClusterStateRelay
 * const store = new ClusterStateStore(process)
 * await store.start()
 * ```
 */
export class ClusterStateStore implements StateStore {
  readonly backend = 'memory' as const
  readonly #channel: PrimaryChannel
  readonly #table = new EntryTable()
  readonly #feed = new ChangeFeed(false)
  readonly #timeoutMs: number
  readonly #retryMs: number
  readonly #pending = new Map<
    number,
    { resolve: (message: PrimaryStateMessage) => void; timer: NodeJS.Timeout }
  >()
  readonly #onMessage: (message: unknown) => void
  readonly #onDisconnect: () => void
  readonly #sweeper: NodeJS.Timeout
  #nextId = 1
  #snapshotLoaded = false
  #disconnected = false
  #closed = false
  #retry: NodeJS.Timeout | undefined
  #started: Promise<void> | undefined

  constructor(channel: PrimaryChannel, options: ClusterStateStoreOptions = {}) {
    this.#channel = channel
    this.#timeoutMs = options.requestTimeoutMs ?? 2_000
    this.#retryMs = options.retryMs ?? 1_000
    this.#onMessage = (message) => {
      if (isStateMessage(message)) this.#handle(message as PrimaryStateMessage)
    }
    this.#onDisconnect = () => {
      this.#disconnected = true
      this.#feed.setAvailable(false)
    }
    channel.on('message', this.#onMessage)
    channel.on('disconnect', this.#onDisconnect)
    this.#sweeper = setInterval(() => this.#table.sweep(Date.now()), SWEEP_INTERVAL_MS)
    this.#sweeper.unref()
  }

  get available(): boolean {
    return this.#feed.available
  }

  /**
   * Asks the primary for the snapshot and waits for it up to `requestTimeoutMs`; without an
   * answer it resolves anyway, unavailable, and keeps asking in the background.
   */
  start(): Promise<void> {
    this.#started ??= this.#requestSnapshot().then(() => {})
    return this.#started
  }

  async get(namespace: string, key: string): Promise<StateEntry | undefined> {
    this.#readable()
    checkNamespace(namespace)
    checkKey(key)
    const entry = this.#table.get(namespace, key, Date.now())
    return entry && { key, value: decodeValue(entry.json), expiresAt: entry.expiresAt }
  }

  async set(namespace: string, key: string, value: unknown, ttlMs: number): Promise<void> {
    this.#open()
    checkNamespace(namespace)
    checkKey(key)
    this.#write({
      op: 'set',
      namespace,
      key,
      json: encodeValue(value),
      expiresAt: Date.now() + checkTtl(ttlMs),
    })
  }

  async setIfAbsent(namespace: string, key: string, value: unknown, ttlMs: number): Promise<boolean> {
    this.#open()
    checkNamespace(namespace)
    checkKey(key)
    const json = encodeValue(value)
    const expiresAt = Date.now() + checkTtl(ttlMs)
    // A live entry here is in the primary too (or was, and the primary will say so): no round trip.
    if (this.#table.get(namespace, key, Date.now()) !== undefined) return false
    const id = this.#nextId++
    const answer = await this.#request(
      { tag: stateMessageTag, kind: 'set-if-absent', id, namespace, key, json, expiresAt },
      id,
    )
    if (answer?.kind !== 'set-if-absent-result')
      throw new McpPolicyError(
        'ERR_STATE_UNAVAILABLE',
        `state: the cluster primary did not answer setIfAbsent within ${this.#timeoutMs} ms`,
      )
    if (answer.written) this.#apply({ op: 'set', namespace, key, json, expiresAt })
    return answer.written
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    this.#open()
    checkNamespace(namespace)
    checkKey(key)
    const had = this.#table.get(namespace, key, Date.now()) !== undefined
    this.#write({ op: 'delete', namespace, key })
    return had
  }

  async scan(namespace: string): Promise<StateEntry[]> {
    this.#readable()
    checkNamespace(namespace)
    return this.#table
      .scan(namespace, Date.now())
      .map(({ key, entry }) => ({ key, value: decodeValue(entry.json), expiresAt: entry.expiresAt }))
  }

  watch(namespace: string, listener: StateChangeListener): () => void {
    checkNamespace(namespace)
    return this.#feed.watch(namespace, listener)
  }

  onAvailability(listener: StateAvailabilityListener): () => void {
    return this.#feed.onAvailability(listener)
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#sweeper)
    clearTimeout(this.#retry)
    this.#channel.off('message', this.#onMessage)
    this.#channel.off('disconnect', this.#onDisconnect)
    for (const [, pending] of this.#pending) clearTimeout(pending.timer)
    this.#pending.clear()
    this.#feed.setAvailable(false)
  }

  // Applied here first (read-your-writes, and decisions here see it at once), then ordered by the
  // primary, whose echo makes every replica end with the same last write.
  #write(change: WireChange): void {
    this.#apply(change)
    this.#send({ tag: stateMessageTag, kind: 'write', change })
  }

  #apply(change: WireChange): void {
    if (this.#table.apply(change, Date.now())) this.#feed.emit(change)
  }

  #handle(message: PrimaryStateMessage): void {
    switch (message.kind) {
      case 'change':
        if (isWireChange(message.change)) this.#apply(message.change)
        return
      case 'snapshot':
      case 'set-if-absent-result': {
        const pending = this.#pending.get(message.id)
        if (!pending) return
        this.#pending.delete(message.id)
        clearTimeout(pending.timer)
        pending.resolve(message)
        return
      }
      default:
        return
    }
  }

  async #requestSnapshot(): Promise<void> {
    if (this.#closed || this.#disconnected) return
    const id = this.#nextId++
    const answer = await this.#request({ tag: stateMessageTag, kind: 'snapshot-request', id }, id)
    if (this.#closed) return
    if (answer?.kind === 'snapshot' && Array.isArray(answer.entries)) {
      // Changes the primary relayed before answering are in the snapshot; later ones follow it on
      // the same ordered channel, so replacing the replica loses nothing.
      this.#table.replace(answer.entries, Date.now())
      this.#snapshotLoaded = true
      if (!this.#disconnected) this.#feed.setAvailable(true)
      return
    }
    this.#retry = setTimeout(() => void this.#requestSnapshot(), this.#retryMs)
    this.#retry.unref()
  }

  #request(message: WorkerStateMessage, id: number): Promise<PrimaryStateMessage | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        resolve(undefined)
      }, this.#timeoutMs)
      timer.unref()
      this.#pending.set(id, { resolve, timer })
      if (!this.#send(message)) {
        this.#pending.delete(id)
        clearTimeout(timer)
        resolve(undefined)
      }
    })
  }

  #send(message: WorkerStateMessage): boolean {
    if (this.#disconnected || !this.#channel.send || this.#channel.connected === false) return false
    try {
      // The callback swallows the error of a channel closing under us; 'disconnect' reports it.
      this.#channel.send(message, undefined, undefined, () => {})
      return true
    } catch {
      return false
    }
  }

  // Writes need the channel: a write nobody else will learn of is not a shared write.
  #open(): void {
    if (this.#closed) throw new McpPolicyError('ERR_STATE_UNAVAILABLE', 'state: the store is closed')
    if (this.#disconnected)
      throw new McpPolicyError('ERR_STATE_UNAVAILABLE', 'state: the channel to the cluster primary is closed')
  }

  // Reads need the snapshot: an empty replica would answer "no entry" for every key.
  #readable(): void {
    this.#open()
    if (!this.#snapshotLoaded)
      throw new McpPolicyError(
        'ERR_STATE_UNAVAILABLE',
        'state: the snapshot from the cluster primary has not arrived yet',
      )
  }
}
