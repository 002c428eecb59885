/** Bounds of an exponential backoff. */
export interface BackoffBounds {
  /** Delay after the first failure, in milliseconds. */
  minMs: number
  /** Largest delay, in milliseconds. */
  maxMs: number
}

/**
 * The delay before the next attempt after `failures` failures in a row: `minMs · 2^(failures-1)`,
 * capped at `maxMs`, then scaled by a random factor in [0.5, 1) ("equal jitter") so that many PDPs
 * restarted together do not hit the bundle server in lockstep, while never retrying sooner than
 * half the nominal delay. Internal: not exported from the package.
 */
export function backoffDelay(failures: number, bounds: BackoffBounds, random: () => number): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30)
  const nominal = Math.min(bounds.maxMs, bounds.minMs * 2 ** exponent)
  return Math.round(nominal * (0.5 + Math.min(Math.max(random(), 0), 1) / 2))
}
