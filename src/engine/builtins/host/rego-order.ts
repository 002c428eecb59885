/**
 * Rego's total order on values (`ast.Compare`), for host builtins that return sets: a set crosses
 * the WebAssembly boundary as a JSON array, which we sort the way OPA serialises sets.
 */
const rank = (v: unknown): number => {
  if (v === null || v === undefined) return 0
  switch (typeof v) {
    case 'boolean':
      return 1
    case 'number':
      return 2
    case 'string':
      return 3
    default:
      return Array.isArray(v) ? 4 : 5
  }
}

/** Compares two JSON values in Rego's order. */
export function compareRego(a: unknown, b: unknown): number {
  const ra = rank(a)
  const rb = rank(b)
  if (ra !== rb) return ra - rb
  switch (ra) {
    case 1:
      return Number(a) - Number(b)
    case 2:
      return (a as number) - (b as number)
    case 3:
      return a === b ? 0 : (a as string) < (b as string) ? -1 : 1
    case 4: {
      const x = a as unknown[]
      const y = b as unknown[]
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const c = compareRego(x[i], y[i])
        if (c !== 0) return c
      }
      return x.length - y.length
    }
    case 5: {
      const x = a as Record<string, unknown>
      const y = b as Record<string, unknown>
      const kx = Object.keys(x).sort()
      const ky = Object.keys(y).sort()
      for (let i = 0; i < Math.min(kx.length, ky.length); i++) {
        const c = compareRego(kx[i], ky[i]) || compareRego(x[kx[i]!], y[ky[i]!])
        if (c !== 0) return c
      }
      return kx.length - ky.length
    }
    default:
      return 0
  }
}

/** A set's members, deduplicated and in Rego's order. */
export function sortRegoValues<T>(values: readonly T[]): T[] {
  const sorted = [...values].sort(compareRego)
  return sorted.filter((v, i) => i === 0 || compareRego(sorted[i - 1], v) !== 0)
}
