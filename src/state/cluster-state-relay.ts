import type { Cluster, Worker } from 'node:cluster'
import {
  isStateMessage,
  isWireChange,
  type PrimaryStateMessage,
  stateMessageTag,
  type WorkerStateMessage,
} from './cluster-state-messages.js'
import { checkKey, checkNamespace } from './entry-bounds.js'
import { EntryTable } from './entry-table.js'

const SWEEP_INTERVAL_MS = 30_000

/**
 * The cluster primary's side of the in-memory store shared by `mcp-policy serve` workers. It
 * holds the authoritative copy of every entry, orders writes (each is applied here and sent to
 * every worker, the writer included, so all replicas end in the primary's order), answers
 * `setIfAbsent` (the one operation that needs a single judge) and hands a starting worker a
 * snapshot, so a replaced worker sees past revocations.
 *
 * It is on no decision's path: a worker reads its own replica and applies its own writes at once;
 * while the primary is slow, only the spread of changes to the other workers waits.
 *
 * @internal
 *
 * @example
 * ```ts
 * import cluster from 'node:cluster'
 * const relay = new ClusterStateRelay(cluster)
 * cluster.fork({ [stateRelayEnv]: '1' })
 * ```
 */
export class ClusterStateRelay {
  readonly #cluster: Cluster
  readonly #table = new EntryTable()
  readonly #sweeper: NodeJS.Timeout
  readonly #onMessage: (worker: Worker, message: unknown) => void

  constructor(cluster: Cluster) {
    this.#cluster = cluster
    this.#onMessage = (worker, message) => {
      if (isStateMessage(message)) this.#handle(worker, message as WorkerStateMessage)
    }
    cluster.on('message', this.#onMessage)
    this.#sweeper = setInterval(() => this.#table.sweep(Date.now()), SWEEP_INTERVAL_MS)
    this.#sweeper.unref()
  }

  /** Entries held (expired ones not yet swept included). */
  get size(): number {
    return this.#table.size
  }

  /** Stops relaying. */
  close(): void {
    this.#cluster.off('message', this.#onMessage)
    clearInterval(this.#sweeper)
  }

  #handle(worker: Worker, message: WorkerStateMessage): void {
    const now = Date.now()
    switch (message.kind) {
      case 'write':
        if (!validChange(message.change)) return
        this.#table.apply(message.change, now)
        this.#broadcast({ tag: stateMessageTag, kind: 'change', change: message.change })
        return
      case 'set-if-absent': {
        const change = {
          op: 'set',
          namespace: message.namespace,
          key: message.key,
          json: message.json,
          expiresAt: message.expiresAt,
        } as const
        const written =
          validChange(change) && this.#table.get(change.namespace, change.key, now) === undefined
        if (written) this.#table.apply(change, now)
        // The answer goes out before the change, so the writer learns it won before it sees its
        // own write echoed (either order would be correct; this one is simpler to reason about).
        send(worker, { tag: stateMessageTag, kind: 'set-if-absent-result', id: message.id, written })
        if (written) this.#broadcast({ tag: stateMessageTag, kind: 'change', change })
        return
      }
      case 'snapshot-request':
        send(worker, {
          tag: stateMessageTag,
          kind: 'snapshot',
          id: message.id,
          entries: this.#table.snapshot(now),
        })
        return
      default:
        return
    }
  }

  #broadcast(message: PrimaryStateMessage): void {
    for (const worker of Object.values(this.#cluster.workers ?? {})) if (worker) send(worker, message)
  }
}

function send(worker: Worker, message: PrimaryStateMessage): void {
  if (!worker.isConnected()) return
  // A worker that is exiting closes its channel under us; its replacement asks for a snapshot.
  worker.send(message, undefined, () => {})
}

function validChange(change: unknown): boolean {
  if (!isWireChange(change)) return false
  try {
    checkNamespace(change.namespace)
    checkKey(change.key)
    return true
  } catch {
    return false
  }
}
