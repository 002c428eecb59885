import type { CacheStats } from './cache-stats.js'
import type { RevocableToken } from './revocation-list.js'
import type { Subject } from './subject.js'

/**
 * A verified subject and the time window (epoch seconds, skew already applied) it may be served
 * in. Serving it is not the end of the checks: the verifier matches `revocable` against the
 * revocations on every hit, so no cached verification outlives a revocation.
 */
export interface CachedSubject {
  subject: Subject
  /**
   * The verified token's `header.payload` (its JWS signing input, no signature), or for an opaque
   * token all before its last dot (`''` without one): a hit must match it exactly, so together
   * with the digest of the rest the whole token is compared.
   */
  signingInput: string
  /**
   * Served while `now < notAfter`: `exp` + skew, and never past the end of an introspection
   * answer's reuse, or past the moment `auth_time` exceeds the issuer's `maxAuthAge`.
   */
  notAfter: number
  /** Served while `now >= notBefore` (the later of `nbf` and `iat`, minus skew). */
  notBefore: number
  /** The subject as last served, with `token.age_s` for second `at` (set by the verifier). */
  aged?: { at: number; subject: Subject }
  /** The issuer and the token facts a revocation can name. */
  revocable: RevocableToken & { issuer: string }
}

/**
 * A bounded, approximately least-recently-used map from token digest to verified subject. Entries
 * outside their validity window are dropped when looked up, never served. Failures are never
 * stored here.
 *
 * @example
 * ```ts
 * const cache = new VerifiedSubjectCache(10_000)
 * cache.set(digest, { subject, signingInput, notAfter: exp + 60, notBefore: iat - 60, revocable: { issuer, sub } })
 * cache.get(digest, signingInput, Date.now() / 1000)
 * ```
 */
export class VerifiedSubjectCache {
  readonly #maxEntries: number
  // Map iteration order is insertion order: re-inserting an entry moves it to the recent end, so
  // the first key is (about) the least recently used one.
  readonly #entries = new Map<string, Slot>()
  // Counts insertions; a slot remembers the count when it was last (re)inserted.
  #clock = 0
  #hits = 0
  #misses = 0

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries
  }

  /**
   * The cached entry for `key` if it was stored for exactly `signingInput` and is valid at
   * `nowSeconds`. Only a full match counts as a hit (and refreshes the entry's recency): a
   * signature presented under another payload is a miss and leaves the genuine entry as it was.
   * A caller that will look again on a miss (a cheap probe before a full verification) passes
   * `countMiss: false`, so one verification is one miss.
   */
  get(key: string, signingInput: string, nowSeconds: number, countMiss = true): CachedSubject | undefined {
    const slot = this.#entries.get(key)
    if (slot === undefined || slot.entry.signingInput !== signingInput) {
      if (countMiss) this.#misses++
      return undefined
    }
    const entry = slot.entry
    if (nowSeconds >= entry.notAfter || nowSeconds < entry.notBefore) {
      this.#entries.delete(key)
      if (countMiss) this.#misses++
      return undefined
    }
    // Moving a hit to the recent end costs a delete and an insert on every call; a slot inserted
    // within the newer half of the bound is nowhere near eviction, so only older ones are moved.
    if (this.#clock - slot.insertedAt >= this.#maxEntries / 2) this.#insert(key, entry)
    this.#hits++
    return entry
  }

  /** Stores an entry, evicting the least recently used one beyond the bound. */
  set(key: string, entry: CachedSubject): void {
    if (this.#maxEntries <= 0) return
    this.#insert(key, entry)
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string
      this.#entries.delete(oldest)
    }
  }

  #insert(key: string, entry: CachedSubject): void {
    this.#entries.delete(key)
    this.#entries.set(key, { entry, insertedAt: ++this.#clock })
  }

  /** Current size and hit/miss counters. */
  stats(): CacheStats {
    return { entries: this.#entries.size, hits: this.#hits, misses: this.#misses }
  }
}

interface Slot {
  entry: CachedSubject
  insertedAt: number
}
