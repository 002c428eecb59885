import { createHash } from 'node:crypto'
import type { StateStore } from '../state/state-store.js'

/** What {@link ReplayGuard.claim} found. */
export type ReplayClaim =
  /** First sight: the caller applies the event, then calls `settle` (or `release` when it failed). */
  | 'fresh'
  /** Applied before (here, or by another worker or replica). */
  | 'done'
  /** Being applied elsewhere right now: neither apply it nor acknowledge it yet. */
  | 'pending'

// How long a claim may stay pending: a process that died while applying an event must not block
// the event's redelivery for longer.
const PENDING_TTL_MS = 60_000

/**
 * Exactly-once application of signed events (SETs, logout tokens) by their issuer and `jti`,
 * across every worker and replica: the first to claim an id in the shared store applies it; a
 * claim that finds it is a replay. The entry lives as long as the event could still be accepted
 * (its maximum age plus the clock skew), so the store stays bounded.
 *
 * @example
 * ```ts
 * const guard = new ReplayGuard(store, 'ssf-jti')
 * if ((await guard.claim(iss, jti)) === 'fresh') {
 *   try { await apply(); await guard.settle(iss, jti, ttlMs) } catch (err) { await guard.release(iss, jti); throw err }
 * }
 * ```
 */
export class ReplayGuard {
  readonly #store: StateStore
  readonly #namespace: string

  constructor(store: StateStore, namespace: string) {
    this.#store = store
    this.#namespace = namespace
  }

  /**
   * Claims `jti` of `issuer`.
   *
   * @throws McpPolicyError `ERR_STATE_UNAVAILABLE` when the store cannot answer.
   */
  async claim(issuer: string, jti: string, ttlMs: number): Promise<ReplayClaim> {
    const key = replayKey(issuer, jti)
    if (
      await this.#store.setIfAbsent(
        this.#namespace,
        key,
        { state: 'pending' },
        Math.min(ttlMs, PENDING_TTL_MS),
      )
    )
      return 'fresh'
    const entry = await this.#store.get(this.#namespace, key)
    // Gone between the two calls (a pending claim expired, or was released): another process is
    // at it or just gave up; the transmitter delivers the event again either way.
    return (entry?.value as { state?: unknown } | undefined)?.state === 'done' ? 'done' : 'pending'
  }

  /**
   * Marks a claimed event applied, for `ttlMs`.
   *
   * @throws McpPolicyError `ERR_STATE_UNAVAILABLE`.
   */
  async settle(issuer: string, jti: string, ttlMs: number): Promise<void> {
    await this.#store.set(this.#namespace, replayKey(issuer, jti), { state: 'done' }, ttlMs)
  }

  /** Gives a claim up after a failure, so a redelivery is applied; best effort (the claim expires anyway). */
  async release(issuer: string, jti: string): Promise<void> {
    await this.#store.delete(this.#namespace, replayKey(issuer, jti)).catch(() => false)
  }
}

// A digest: issuers and ids of any length make keys of one bounded length, and neither is stored.
function replayKey(issuer: string, jti: string): string {
  return createHash('sha256')
    .update(JSON.stringify([issuer, jti]))
    .digest('base64url')
}
