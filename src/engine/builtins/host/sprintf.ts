import type { HostBuiltin } from '../host-builtin.js'
import { regoText } from '../rego-text.js'
import { RegoNumber, type RegoValue } from '../rego-value.js'
import { type GoArg, goSprintf } from './go-fmt.js'

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n

/**
 * The Go value OPA's `builtinSprintf` (topdown/strings.go) makes of a Rego value: a number's text
 * decides its type (`1.0` is a float64, `1` an int64, `123456789123456789123` a *big.Int, and a
 * float beyond float64's range stays its text), strings stay strings, anything else is its Rego text.
 */
export function goArgOf(v: RegoValue): GoArg {
  if (typeof v === 'string') return { type: 'string', v }
  if (v instanceof RegoNumber) {
    const text = v.text
    if (/[.eE]/.test(text)) {
      const f = Number(text)
      return Number.isFinite(f) ? { type: 'float64', v: f } : { type: 'string', v: text }
    }
    const n = BigInt(text)
    return n >= INT64_MIN && n <= INT64_MAX ? { type: 'int64', v: n } : { type: '*big.Int', v: n }
  }
  return { type: 'string', v: regoText(v) }
}

/**
 * `sprintf`: Go's `fmt.Sprintf` over the Go values OPA makes of its arguments, exactly (big
 * integers digit for digit, `%f` of `100.0` is `100.000000`, `%v` of `[1, 2]` is `[1, 2]`).
 * Replaces the opa-wasm SDK's JavaScript `sprintf`, which formats doubles with sprintf-js.
 */
export const sprintfBuiltins: readonly HostBuiltin[] = [
  {
    name: 'sprintf',
    values: 'rego',
    impl: (format, values) => {
      if (typeof format !== 'string' || !Array.isArray(values)) return undefined
      return goSprintf(format, (values as RegoValue[]).map(goArgOf))
    },
  },
]
