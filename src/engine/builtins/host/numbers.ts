import type { HostBuiltin } from '../host-builtin.js'
import { RegoNumber } from '../rego-value.js'

/**
 * The most numbers one call may generate. OPA has no limit (only query cancellation); a decision
 * must not allocate without bound, so beyond this the call fails and the decision denies.
 */
export const MAX_RANGE_LENGTH = 1_000_000

/** `numbers.range_step` (OPA `topdown/numbers.go`): exact integers, step > 0, either direction. */
export const numbersBuiltins: readonly HostBuiltin[] = [
  {
    name: 'numbers.range_step',
    values: 'rego',
    impl: (a, b, s) => {
      if (!(a instanceof RegoNumber && b instanceof RegoNumber && s instanceof RegoNumber)) return undefined
      const x = a.toBigInt()
      const y = b.toBigInt()
      const step = s.toBigInt()
      if (x === undefined || y === undefined || step === undefined || step <= 0n) return undefined
      const span = x <= y ? y - x : x - y
      if (span / step + 1n > BigInt(MAX_RANGE_LENGTH)) {
        throw new Error(`numbers.range_step would generate more than ${MAX_RANGE_LENGTH} numbers`)
      }
      const out: bigint[] = []
      if (x <= y) for (let i = x; i <= y; i += step) out.push(i)
      else for (let i = x; i >= y; i -= step) out.push(i)
      return out
    },
  },
]
