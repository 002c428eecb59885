import { randomUUID } from 'node:crypto'
import { type FileHandle, mkdir, open } from 'node:fs/promises'
import { join } from 'node:path'
import { CompactSign, type CryptoKey, type KeyObject } from 'jose'
import { CanonicalText } from '../canonical-json.js'
import { McpPolicyError, toMcpPolicyError } from '../errors.js'
import type { CheckpointPayload, DecisionEvent, DecisionRecord } from './decision-event.js'
import { erasePointers } from './erase-pointers.js'
import { canonicalEventLine, genesisHash } from './event-hash.js'

/** How an append is made durable before it is acknowledged. */
export type Durability = 'sync' | 'batch' | 'async'

/** Options for {@link DecisionLog.open}. */
export interface DecisionLogOptions {
  /** Directory for the log files (created if missing). */
  dir: string
  /** Chain id: one chain per writer (per PDP worker). Default: a random UUID. */
  chain?: string
  /**
   * `sync`: each append is written and fsynced before it resolves. `batch` (default): appends are
   * group-committed, one write and one fsync per batch, each resolving after its batch's fsync.
   * `async`: appends resolve at once; data is written in batches and fsynced on flush/close only.
   */
  durability?: Durability
  /** Largest batch in `batch`/`async` mode. Default 1024 events. */
  batchMaxEvents?: number
  /** Start a new file when the current one exceeds this size; the chain continues. Default 64 MiB. */
  rotateBytes?: number
  /**
   * Also start a new file at each multiple of this many milliseconds since the Unix epoch, by the
   * clock at write time: `86_400_000` rotates at UTC midnight, `3_600_000` on the hour. The chain
   * continues across files. A file is never left empty: an idle log rotates on its next write.
   * Default: no time rotation.
   */
  rotateEveryMs?: number
  /** The clock (ms since the epoch) for timestamps, time rotation and checkpoint intervals. Default `Date.now`. */
  now?: () => number
  /** Ed25519 private key signing checkpoints. Without it no checkpoints are written. */
  signingKey?: CryptoKey | KeyObject
  /** Sign a checkpoint every N events. Default 1000. */
  checkpointEvery?: number
  /** …and at least every T milliseconds while events arrive. Default 10 000. */
  checkpointIntervalMs?: number
  /** Labels recorded on every event (OPA `labels`), besides `chain`. */
  labels?: Record<string, string>
}

interface Pending {
  event: DecisionEvent
  /** The chain position, copied: in `async` mode the caller holds `event` before it is written. */
  seq: number
  hash: string
  line: string
  resolve: (event: DecisionEvent) => void
  reject: (err: unknown) => void
}

/**
 * The tamper-evident decision log: JSON lines with OPA decision-log fields plus `seq`, `prev` and
 * `hash` (SHA-256 of the RFC 8785 canonical event without `hash`), chained from a genesis bound to
 * the chain id, with Ed25519-signed checkpoints in a side file so truncation back past a checkpoint
 * is detectable. Order and chain are fixed at `append` time (synchronously), so concurrent callers
 * cannot interleave a chain.
 *
 * @example
 * ```ts
 * const log = await DecisionLog.open({ dir: 'logs', durability: 'sync', signingKey })
 * await log.append({ path: 'mcp/decision', input, result: decision, bundles })
 * await log.close()
 * ```
 */
export class DecisionLog {
  readonly chain: string
  readonly #options: Required<Omit<DecisionLogOptions, 'signingKey' | 'chain' | 'labels' | 'rotateEveryMs'>> &
    Pick<DecisionLogOptions, 'signingKey' | 'rotateEveryMs'>
  readonly #labels: Record<string, string>
  #seq = 0
  #head: string
  #file: FileHandle | undefined
  #fileIndex = 0
  #fileBytes = 0
  /** The time-rotation period the current file's first write fell in. */
  #filePeriod = 0
  #checkpoints: FileHandle | undefined
  #queue: Pending[] = []
  #flushing: Promise<void> | undefined
  #lastCheckpointSeq = 0
  /** The last event written to the file (the head a checkpoint may name). */
  #written = { seq: 0, hash: '' }
  #lastCheckpointAt: number
  #failed: unknown
  #closed = false

  private constructor(options: DecisionLogOptions, chain: string) {
    this.chain = chain
    this.#head = genesisHash(chain)
    // Shared by every event returned: frozen, so a caller cannot change the labels of later events.
    this.#labels = Object.freeze({ ...options.labels, chain })
    this.#options = {
      dir: options.dir,
      durability: options.durability ?? 'batch',
      batchMaxEvents: options.batchMaxEvents ?? 1024,
      rotateBytes: options.rotateBytes ?? 64 * 1024 * 1024,
      checkpointEvery: options.checkpointEvery ?? 1000,
      checkpointIntervalMs: options.checkpointIntervalMs ?? 10_000,
      signingKey: options.signingKey,
      rotateEveryMs: options.rotateEveryMs,
      now: options.now ?? Date.now,
    }
    this.#lastCheckpointAt = this.#options.now()
  }

  /**
   * Opens a new chain in `dir`.
   *
   * @throws McpPolicyError `ERR_LOG_CONFIG_INVALID` for a non-positive size, interval or batch option;
   * `ERR_LOG_WRITE_FAILED` when the directory or file cannot be created.
   */
  static async open(options: DecisionLogOptions): Promise<DecisionLog> {
    for (const name of ['rotateBytes', 'rotateEveryMs', 'batchMaxEvents', 'checkpointEvery'] as const) {
      const value = options[name]
      if (value !== undefined && !(Number.isFinite(value) && value > 0))
        throw new McpPolicyError('ERR_LOG_CONFIG_INVALID', `${name} must be a positive number, not ${value}`)
    }
    const log = new DecisionLog(options, options.chain ?? randomUUID())
    try {
      await mkdir(options.dir, { recursive: true })
      await log.#openNextFile()
      if (options.signingKey) log.#checkpoints = await open(checkpointPath(options.dir, log.chain), 'a')
    } catch (err) {
      throw toMcpPolicyError(err, 'ERR_LOG_WRITE_FAILED', `cannot open decision log in ${options.dir}`)
    }
    return log
  }

  /** Events appended but not yet written (and, in `sync`/`batch` mode, not yet fsynced). */
  get backlog(): number {
    return this.#queue.length
  }

  /** The last event's sequence number and hash. */
  get headOfChain(): { seq: number; hash: string } {
    return { seq: this.#seq, hash: this.#head }
  }

  /**
   * Appends one decision. Resolves when the event is as durable as the log's mode promises;
   * rejects with `ERR_LOG_WRITE_FAILED` if it cannot be — a caller in `sync` mode must then deny
   * rather than return an unlogged decision.
   */
  append(record: DecisionRecord): Promise<DecisionEvent> {
    if (this.#closed)
      return Promise.reject(new McpPolicyError('ERR_LOG_WRITE_FAILED', 'decision log is closed'))
    if (this.#failed)
      return Promise.reject(toMcpPolicyError(this.#failed, 'ERR_LOG_WRITE_FAILED', 'decision log failed'))
    const { value: input, erased } = erasePointers(record.input, record.redact ?? [])
    const unhashed = {
      decision_id: record.decision_id ?? randomUUID(),
      timestamp: (record.timestamp ?? new Date(this.#options.now())).toISOString(),
      path: record.path,
      input,
      result: record.result,
      bundles: record.bundles,
      labels: this.#labels,
      metrics: record.metrics ?? {},
      nd_builtin_cache: record.nd_builtin_cache ?? {},
      erased,
      seq: this.#seq + 1,
      prev: this.#head,
    }
    let serialized: { line: string; hash: string }
    try {
      const canonical = record.canonicalInput
      serialized = canonicalEventLine(
        unhashed,
        erased.length === 0 && canonical instanceof CanonicalText && canonical.isOf(record.input)
          ? canonical.json
          : undefined,
      )
    } catch (err) {
      return Promise.reject(
        toMcpPolicyError(err, 'ERR_LOG_WRITE_FAILED', 'decision cannot be serialized for the log'),
      )
    }
    // The event object becomes the returned record: no copy of it per append.
    const event = unhashed as typeof unhashed & { hash: string }
    event.hash = serialized.hash
    this.#seq = event.seq
    this.#head = event.hash
    const durable = new Promise<DecisionEvent>((resolve, reject) =>
      this.#queue.push({ event, seq: event.seq, hash: event.hash, line: serialized.line, resolve, reject }),
    )
    this.#schedule()
    if (this.#options.durability === 'async') {
      durable.catch(() => {})
      return Promise.resolve(event)
    }
    return durable
  }

  /** Writes and fsyncs everything appended so far (and signs a checkpoint of the head). */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#flushing) {
      await (this.#flushing ?? this.#drain(true))
    }
    if (this.#failed) throw toMcpPolicyError(this.#failed, 'ERR_LOG_WRITE_FAILED', 'decision log failed')
    await this.#file?.datasync()
    await this.#checkpoint(true)
  }

  /** Flushes, fsyncs and closes the files. Further appends are rejected. */
  async close(): Promise<void> {
    if (this.#closed) return
    try {
      await this.flush()
    } finally {
      this.#closed = true
      await this.#file?.close()
      await this.#checkpoints?.close()
    }
  }

  #schedule(): void {
    if (this.#flushing) return
    // Group commit: everything appended in this turn of the event loop goes in one write.
    this.#flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain(false))
  }

  async #drain(forceSync: boolean): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(
          0,
          this.#options.durability === 'sync' ? 1 : this.#options.batchMaxEvents,
        )
        try {
          await this.#write(encodeLines(batch), forceSync || this.#options.durability !== 'async')
          const last = batch.at(-1)!
          this.#written = { seq: last.seq, hash: last.hash }
          for (const p of batch) p.resolve(p.event)
        } catch (err) {
          // A failed write poisons the chain: later events would point at a record that is not on disk.
          this.#failed = err
          const error = toMcpPolicyError(err, 'ERR_LOG_WRITE_FAILED', 'decision log write failed')
          for (const p of [...batch, ...this.#queue.splice(0)]) p.reject(error)
        }
        await this.#checkpoint(false)
      }
    } finally {
      this.#flushing = undefined
      if (this.#queue.length > 0) this.#schedule()
    }
  }

  async #write(bytes: Buffer, fsync: boolean): Promise<void> {
    const every = this.#options.rotateEveryMs
    const period = every ? Math.floor(this.#options.now() / every) : 0
    if (
      this.#fileBytes > 0 &&
      (this.#fileBytes + bytes.length > this.#options.rotateBytes || period !== this.#filePeriod)
    ) {
      await this.#file?.datasync()
      await this.#file?.close()
      await this.#openNextFile()
    }
    if (this.#fileBytes === 0) this.#filePeriod = period
    await this.#file!.write(bytes)
    this.#fileBytes += bytes.length
    if (fsync) await this.#file!.datasync()
  }

  async #openNextFile(): Promise<void> {
    this.#fileIndex++
    this.#file = await open(eventFilePath(this.#options.dir, this.chain, this.#fileIndex), 'wx')
    this.#fileBytes = 0
  }

  async #checkpoint(force: boolean): Promise<void> {
    const key = this.#options.signingKey
    // Only what is written may be checkpointed: a checkpoint names the last written event.
    const { seq, hash } = this.#written
    if (!key || !this.#checkpoints || seq === 0 || this.#lastCheckpointSeq === seq || this.#failed) return
    const due =
      force ||
      seq - this.#lastCheckpointSeq >= this.#options.checkpointEvery ||
      this.#options.now() - this.#lastCheckpointAt >= this.#options.checkpointIntervalMs
    if (!due) return
    const payload: CheckpointPayload = {
      chain: this.chain,
      seq,
      hash,
      timestamp: new Date(this.#options.now()).toISOString(),
    }
    const jws = await new CompactSign(Buffer.from(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'EdDSA', typ: 'mcp-policy-checkpoint+jws' })
      .sign(key)
    // The events it names are fsynced first, so a checkpoint never names an event the disk lost.
    await this.#file?.datasync()
    await this.#checkpoints.write(`${jws}\n`)
    await this.#checkpoints.datasync()
    this.#lastCheckpointSeq = payload.seq
    this.#lastCheckpointAt = this.#options.now()
  }
}

/**
 * A batch's lines as UTF-8, each followed by a newline, encoded straight into one buffer of the
 * exact size: one copy of each line, instead of joining the strings and encoding the join.
 */
function encodeLines(batch: readonly Pending[]): Buffer {
  let size = 0
  for (const p of batch) size += Buffer.byteLength(p.line, 'utf8') + 1
  const bytes = Buffer.allocUnsafe(size)
  let length = 0
  for (const p of batch) {
    length += bytes.write(p.line, length, 'utf8')
    bytes[length++] = 0x0a
  }
  return bytes
}

/** The file holding events `fileIndex` of a chain: `decisions-<chain>-<000001>.jsonl`. */
export function eventFilePath(dir: string, chain: string, fileIndex: number): string {
  return join(dir, `decisions-${chain}-${String(fileIndex).padStart(6, '0')}.jsonl`)
}

/** The side file of signed checkpoints of a chain. */
export function checkpointPath(dir: string, chain: string): string {
  return join(dir, `decisions-${chain}.checkpoints`)
}
