import type { HostBuiltin } from '../host-builtin.js'
import { compareRegoValues } from '../rego-text.js'
import { RegoNumber, RegoSet, type RegoValue } from '../rego-value.js'

type RegoObject = Map<RegoValue, RegoValue> | { [key: string]: RegoValue }

const isObject = (x: RegoValue): x is RegoObject =>
  x instanceof Map ||
  (x !== null &&
    typeof x === 'object' &&
    !Array.isArray(x) &&
    !(x instanceof RegoSet) &&
    !(x instanceof RegoNumber))
const equal = (a: RegoValue, b: RegoValue): boolean => compareRegoValues(a, b) === 0
const entries = (o: RegoObject): [RegoValue, RegoValue][] => (o instanceof Map ? [...o] : Object.entries(o))

function get(o: RegoObject, key: RegoValue): RegoValue | undefined {
  if (!(o instanceof Map)) return typeof key === 'string' && Object.hasOwn(o, key) ? o[key] : undefined
  for (const [k, v] of o) if (equal(k, key)) return v
  return undefined
}

/** OPA's `objectSubset` (topdown/subset.go): recursive on objects, sets and arrays under a key. */
function objectSubset(sup: RegoObject, sub: RegoObject): boolean {
  return entries(sub).every(([key, subVal]) => {
    const supVal = get(sup, key)
    if (supVal === undefined) return false
    if (equal(subVal, supVal)) return true
    if (isObject(supVal) && isObject(subVal)) return objectSubset(supVal, subVal)
    if (supVal instanceof RegoSet && subVal instanceof RegoSet) return setSubset(supVal, subVal)
    if (Array.isArray(supVal) && Array.isArray(subVal)) return arraySubset(supVal, subVal)
    return false
  })
}

const contains = (s: RegoSet, x: RegoValue): boolean => s.items.some((y) => equal(x, y))

function setSubset(sup: RegoSet, sub: RegoSet): boolean {
  return sub.items.every((x) => contains(sup, x))
}

/** OPA's `arraySubset`: `sub` occurs in `sup` as a contiguous run. */
function arraySubset(sup: readonly RegoValue[], sub: readonly RegoValue[]): boolean {
  if (sub.length > sup.length) return false
  let superCursor = 0
  let subCursor = 0
  for (;;) {
    if (subCursor === sub.length) return true
    if (superCursor + subCursor === sup.length) return false
    if (equal(sup[superCursor + subCursor]!, sub[subCursor]!)) {
      subCursor++
    } else {
      superCursor++
      subCursor = 0
    }
  }
}

/** OPA's `arraySetSubset`, literally: true once every member was met (never for an empty array). */
function arraySetSubset(sup: readonly RegoValue[], sub: RegoSet): boolean {
  let unmatched = sub.items.length
  for (const t of sup) {
    if (contains(sub, t)) unmatched--
    if (unmatched === 0) return true
  }
  return false
}

/** Object builtins not in OPA's WebAssembly module, on exact Rego values (sets are sets). */
export const objectBuiltins: readonly HostBuiltin[] = [
  {
    name: 'object.subset',
    values: 'rego',
    impl: (a, b) => {
      const sup = a as RegoValue
      const sub = b as RegoValue
      if (isObject(sup) && isObject(sub)) return objectSubset(sup, sub)
      if (sup instanceof RegoSet && sub instanceof RegoSet) return setSubset(sup, sub)
      if (Array.isArray(sup) && Array.isArray(sub)) return arraySubset(sup, sub)
      if (Array.isArray(sup) && sub instanceof RegoSet) return arraySetSubset(sup, sub)
      return undefined
    },
  },
]
