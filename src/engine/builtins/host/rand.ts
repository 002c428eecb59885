import { randomInt } from 'node:crypto'
import type { HostBuiltin } from '../host-builtin.js'

/** `rand.intn` (OPA `topdown/numbers.go`): a random integer in [0, |n|), 0 when n is 0. */
export const randBuiltins: readonly HostBuiltin[] = [
  {
    name: 'rand.intn',
    nondeterministic: true,
    impl: (key, n) => {
      if (typeof key !== 'string' || typeof n !== 'number' || !Number.isInteger(n)) return undefined
      const bound = Math.abs(n)
      if (bound === 0) return 0
      // node:crypto's randomInt takes a range below 2^48; wider bounds fall back to Math.random.
      return bound < 2 ** 48 ? randomInt(bound) : Math.floor(Math.random() * bound)
    },
  },
]
