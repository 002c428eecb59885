import { compareRegoValues } from '../../src/engine/builtins/rego-text.js'
import { RegoNumber, RegoSet, type RegoValue } from '../../src/engine/builtins/rego-value.js'

/**
 * A canonical text for a Rego value, so that two result sets compare as sets of bindings whatever
 * the order of keys, and whatever text each evaluator chose for a number: integers compare by exact
 * value (`1`, `1.0` and `1e0` are one number, `123456789123456789123` is not `123456789123456800000`),
 * fractions as the double they denote (the WebAssembly module computes with doubles).
 *
 * Values come from three places: OPA's YAML (bigint, number), and JSON printed by OPA's Go evaluator
 * and by the module, parsed with `parseRegoValue` (RegoNumber).
 */
export function canonical(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  switch (typeof v) {
    case 'boolean':
      return String(v)
    case 'string':
      return JSON.stringify(v)
    case 'bigint':
      return `n${v}`
    case 'number':
      return canonicalNumber(Number.isInteger(v) ? BigInt(v).toString() : String(v))
    default:
      break
  }
  if (v instanceof RegoNumber) return canonicalNumber(v.text)
  // A set reads as the array of its members in Rego's order: OPA's YAML lists sets that way.
  if (v instanceof RegoSet)
    return `[${[...v.items]
      .sort((a, b) => compareRegoValues(a as RegoValue, b as RegoValue))
      .map((x) => canonical(x))
      .join(',')}]`
  if (Array.isArray(v)) {
    return `[${v.map((x) => canonical(x)).join(',')}]`
  }
  if (v instanceof Map) {
    return `{${[...v]
      .map(([k, x]) => `${canonical(k)}:${canonical(x)}`)
      .sort()
      .join(',')}}`
  }
  return `{${Object.entries(v as object)
    .map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`)
    .sort()
    .join(',')}}`
}

function canonicalNumber(text: string): string {
  const n = new RegoNumber(text).toBigInt()
  if (n !== undefined) return `n${n}`
  return `n${Number(text)}`
}

/**
 * A result set (a list of binding objects) as a sorted list of canonical bindings, deduplicated:
 * OPA's own harness compares result sets as sets. With `sortBindings` (the case's `sort_bindings`),
 * a binding's array values are sorted first, as in OPA's harness.
 */
export function canonicalResultSet(rs: readonly unknown[], sortBindings: boolean): string[] {
  const out = new Set<string>()
  for (const bindings of rs) {
    const entries = Object.entries(bindings as Record<string, unknown>).map(([k, x]) => {
      // OPA's harness turns sets into sorted arrays (JSON), then sorts a binding's array in
      // Rego's order (ast.Array.Sorted).
      const items = x instanceof RegoSet ? x.items : Array.isArray(x) ? x : undefined
      const v =
        sortBindings && items !== undefined
          ? items.map((e) => jsonify(rego(e))).sort((a, b) => compareRegoValues(a, b))
          : x
      return `${JSON.stringify(k)}:${canonical(v)}`
    })
    out.add(`{${entries.sort().join(',')}}`)
  }
  return [...out].sort()
}

/** A value from YAML (bigint, number) or parsed text as a {@link RegoValue}, for ordering. */
function rego(v: unknown): RegoValue {
  if (typeof v === 'bigint') return new RegoNumber(v.toString())
  if (typeof v === 'number') return new RegoNumber(Number.isInteger(v) ? BigInt(v).toString() : String(v))
  if (Array.isArray(v)) return v.map(rego)
  if (
    v instanceof RegoSet ||
    v instanceof RegoNumber ||
    v instanceof Map ||
    v === null ||
    typeof v !== 'object'
  ) {
    return v as RegoValue
  }
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rego(x)]))
}

/** Sets as arrays of their members in Rego's order, all the way down, as OPA's JSON has them. */
function jsonify(v: RegoValue): RegoValue {
  if (v instanceof RegoSet) return [...v.items].sort(compareRegoValues).map(jsonify)
  if (Array.isArray(v)) return v.map(jsonify)
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, jsonify(x)]))
  if (v !== null && typeof v === 'object' && !(v instanceof RegoNumber)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonify(x)]))
  }
  return v
}
