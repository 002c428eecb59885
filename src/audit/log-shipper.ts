import { open, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzip as gzipCallback } from 'node:zlib'
import { Agent, type Dispatcher, request } from 'undici'
import { McpPolicyError, toMcpPolicyError } from '../errors.js'
import { eventFilePath } from './decision-log.js'
import { readShipCursor, type ShipCursor, type ShipPosition, writeShipCursor } from './ship-cursor.js'

const gzip = promisify(gzipCallback)
const EVENT_FILE = /^decisions-(.+)-(\d{6})\.jsonl$/

/**
 * Options for {@link LogShipper}: where the log is, where the collector is, and how to batch and
 * retry. Everything but `dir` and `url` has a default, so a PDP config can pass `{url, token}`.
 */
export interface LogShipperOptions {
  /** The decision log directory (the `dir` of {@link DecisionLogOptions}). */
  dir: string
  /** The collector's base URL (an OPA decision-log service); events go to `<url>/<resource>`. */
  url: string
  /** Path under `url`, as OPA's `decision_logs.resource`. Default `logs`. */
  resource?: string
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string
  /** More request headers (e.g. a tenant id). */
  headers?: Record<string, string>
  /** Where the acknowledged position is kept. Default `<dir>/ship-cursor.json`. */
  cursorPath?: string
  /** Most events per upload. Default 1,000. A 413 from the collector halves it for that chain. */
  maxBatchEvents?: number
  /** Most uncompressed bytes of events per upload (a longer single event goes alone). Default 1 MiB. */
  maxBatchBytes?: number
  /** How often to look for new events when caught up. Default 1,000 ms. */
  pollIntervalMs?: number
  /** Backoff after a failed upload: from this (default 500 ms), doubling per failure… */
  minRetryDelayMs?: number
  /** …up to this (default 60,000 ms), with jitter. */
  maxRetryDelayMs?: number
  /** Per-upload timeout for the response headers and body. Default 10,000 ms. */
  timeoutMs?: number
  /** Told of each failed upload (the events stay queued) and of lines that are not events. */
  onError?: (error: McpPolicyError) => void
  /** undici dispatcher (e.g. with TLS client certificates). Default: the shipper's own `Agent`. */
  dispatcher?: Dispatcher
  /** Random source in [0, 1) for the backoff jitter. Default `Math.random`. */
  random?: () => number
}

/** What the shipper has done since it started. */
export interface LogShipperStats {
  /** Events acknowledged by the collector. */
  shippedEvents: number
  /** Successful uploads. */
  uploads: number
  /** Failed uploads (each retried). */
  failures: number
  /** Failures in a row (0 when the last upload succeeded). */
  consecutiveFailures: number
}

interface Batch {
  chain: string
  position: ShipPosition
  lines: string[]
  /** Bytes of the file consumed, including lines skipped as not being events. */
  consumed: number
  /** The batch ends the file, and a later file of the chain exists: move on to it afterwards. */
  nextFile?: number
}

interface DrainWaiter {
  /** Passes started when drain was called: a later pass that finds nothing resolves it. */
  afterPass: number
  resolve: () => void
  reject: (err: unknown) => void
}

/**
 * Ships the decision log to a collector in OPA's decision-log upload format: gzip-compressed JSON
 * arrays of events, `POST <url>/logs`, `Content-Encoding: gzip`.
 *
 * It tails the chained log files rather than taking events from {@link DecisionLog} in memory: the
 * log files, already fsynced by the log, are the on-disk queue, so a collector outage or a restart
 * loses nothing and costs no second copy, and the decision path never waits on the network. The
 * position acknowledged by the collector is persisted per chain (an atomic rename) after each
 * successful upload. Delivery is at least once: a crash between the collector's 2xx and the cursor
 * write, or a response lost in transit, re-sends that batch; collectors deduplicate by
 * `decision_id` (or by `labels.chain` + `seq`, which is unique and ordered). Lines are shipped
 * verbatim, so a collector can check each event's `hash` and the chain.
 *
 * Run one shipper per log directory (e.g. in the PDP's primary process, shipping every worker's
 * chain): the cursor file is not shared between shippers. Checkpoints are not shipped; they stay
 * with the log for verify-log.
 *
 * Failed uploads are retried without end with exponential backoff and jitter; only complete lines
 * are sent (a line still being written waits), and lines that are not JSON events are skipped and
 * reported through `onError` (verify-log is what judges them).
 *
 * @example
 * ```ts
 * const log = await DecisionLog.open({ dir: 'logs' })
 * const shipper = await LogShipper.start({ dir: 'logs', url: 'https://collector.example.com', token })
 * // … on shutdown:
 * await log.close()
 * await shipper.drain({ timeoutMs: 5000 }).catch(() => {}) // what is left ships on next start
 * await shipper.stop()
 * ```
 */
export class LogShipper {
  readonly #options: Required<Omit<LogShipperOptions, 'token' | 'onError' | 'dispatcher'>> &
    Pick<LogShipperOptions, 'onError'>
  readonly #endpoint: string
  readonly #headers: Record<string, string>
  readonly #dispatcher: Dispatcher
  readonly #ownDispatcher: boolean
  #cursor: ShipCursor
  /** Per-chain batch limit after a 413. */
  readonly #batchLimit = new Map<string, number>()
  readonly #stats: LogShipperStats = { shippedEvents: 0, uploads: 0, failures: 0, consecutiveFailures: 0 }
  #passes = 0
  #waiters: DrainWaiter[] = []
  #stopped = false
  #wake: (() => void) | undefined
  #loop: Promise<void> | undefined

  private constructor(options: LogShipperOptions, endpoint: string, cursor: ShipCursor) {
    this.#options = {
      dir: options.dir,
      url: options.url,
      resource: options.resource ?? 'logs',
      headers: options.headers ?? {},
      cursorPath: options.cursorPath ?? join(options.dir, 'ship-cursor.json'),
      maxBatchEvents: options.maxBatchEvents ?? 1000,
      maxBatchBytes: options.maxBatchBytes ?? 1024 * 1024,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      minRetryDelayMs: options.minRetryDelayMs ?? 500,
      maxRetryDelayMs: options.maxRetryDelayMs ?? 60_000,
      timeoutMs: options.timeoutMs ?? 10_000,
      random: options.random ?? Math.random,
      onError: options.onError,
    }
    this.#endpoint = endpoint
    this.#headers = {
      ...options.headers,
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    }
    this.#ownDispatcher = !options.dispatcher
    this.#dispatcher = options.dispatcher ?? new Agent({ connections: 1 })
    this.#cursor = cursor
  }

  /**
   * Validates the options, reads the cursor and starts shipping in the background.
   *
   * @throws McpPolicyError `ERR_LOG_CONFIG_INVALID` for a bad URL, a non-positive size or delay, or
   * a corrupt cursor; `ERR_LOG_READ_FAILED` when the cursor cannot be read.
   */
  static async start(options: LogShipperOptions): Promise<LogShipper> {
    let endpoint: URL
    try {
      endpoint = new URL(options.url)
      if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') throw new Error('not http(s)')
    } catch (err) {
      throw new McpPolicyError(
        'ERR_LOG_CONFIG_INVALID',
        `collector url ${options.url} is not an http(s) URL`,
        {
          cause: err,
        },
      )
    }
    for (const name of [
      'maxBatchEvents',
      'maxBatchBytes',
      'pollIntervalMs',
      'minRetryDelayMs',
      'maxRetryDelayMs',
      'timeoutMs',
    ] as const) {
      const value = options[name]
      if (value !== undefined && !(Number.isFinite(value) && value > 0))
        throw new McpPolicyError('ERR_LOG_CONFIG_INVALID', `${name} must be a positive number, not ${value}`)
    }
    const resource = (options.resource ?? 'logs').replace(/^\/+/, '')
    const base = endpoint.href.endsWith('/') ? endpoint.href : `${endpoint.href}/`
    const cursor = await readShipCursor(options.cursorPath ?? join(options.dir, 'ship-cursor.json'))
    const shipper = new LogShipper(options, new URL(resource, base).href, cursor)
    shipper.#loop = shipper.#run()
    return shipper
  }

  /** Counters since start. */
  get stats(): Readonly<LogShipperStats> {
    return { ...this.#stats }
  }

  /**
   * Resolves once every complete event on disk when it was called has been acknowledged by the
   * collector (retrying as long as it takes), e.g. on shutdown after {@link DecisionLog.close}.
   *
   * @throws McpPolicyError `ERR_LOG_SHIP_FAILED` after `timeoutMs` (the events stay queued on disk
   * and ship on the next start) or when the shipper is stopped first.
   */
  drain(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#stopped)
      return Promise.reject(new McpPolicyError('ERR_LOG_SHIP_FAILED', 'log shipper is stopped'))
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      const waiter: DrainWaiter = {
        afterPass: this.#passes,
        resolve: () => {
          clearTimeout(timer)
          resolve()
        },
        reject: (err) => {
          clearTimeout(timer)
          reject(err)
        },
      }
      if (options.timeoutMs !== undefined)
        timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter)
          reject(
            new McpPolicyError(
              'ERR_LOG_SHIP_FAILED',
              `log not drained within ${options.timeoutMs} ms (${this.#stats.consecutiveFailures} failed uploads in a row); the rest stays queued on disk`,
            ),
          )
        }, options.timeoutMs)
      this.#waiters.push(waiter)
      if (this.#stats.consecutiveFailures === 0) this.#wake?.() // never cut a backoff short
    })
  }

  /** Stops after the upload in flight (its position is kept) and releases the connection pool. */
  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    this.#wake?.()
    await this.#loop
    for (const waiter of this.#waiters.splice(0))
      waiter.reject(
        new McpPolicyError('ERR_LOG_SHIP_FAILED', 'log shipper stopped before the log was drained'),
      )
    if (this.#ownDispatcher) await this.#dispatcher.close()
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const pass = ++this.#passes
      let delay: number
      try {
        if (await this.#pass()) continue
        // A whole pass found nothing to send: every drain that began before it is satisfied.
        for (const waiter of this.#waiters.filter((w) => w.afterPass < pass)) waiter.resolve()
        this.#waiters = this.#waiters.filter((w) => w.afterPass >= pass)
        delay = this.#options.pollIntervalMs
      } catch (err) {
        this.#stats.failures++
        this.#stats.consecutiveFailures++
        this.#options.onError?.(toMcpPolicyError(err, 'ERR_LOG_SHIP_FAILED', 'decision log upload failed'))
        delay = this.#backoff(this.#stats.consecutiveFailures)
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay)
        this.#wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.#wake = undefined
    }
  }

  /** Exponential backoff with "equal jitter": between half and all of min·2^(n-1), capped. */
  #backoff(failures: number): number {
    const cap = Math.min(
      this.#options.maxRetryDelayMs,
      this.#options.minRetryDelayMs * 2 ** Math.min(failures - 1, 30),
    )
    return cap / 2 + (this.#options.random() * cap) / 2
  }

  /** One batch per chain; true when anything was shipped or skipped (more may be waiting). */
  async #pass(): Promise<boolean> {
    let progressed = false
    for (const [chain, files] of await this.#chains()) {
      if (this.#stopped) break
      const batch = await this.#readBatch(chain, files)
      if (!batch) continue
      if (batch.lines.length > 0) await this.#upload(batch)
      const position = this.#cursor.chains[chain] ?? batch.position
      this.#cursor.chains[chain] = batch.nextFile
        ? { file: batch.nextFile, offset: 0, events: position.events + batch.lines.length }
        : {
            ...position,
            offset: position.offset + batch.consumed,
            events: position.events + batch.lines.length,
          }
      await writeShipCursor(this.#options.cursorPath, this.#cursor)
      this.#stats.shippedEvents += batch.lines.length
      progressed = true
    }
    return progressed
  }

  async #chains(): Promise<Map<string, number[]>> {
    let names: string[]
    try {
      names = await readdir(this.#options.dir)
    } catch (err) {
      throw toMcpPolicyError(err, 'ERR_LOG_READ_FAILED', `cannot list ${this.#options.dir}`)
    }
    const chains = new Map<string, number[]>()
    for (const name of names) {
      const match = EVENT_FILE.exec(name)
      if (!match) continue
      const files = chains.get(match[1]!) ?? []
      files.push(Number(match[2]))
      chains.set(match[1]!, files)
    }
    for (const files of chains.values()) files.sort((a, b) => a - b)
    return chains
  }

  /** The next complete lines of a chain from its cursor, or undefined when there is nothing new. */
  async #readBatch(chain: string, files: number[]): Promise<Batch | undefined> {
    // A chain never seen starts at its oldest file still on disk (older ones may have been pruned).
    const position = this.#cursor.chains[chain] ?? { file: files[0]!, offset: 0, events: 0 }
    const later = files.find((f) => f > position.file)
    const path = eventFilePath(this.#options.dir, chain, position.file)
    let handle: Awaited<ReturnType<typeof open>>
    try {
      handle = await open(path, 'r')
    } catch (err) {
      // The file the cursor names is gone (pruned after shipping, or by hand): carry on with the next.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && later !== undefined)
        return { chain, position, lines: [], consumed: 0, nextFile: later }
      throw toMcpPolicyError(err, 'ERR_LOG_READ_FAILED', `cannot read ${path}`)
    }
    try {
      const { size } = await handle.stat()
      const limit = this.#batchLimit.get(chain) ?? this.#options.maxBatchEvents
      let length = Math.min(size - position.offset, this.#options.maxBatchBytes)
      let text = ''
      let end = -1
      while (length > 0) {
        const buffer = Buffer.alloc(length)
        const { bytesRead } = await handle.read(buffer, 0, length, position.offset)
        text = buffer.toString('utf8', 0, bytesRead)
        end = text.lastIndexOf('\n')
        // One event longer than a batch is sent alone: read on until its line ends.
        if (end >= 0 || position.offset + length >= size) break
        length = Math.min(size - position.offset, length * 2)
      }
      if (end < 0) {
        // Nothing complete. A file the writer has moved on from will get no more lines: its torn
        // tail (a crash) is verify-log's to report, and shipping continues with the next file.
        if (later === undefined) return undefined
        if (size > position.offset)
          this.#options.onError?.(
            new McpPolicyError('ERR_LOG_READ_FAILED', `${path}: incomplete last line not shipped`),
          )
        return { chain, position, lines: [], consumed: 0, nextFile: later }
      }
      const lines: string[] = []
      let consumed = 0
      for (const line of text.slice(0, end).split('\n')) {
        if (lines.length >= limit) break
        const bytes = Buffer.byteLength(line) + 1
        if (consumed > 0 && consumed + bytes > this.#options.maxBatchBytes) break
        consumed += bytes
        if (isJsonObject(line)) lines.push(line)
        else if (line.trim() !== '')
          this.#options.onError?.(
            new McpPolicyError(
              'ERR_LOG_READ_FAILED',
              `${path}: a line that is not a JSON event was not shipped`,
            ),
          )
      }
      return { chain, position, lines, consumed }
    } finally {
      await handle.close()
    }
  }

  async #upload(batch: Batch): Promise<void> {
    // The lines are RFC 8785 JSON already: the array is built from them byte for byte.
    const body = await gzip(`[${batch.lines.join(',')}]`)
    let statusCode: number
    try {
      const response = await request(this.#endpoint, {
        method: 'POST',
        headers: this.#headers,
        body,
        dispatcher: this.#dispatcher,
        headersTimeout: this.#options.timeoutMs,
        bodyTimeout: this.#options.timeoutMs,
      })
      statusCode = response.statusCode
      await response.body.dump()
    } catch (err) {
      const code = (err as { code?: string; cause?: { code?: string } }).code ?? ''
      throw new McpPolicyError(
        'ERR_LOG_SHIP_FAILED',
        `upload of ${batch.lines.length} events to ${this.#endpoint} failed: ${code} ${(err as Error).message}`.replace(
          /\s+/g,
          ' ',
        ),
        { cause: err },
      )
    }
    if (statusCode === 413) this.#batchLimit.set(batch.chain, Math.max(1, Math.floor(batch.lines.length / 2)))
    if (statusCode < 200 || statusCode >= 300)
      throw new McpPolicyError(
        'ERR_LOG_SHIP_FAILED',
        `collector ${this.#endpoint} answered ${statusCode} to an upload of ${batch.lines.length} events`,
      )
    this.#stats.uploads++
    this.#stats.consecutiveFailures = 0
  }
}

function isJsonObject(line: string): boolean {
  if (!line.startsWith('{')) return false
  try {
    JSON.parse(line)
    return true
  } catch {
    return false
  }
}
