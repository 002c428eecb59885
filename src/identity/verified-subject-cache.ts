import type { Subject } from './subject.js'

/** A verified subject and the time window (epoch seconds, skew already applied) it may be served in. */
export interface CachedSubject {
  subject: Subject
  /** Served while `now < notAfter` (`exp` + skew). */
  notAfter: number
  /** Served while `now >= notBefore` (the later of `nbf` and `iat`, minus skew). */
  notBefore: number
}

/** Counters for metrics: how often the cache saved a signature check. */
export interface SubjectCacheStats {
  entries: number
  hits: number
  misses: number
}

/**
 * A bounded least-recently-used map from token digest to verified subject. Entries outside their
 * validity window are dropped when looked up, never served. Failures are never stored here.
 *
 * @example
 * ```ts
 * const cache = new VerifiedSubjectCache(10_000)
 * cache.set(digest, { subject, notAfter: exp + 60, notBefore: iat - 60 })
 * cache.get(digest, Date.now() / 1000)
 * ```
 */
export class VerifiedSubjectCache {
  readonly #maxEntries: number
  // Map iteration order is insertion order: re-inserting on a hit makes the first key the least
  // recently used one.
  readonly #entries = new Map<string, CachedSubject>()
  #hits = 0
  #misses = 0

  constructor(maxEntries: number) {
    this.#maxEntries = maxEntries
  }

  /** The cached entry for `key` if it is valid at `nowSeconds`. */
  get(key: string, nowSeconds: number): CachedSubject | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) {
      this.#misses++
      return undefined
    }
    this.#entries.delete(key)
    if (nowSeconds >= entry.notAfter || nowSeconds < entry.notBefore) {
      this.#misses++
      return undefined
    }
    this.#entries.set(key, entry)
    this.#hits++
    return entry
  }

  /** Stores an entry, evicting the least recently used one beyond the bound. */
  set(key: string, entry: CachedSubject): void {
    if (this.#maxEntries <= 0) return
    this.#entries.delete(key)
    this.#entries.set(key, entry)
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string
      this.#entries.delete(oldest)
    }
  }

  /** Current size and hit/miss counters. */
  stats(): SubjectCacheStats {
    return { entries: this.#entries.size, hits: this.#hits, misses: this.#misses }
  }
}
