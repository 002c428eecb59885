import { Redis, type RedisOptions } from 'ioredis'
import { McpPolicyError } from '../errors.js'
import { ChangeFeed } from './change-feed.js'
import { isWireChange } from './cluster-state-messages.js'
import { checkKey, checkNamespace, checkTtl, deepFreeze, encodeValue } from './entry-bounds.js'
import type { WireChange } from './entry-table.js'
import type { StateAvailabilityListener, StateChangeListener, StateEntry, StateStore } from './state-store.js'

/** Where and how a {@link RedisStateStore} connects. */
export interface RedisStateStoreOptions {
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  url: string
  /** Prefix of every key and of the change channel, so several deployments can share a Redis. Default `mcp-policy:`. */
  keyPrefix?: string
  /** A command that has not answered in this time fails (`ERR_STATE_UNAVAILABLE`). Default 1000. */
  commandTimeoutMs?: number
  /** Time to establish a connection, and what {@link RedisStateStore.start} waits at most. Default 2000. */
  connectTimeoutMs?: number
  /**
   * Both connections are PINGed this often; one that does not answer within the command timeout
   * is dropped and reconnected (unavailable meanwhile). Without it a silently broken connection
   * (a partition, a hung server) would look ready while no change notice arrives. Default 1000.
   */
  heartbeatMs?: number
}

/** Key prefixes: no glob characters, so a prefix stands in a SCAN pattern unescaped. */
export const redisKeyPrefixPattern: RegExp = /^[A-Za-z0-9:_.-]{0,64}$/

// SET (or SET NX) and the change notice in one atomic step: no watcher can miss a write that
// happened, and none hears of one that did not.
const SET_AND_PUBLISH = `
local written
if ARGV[5] == '1' then
  written = redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX')
else
  written = redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
if written then
  redis.call('PUBLISH', ARGV[3], ARGV[4])
  return 1
end
return 0`

const DELETE_AND_PUBLISH = `
local removed = redis.call('DEL', KEYS[1])
if removed > 0 then redis.call('PUBLISH', ARGV[1], ARGV[2]) end
return removed`

type ScriptedRedis = Redis & {
  setAndPublish(
    key: string,
    envelope: string,
    ttlMs: number,
    channel: string,
    notice: string,
    nx: '0' | '1',
  ): Promise<number>
  deleteAndPublish(key: string, channel: string, notice: string): Promise<number>
}

/**
 * The {@link StateStore} shared by every worker of every replica: entries are Redis keys with a
 * TTL (`PX`), each write publishes a change notice in the same Lua script, and every store
 * instance subscribes with a connection of its own (no worker depends on another, nor on the
 * cluster primary, to learn of a change).
 *
 * Fails fast: no offline queue, a command timeout, so a decision never waits on a Redis that is
 * gone. Available while both connections are ready and subscribed; after an outage the feed's
 * watchers are told (`onAvailability(true)`) and rescan, since notices published while this
 * instance was disconnected are lost. Reconnects by itself with backoff (at most 2 s apart).
 *
 * @throws McpPolicyError `ERR_STATE_CONFIG_INVALID` from the constructor for a URL that is not
 *   `redis:` / `rediss:` or a bad key prefix.
 * @example
 * ```ts
 * const store = new RedisStateStore({ url: 'redis://127.0.0.1:6379/0' })
 * await store.start()
 * store.watch('revocation', (change) => console.log(change))
 * await store.set('revocation', 'session:abc', { at: Date.now() }, 3_600_000)
 * await store.close()
 * ```
 */
export class RedisStateStore implements StateStore {
  readonly backend = 'redis' as const
  readonly #commands: ScriptedRedis
  readonly #subscriber: Redis
  readonly #prefix: string
  readonly #channel: string
  readonly #connectTimeoutMs: number
  readonly #feed = new ChangeFeed(false)
  #subscribed = false
  #closed = false
  #started: Promise<void> | undefined
  #lastError: string | undefined
  #heartbeat: NodeJS.Timeout | undefined

  constructor(options: RedisStateStoreOptions) {
    let url: URL
    try {
      url = new URL(options.url)
    } catch {
      throw new McpPolicyError('ERR_STATE_CONFIG_INVALID', 'state: redis.url is not a URL')
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
      throw new McpPolicyError('ERR_STATE_CONFIG_INVALID', 'state: redis.url must be redis:// or rediss://')
    const prefix = options.keyPrefix ?? 'mcp-policy:'
    if (!redisKeyPrefixPattern.test(prefix))
      throw new McpPolicyError(
        'ERR_STATE_CONFIG_INVALID',
        `state: redis.keyPrefix must match ${redisKeyPrefixPattern}`,
      )
    this.#prefix = prefix
    this.#channel = `${prefix}changes`
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 2_000
    const redisOptions: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResubscribe: false,
      commandTimeout: options.commandTimeoutMs ?? 1_000,
      connectTimeout: this.#connectTimeoutMs,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    }
    this.#commands = new Redis(options.url, redisOptions) as ScriptedRedis
    this.#commands.defineCommand('setAndPublish', { numberOfKeys: 1, lua: SET_AND_PUBLISH })
    this.#commands.defineCommand('deleteAndPublish', { numberOfKeys: 1, lua: DELETE_AND_PUBLISH })
    this.#subscriber = new Redis(options.url, redisOptions)
    for (const connection of [this.#commands, this.#subscriber]) {
      // Without a listener an 'error' event would end the process; the state is in `available`.
      connection.on('error', (err: Error) => {
        this.#lastError = err.message
      })
      connection.on('ready', () => this.#update())
      connection.on('close', () => {
        if (connection === this.#subscriber) this.#subscribed = false
        this.#update()
      })
    }
    this.#subscriber.on('ready', () => {
      this.#subscriber.subscribe(this.#channel).then(
        () => {
          this.#subscribed = true
          this.#update()
        },
        (err: Error) => {
          this.#lastError = err.message
          // Subscribing failed on a live connection: drop it, and the reconnect tries again.
          this.#subscriber.disconnect(true)
        },
      )
    })
    this.#subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.#channel) this.#notice(message)
    })
    this.#heartbeat = setInterval(() => this.#beat(), options.heartbeatMs ?? 1_000)
    this.#heartbeat.unref()
  }

  #beat(): void {
    for (const connection of [this.#commands, this.#subscriber]) {
      if (connection.status !== 'ready') continue
      // PING is allowed on a subscribed connection; the command timeout bounds the wait.
      connection.ping().catch((err: Error) => {
        this.#lastError = `heartbeat: ${err.message}`
        if (connection === this.#subscriber) this.#subscribed = false
        if (connection.status === 'ready') connection.disconnect(true)
        this.#update()
      })
    }
  }

  get available(): boolean {
    return this.#feed.available
  }

  /** The last connection or command error, for status (no URL, so no credentials). */
  get lastError(): string | undefined {
    return this.#lastError
  }

  /**
   * Connects both connections and waits until they are ready and subscribed, at most
   * `connectTimeoutMs`; resolves either way (unavailable, reconnecting in the background).
   */
  start(): Promise<void> {
    this.#started ??= new Promise<void>((resolve) => {
      const timer = setTimeout(done, this.#connectTimeoutMs)
      timer.unref()
      const stop = this.#feed.onAvailability((available) => {
        if (available) done()
      })
      function done() {
        clearTimeout(timer)
        stop()
        resolve()
      }
      for (const connection of [this.#commands, this.#subscriber])
        connection.connect().catch((err: Error) => {
          this.#lastError = err.message
        })
    })
    return this.#started
  }

  async get(namespace: string, key: string): Promise<StateEntry | undefined> {
    checkNamespace(namespace)
    checkKey(key)
    const envelope = await this.#run(() => this.#commands.get(this.#key(namespace, key)))
    return envelope === null ? undefined : entryOf(key, envelope)
  }

  async set(namespace: string, key: string, value: unknown, ttlMs: number): Promise<void> {
    await this.#write(namespace, key, value, ttlMs, false)
  }

  async setIfAbsent(namespace: string, key: string, value: unknown, ttlMs: number): Promise<boolean> {
    return this.#write(namespace, key, value, ttlMs, true)
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    checkNamespace(namespace)
    checkKey(key)
    const notice = JSON.stringify({ op: 'delete', namespace, key } satisfies WireChange)
    const removed = await this.#run(() =>
      this.#commands.deleteAndPublish(this.#key(namespace, key), this.#channel, notice),
    )
    return removed > 0
  }

  async scan(namespace: string): Promise<StateEntry[]> {
    checkNamespace(namespace)
    const prefix = `${this.#prefix}${namespace}:`
    const entries: StateEntry[] = []
    let cursor = '0'
    do {
      const [next, keys] = await this.#run(() =>
        this.#commands.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000),
      )
      cursor = next
      if (keys.length === 0) continue
      const envelopes = await this.#run(() => this.#commands.mget(keys))
      keys.forEach((fullKey, i) => {
        const envelope = envelopes[i]
        // Gone between SCAN and MGET: expired or deleted, and so not an entry.
        if (envelope === null || envelope === undefined) return
        const entry = entryOf(fullKey.slice(prefix.length), envelope)
        if (entry) entries.push(entry)
      })
    } while (cursor !== '0')
    return entries
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
    clearInterval(this.#heartbeat)
    this.#commands.disconnect()
    this.#subscriber.disconnect()
    this.#feed.setAvailable(false)
  }

  async #write(namespace: string, key: string, value: unknown, ttlMs: number, nx: boolean): Promise<boolean> {
    checkNamespace(namespace)
    checkKey(key)
    const json = encodeValue(value)
    const ttl = checkTtl(ttlMs)
    const expiresAt = Date.now() + ttl
    const envelope = `{"e":${expiresAt},"v":${json}}`
    const notice = JSON.stringify({ op: 'set', namespace, key, json, expiresAt } satisfies WireChange)
    const written = await this.#run(() =>
      this.#commands.setAndPublish(
        this.#key(namespace, key),
        envelope,
        ttl,
        this.#channel,
        notice,
        nx ? '1' : '0',
      ),
    )
    return written === 1
  }

  #key(namespace: string, key: string): string {
    return `${this.#prefix}${namespace}:${key}`
  }

  #notice(message: string): void {
    let change: unknown
    try {
      change = JSON.parse(message)
    } catch {
      return
    }
    if (isWireChange(change)) this.#feed.emit(change)
  }

  #update(): void {
    const available =
      !this.#closed &&
      this.#commands.status === 'ready' &&
      this.#subscriber.status === 'ready' &&
      this.#subscribed
    this.#feed.setAvailable(available)
  }

  async #run<T>(command: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new McpPolicyError('ERR_STATE_UNAVAILABLE', 'state: the store is closed')
    try {
      return await command()
    } catch (err) {
      this.#lastError = (err as Error).message
      throw new McpPolicyError('ERR_STATE_UNAVAILABLE', `state: redis: ${(err as Error).message}`, {
        cause: err,
      })
    }
  }
}

function entryOf(key: string, envelope: string): StateEntry | undefined {
  try {
    const parsed = JSON.parse(envelope) as { e?: unknown; v?: unknown }
    if (typeof parsed.e !== 'number' || !('v' in parsed)) return undefined
    return { key, value: deepFreeze(parsed.v), expiresAt: parsed.e }
  } catch {
    return undefined
  }
}
