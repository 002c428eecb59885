/**
 * One entry of a {@link StateStore}: a JSON value under a key of a namespace, until `expiresAt`.
 */
export interface StateEntry {
  key: string
  /** The stored JSON value, deeply frozen (shared with other readers: never changed). */
  value: unknown
  /** Epoch milliseconds after which the entry is gone. */
  expiresAt: number
}

/**
 * A change to a namespace, as every watcher of it learns of it: in this process, in every
 * worker of a cluster, and in every replica sharing the same Redis.
 */
export type StateChange =
  | { op: 'set'; namespace: string; key: string; value: unknown; expiresAt: number }
  | { op: 'delete'; namespace: string; key: string }

/** Told of each change of a watched namespace. Must not throw (a throw is swallowed). */
export type StateChangeListener = (change: StateChange) => void

/**
 * Told when the store becomes available (`true`) or unavailable (`false`). A `true` after a
 * `false` means changes may have been missed in between: a watcher that keeps a view of a
 * namespace scans it again before trusting that view.
 */
export type StateAvailabilityListener = (available: boolean) => void

/** Which backend a store is. */
export type StateBackend = 'memory' | 'redis'

/**
 * State shared across decisions, workers and replicas: keyed entries with a TTL, a change feed
 * per namespace, and a scan of a namespace for a (re)starting reader. The decision path reads a
 * view kept current from the feed (never a round trip per decision); writers are revocation
 * receivers and the like, off the decision path.
 *
 * Every entry has a TTL: nothing in a store lives forever, so a store cannot grow without bound
 * from entries nobody deletes. Namespaces match {@link namespacePattern}.
 *
 * Operations reject with `ERR_STATE_UNAVAILABLE` when the backend cannot answer in time, and
 * with `ERR_STATE_ENTRY_INVALID` for a malformed namespace, key, value or TTL.
 *
 * @example
 * ```ts
 * const store: StateStore = new MemoryStateStore()
 * const stop = store.watch('revocation', (change) => console.log(change.op, change.key))
 * await store.set('revocation', 'session:abc', { at: Date.now() }, 3_600_000)
 * const fresh = await store.setIfAbsent('jti', 'set-123', true, 600_000) // false on a replay
 * stop()
 * ```
 */
export interface StateStore {
  readonly backend: StateBackend
  /**
   * True while reads answer and the change feed delivers. Readers that must not act on a stale
   * view (a revocation check) treat `false` as "cannot know".
   */
  readonly available: boolean
  /** Connects and loads what is needed before the first read. Never rejects for an unreachable backend: it stays unavailable and keeps trying. */
  start(): Promise<void>
  /** The live entry, or `undefined`. */
  get(namespace: string, key: string): Promise<StateEntry | undefined>
  /** Writes (or overwrites) an entry for `ttlMs`, and tells every watcher. */
  set(namespace: string, key: string, value: unknown, ttlMs: number): Promise<void>
  /**
   * Writes the entry only if no live entry has the key, atomically across every worker and
   * replica (one winner): `true` if this call wrote it. A replay check (`jti`) is this call.
   */
  setIfAbsent(namespace: string, key: string, value: unknown, ttlMs: number): Promise<boolean>
  /** Removes an entry and tells every watcher; `true` if there was one. */
  delete(namespace: string, key: string): Promise<boolean>
  /** Every live entry of a namespace (a starting reader's load). */
  scan(namespace: string): Promise<StateEntry[]>
  /** Calls `listener` with each later change of `namespace`, until the returned function is called. */
  watch(namespace: string, listener: StateChangeListener): () => void
  /** Calls `listener` on each availability transition, until the returned function is called. */
  onAvailability(listener: StateAvailabilityListener): () => void
  /** Disconnects; later operations reject. */
  close(): Promise<void>
}

/**
 * Namespace names: lower-case letters, digits and dashes, starting with a letter, so they can
 * stand in Redis key names and channel names unescaped.
 *
 * @internal
 *
 * @example
 * ```ts
 * namespacePattern.test('revocation') // true
 * ```
 */
export const namespacePattern: RegExp = /^[a-z][a-z0-9-]{0,63}$/
