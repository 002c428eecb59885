import type { CacheStats } from './cache-stats.js'
/** One introspection answer as cached: whether the token is active, and the answer's members. */
export interface IntrospectionAnswer {
  active: boolean
  /** The response members (RFC 7662 §2.2), `active` included. Empty for an inactive token. */
  claims: Readonly<Record<string, unknown>>
  /** Epoch milliseconds until which the answer may be reused. */
  until: number
}

/**
 * Introspection answers by token digest (SHA-256, never the token), each reused until its
 * `until`: at most the issuer's cache TTL, and never past the token's `exp`. Bounded; the least
 * recently stored answer is evicted first.
 *
 * Local to the process on purpose, not in the shared state store: a cached answer saves an HTTP
 * call and nothing more, so sharing it would buy little and would spread token claims (personal
 * data) into Redis; a hit costs a map lookup instead of a network round trip on the decision path;
 * and a revocation pushed by the IdP is checked on every call, after the cache, so no cached
 * `active: true` outlives it.
 *
 * @example
 * ```ts
 * const cache = new IntrospectionCache(10_000)
 * cache.set(digest, { active: true, claims, until: Date.now() + 30_000 })
 * cache.get(digest, Date.now())?.active
 * ```
 */
export class IntrospectionCache {
  readonly #maxEntries: number
  readonly #entries = new Map<string, IntrospectionAnswer>()
  #hits = 0
  #misses = 0

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries
  }

  /** The answer for `digest` if still reusable at `nowMs`. */
  get(digest: string, nowMs: number): IntrospectionAnswer | undefined {
    const answer = this.#entries.get(digest)
    if (answer === undefined || answer.until <= nowMs) {
      if (answer !== undefined) this.#entries.delete(digest)
      this.#misses++
      return undefined
    }
    this.#hits++
    return answer
  }

  /** Stores an answer (one already past its `until` is not stored). */
  set(digest: string, answer: IntrospectionAnswer, nowMs: number): void {
    if (this.#maxEntries <= 0 || answer.until <= nowMs) return
    this.#entries.delete(digest)
    this.#entries.set(digest, answer)
    while (this.#entries.size > this.#maxEntries)
      this.#entries.delete(this.#entries.keys().next().value as string)
  }

  stats(): CacheStats {
    return { entries: this.#entries.size, hits: this.#hits, misses: this.#misses }
  }
}
