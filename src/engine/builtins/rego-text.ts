import { quote } from './host/go-strconv.js'
import { RegoNumber, RegoSet, type RegoValue } from './rego-value.js'

/**
 * Rego's total order on exact values (OPA's `ast.Compare`): null < booleans < numbers < strings <
 * arrays < objects < sets; numbers by exact value, strings by UTF-8 bytes, arrays element-wise,
 * objects by their sorted keys then values, sets by their sorted members.
 */
export function compareRegoValues(a: RegoValue, b: RegoValue): number {
  const ra = rank(a)
  const rb = rank(b)
  if (ra !== rb) return ra - rb
  switch (ra) {
    case 0:
      return 0
    case 1:
      return Number(a) - Number(b)
    case 2:
      return compareNumbers(a as RegoNumber, b as RegoNumber)
    case 3:
      return compareStrings(a as string, b as string)
    case 6:
      return compareLists(a as RegoValue[], b as RegoValue[])
    case 7: {
      const x = sortedEntries(a)
      const y = sortedEntries(b)
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareRegoValues(x[i]![0], y[i]![0]) || compareRegoValues(x[i]![1], y[i]![1])
        if (c !== 0) return c
      }
      return x.length - y.length
    }
    default:
      return compareLists(sortedMembers(a as RegoSet), sortedMembers(b as RegoSet))
  }
}

function rank(v: RegoValue): number {
  if (v === null) return 0
  switch (typeof v) {
    case 'boolean':
      return 1
    case 'string':
      return 3
    default:
      if (v instanceof RegoNumber) return 2
      if (Array.isArray(v)) return 6
      if (v instanceof RegoSet) return 8
      return 7
  }
}

function compareLists(x: readonly RegoValue[], y: readonly RegoValue[]): number {
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = compareRegoValues(x[i]!, y[i]!)
    if (c !== 0) return c
  }
  return x.length - y.length
}

/** Code point order, which is UTF-8 byte order (JavaScript's `<` compares UTF-16 units). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0
  const x = a[Symbol.iterator]()
  const y = b[Symbol.iterator]()
  for (;;) {
    const p = x.next()
    const q = y.next()
    if (p.done || q.done) return p.done ? (q.done ? 0 : -1) : 1
    const d = p.value.codePointAt(0)! - q.value.codePointAt(0)!
    if (d !== 0) return d
  }
}

/** Exact comparison of two numbers' values. */
export function compareNumbers(a: RegoNumber, b: RegoNumber): number {
  const x = decimalOf(a.text)
  const y = decimalOf(b.text)
  const e = Math.min(x.exp, y.exp)
  const l = x.digits * 10n ** BigInt(x.exp - e)
  const r = y.digits * 10n ** BigInt(y.exp - e)
  return l < r ? -1 : l > r ? 1 : 0
}

function decimalOf(text: string): { digits: bigint; exp: number } {
  const m = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text)
  if (!m) return { digits: 0n, exp: 0 }
  const frac = m[3] ?? ''
  return { digits: BigInt(`${m[1]}${m[2] || '0'}${frac}`), exp: Number(m[4] ?? 0) - frac.length }
}

function sortedEntries(o: RegoValue): [RegoValue, RegoValue][] {
  const entries: [RegoValue, RegoValue][] =
    o instanceof Map ? [...o] : Object.entries(o as { [k: string]: RegoValue })
  return entries.sort((p, q) => compareRegoValues(p[0], q[0]))
}

function sortedMembers(s: RegoSet): RegoValue[] {
  return [...s.items].sort(compareRegoValues)
}

/**
 * A value as OPA prints it (`ast.Value.String()`): strings quoted as Go quotes them, numbers as
 * written, `[1, 2]`, `{"a": 1}` and `{1, 2}` with members and keys in Rego's order, `set()`.
 */
export function regoText(v: RegoValue): string {
  if (v === null) return 'null'
  switch (typeof v) {
    case 'boolean':
      return String(v)
    case 'string':
      return quote(v)
    default:
      break
  }
  if (v instanceof RegoNumber) return v.text
  if (Array.isArray(v)) return `[${v.map(regoText).join(', ')}]`
  if (v instanceof RegoSet) {
    return v.items.length === 0 ? 'set()' : `{${sortedMembers(v).map(regoText).join(', ')}}`
  }
  return `{${sortedEntries(v)
    .map(([k, x]) => `${regoText(k)}: ${regoText(x)}`)
    .join(', ')}}`
}
