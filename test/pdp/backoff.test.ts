import { describe, expect, it } from 'vitest'
import { backoffDelay } from '../../src/pdp/backoff.js'

describe('backoffDelay (exponential, capped, equal jitter)', () => {
  const bounds = { minMs: 1_000, maxMs: 120_000 }

  it('doubles from minMs per failure up to maxMs, jittered down to no less than half', () => {
    const nominal = [1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 120_000, 120_000]
    nominal.forEach((ms, i) => {
      expect(backoffDelay(i + 1, bounds, () => 0)).toBe(ms / 2)
      expect(backoffDelay(i + 1, bounds, () => 0.5)).toBe((ms * 3) / 4)
      expect(backoffDelay(i + 1, bounds, () => 1)).toBe(ms)
    })
  })

  it('stays finite and capped for any failure count, and clamps a random source out of [0, 1]', () => {
    expect(backoffDelay(10_000, bounds, () => 0.999)).toBeLessThanOrEqual(120_000)
    expect(backoffDelay(0, bounds, () => 1)).toBe(1_000)
    expect(backoffDelay(3, bounds, () => -5)).toBe(2_000)
    expect(backoffDelay(3, bounds, () => 7)).toBe(4_000)
  })
})
