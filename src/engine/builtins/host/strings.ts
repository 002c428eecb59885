import type { HostBuiltin } from '../host-builtin.js'

const isStringArray = (x: unknown): x is string[] => Array.isArray(x) && x.every((e) => typeof e === 'string')

/** Go's `strings.Count`: non-overlapping occurrences; an empty needle counts runes + 1. */
function goCount(s: string, sub: string): number {
  if (sub === '') return Array.from(s).length + 1
  let n = 0
  for (let i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + sub.length)) n++
  return n
}

/** Go's `strings.SplitN` (`limit < 0`: all parts). */
function goSplitN(s: string, sep: string, limit: number): string[] {
  if (limit === 0) return []
  if (sep === '') {
    const runes = Array.from(s)
    if (limit < 0 || limit >= runes.length) return runes
    return [...runes.slice(0, limit - 1), runes.slice(limit - 1).join('')]
  }
  const parts: string[] = []
  let rest = s
  while (limit < 0 || parts.length < limit - 1) {
    const i = rest.indexOf(sep)
    if (i < 0) break
    parts.push(rest.slice(0, i))
    rest = rest.slice(i + sep.length)
  }
  parts.push(rest)
  return parts
}

/** OPA's `anyAffixMatch`: does any search string have any base as prefix (suffix)? */
function anyAffixMatch(search: unknown, base: unknown, suffix: boolean): boolean | undefined {
  const strs = typeof search === 'string' ? [search] : isStringArray(search) ? search : undefined
  if (strs === undefined) return undefined
  const bases = typeof base === 'string' ? [base] : isStringArray(base) ? base : undefined
  if (bases === undefined) return undefined
  return strs.some((s) => bases.some((b) => (suffix ? s.endsWith(b) : s.startsWith(b))))
}

/** String builtins not in OPA's WebAssembly module (OPA `topdown/strings.go`). */
export const stringBuiltins: readonly HostBuiltin[] = [
  {
    name: 'strings.count',
    impl: (s, sub) => (typeof s === 'string' && typeof sub === 'string' ? goCount(s, sub) : undefined),
  },
  {
    name: 'strings.any_prefix_match',
    impl: (search, base) => anyAffixMatch(search, base, false),
  },
  {
    name: 'strings.any_suffix_match',
    impl: (search, base) => anyAffixMatch(search, base, true),
  },
  {
    name: 'indexof_n',
    impl: (s, search) => {
      if (typeof s !== 'string' || typeof search !== 'string' || search === '') return undefined
      // Overlapping matches, indexed in runes (code points) like OPA.
      const runes = Array.from(s)
      const needle = Array.from(search)
      const out: number[] = []
      for (let i = 0; i + needle.length <= runes.length; i++) {
        if (needle.every((r, j) => runes[i + j] === r)) out.push(i)
      }
      return out
    },
  },
  {
    name: 'strings.split_n',
    impl: (s, delim, n) => {
      if (
        typeof s !== 'string' ||
        typeof delim !== 'string' ||
        typeof n !== 'number' ||
        !Number.isInteger(n)
      ) {
        return undefined
      }
      if (n >= 0) return goSplitN(s, delim, n + 1).slice(0, n)
      const parts = goSplitN(s, delim, -1)
      return parts.slice(Math.max(parts.length + n, 0))
    },
  },
]
