/**
 * A bounded cache's counters for metrics: its size, and how often a lookup was answered from it
 * (a hit saves a signature check or an introspection call) or not.
 */
export interface CacheStats {
  entries: number
  hits: number
  misses: number
}
