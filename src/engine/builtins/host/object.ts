import type { HostBuiltin } from '../host-builtin.js'
import { compareRego } from './rego-order.js'

type JsonObject = Record<string, unknown>

const isObject = (x: unknown): x is JsonObject => x !== null && typeof x === 'object' && !Array.isArray(x)
const equal = (a: unknown, b: unknown): boolean => rank(a) === rank(b) && compareRego(a, b) === 0
const rank = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v)

function objectSubset(sup: JsonObject, sub: JsonObject): boolean {
  return Object.entries(sub).every(([key, subVal]) => {
    if (!Object.hasOwn(sup, key)) return false
    const supVal = sup[key]
    if (equal(subVal, supVal)) return true
    if (isObject(supVal) && isObject(subVal)) return objectSubset(supVal, subVal)
    if (Array.isArray(supVal) && Array.isArray(subVal)) return arraySubset(supVal, subVal)
    return false
  })
}

/** OPA's `arraySubset`: `sub` occurs in `sup` as a contiguous run. */
function arraySubset(sup: readonly unknown[], sub: readonly unknown[]): boolean {
  if (sub.length > sup.length) return false
  let superCursor = 0
  let subCursor = 0
  for (;;) {
    if (subCursor === sub.length) return true
    if (superCursor + subCursor === sup.length) return false
    if (equal(sup[superCursor + subCursor], sub[subCursor])) {
      subCursor++
    } else {
      superCursor++
      subCursor = 0
    }
  }
}

/**
 * Object builtins not in OPA's WebAssembly module. Sets reach host builtins as arrays, so
 * `object.subset` on two sets is answered with the array (contiguous run) rule.
 */
export const objectBuiltins: readonly HostBuiltin[] = [
  {
    name: 'object.subset',
    impl: (sup, sub) => {
      if (isObject(sup) && isObject(sub)) return objectSubset(sup, sub)
      if (Array.isArray(sup) && Array.isArray(sub)) return arraySubset(sup, sub)
      return undefined
    },
  },
]
