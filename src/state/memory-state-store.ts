import { McpPolicyError } from '../errors.js'
import { ChangeFeed } from './change-feed.js'
import { checkKey, checkNamespace, checkTtl, decodeValue, encodeValue } from './entry-bounds.js'
import { EntryTable } from './entry-table.js'
import type { StateAvailabilityListener, StateChangeListener, StateEntry, StateStore } from './state-store.js'

/** How often expired entries nobody looked up are dropped. */
const SWEEP_INTERVAL_MS = 30_000

/**
 * The default {@link StateStore}: entries in this process's memory, watchers told synchronously
 * as a write happens. One process only: workers of `mcp-policy serve` use the cluster store
 * (`ClusterStateStore`), which keeps a replica like this one in every worker and relays changes
 * through the cluster primary. Entries are gone when the process ends; use Redis to keep them
 * across restarts and share them between replicas.
 *
 * @example
 * ```ts
 * const store = new MemoryStateStore()
 * await store.set('revocation', 'session:abc', { at: Date.now() }, 60_000)
 * (await store.get('revocation', 'session:abc'))?.value // { at: … }
 * await store.close()
 * ```
 */
export class MemoryStateStore implements StateStore {
  readonly backend = 'memory' as const
  readonly #table = new EntryTable()
  readonly #feed = new ChangeFeed(true)
  readonly #sweeper: NodeJS.Timeout
  #closed = false

  constructor() {
    this.#sweeper = setInterval(() => this.#table.sweep(Date.now()), SWEEP_INTERVAL_MS)
    this.#sweeper.unref()
  }

  get available(): boolean {
    return this.#feed.available
  }

  /** Number of entries held (expired ones not yet swept included). */
  get size(): number {
    return this.#table.size
  }

  async start(): Promise<void> {}

  async get(namespace: string, key: string): Promise<StateEntry | undefined> {
    this.#open()
    checkNamespace(namespace)
    checkKey(key)
    const entry = this.#table.get(namespace, key, Date.now())
    return entry && { key, value: decodeValue(entry.json), expiresAt: entry.expiresAt }
  }

  async set(namespace: string, key: string, value: unknown, ttlMs: number): Promise<void> {
    this.#open()
    checkNamespace(namespace)
    checkKey(key)
    const change = {
      op: 'set',
      namespace,
      key,
      json: encodeValue(value),
      expiresAt: Date.now() + checkTtl(ttlMs),
    } as const
    if (this.#table.apply(change, Date.now())) this.#feed.emit(change)
  }

  async setIfAbsent(namespace: string, key: string, value: unknown, ttlMs: number): Promise<boolean> {
    this.#open()
    checkNamespace(namespace)
    checkKey(key)
    const json = encodeValue(value)
    const expiresAt = Date.now() + checkTtl(ttlMs)
    if (this.#table.get(namespace, key, Date.now()) !== undefined) return false
    const change = { op: 'set', namespace, key, json, expiresAt } as const
    this.#table.apply(change, Date.now())
    this.#feed.emit(change)
    return true
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    this.#open()
    checkNamespace(namespace)
    checkKey(key)
    const change = { op: 'delete', namespace, key } as const
    const had = this.#table.apply(change, Date.now())
    if (had) this.#feed.emit(change)
    return had
  }

  async scan(namespace: string): Promise<StateEntry[]> {
    this.#open()
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
    this.#feed.setAvailable(false)
  }

  #open(): void {
    if (this.#closed) throw new McpPolicyError('ERR_STATE_UNAVAILABLE', 'state: the store is closed')
  }
}
