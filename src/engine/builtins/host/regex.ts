import type { HostBuiltin } from '../host-builtin.js'
import { globsIntersect } from './glob-intersection.js'
import { compileGo, expand, findAll, split } from './go-regexp.js'

/** Go's `regexp.QuoteMeta`. */
const quoteMeta = (s: string): string => s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&')

/** OPA's `generateRegexTemplate`: literal text with delimited regex parts, anchored. */
function templatePattern(tpl: string, start: string, end: string): string | undefined {
  const idxs: number[] = []
  let level = 0
  let idx = 0
  for (let i = 0; i < tpl.length; i++) {
    if (tpl[i] === start) {
      level++
      if (level === 1) idx = i
    } else if (tpl[i] === end) {
      level--
      if (level === 0) idxs.push(idx, i + 1)
      else if (level < 0) return undefined
    }
  }
  if (level !== 0) return undefined
  let pattern = '^'
  let last = 0
  for (let i = 0; i < idxs.length; i += 2) {
    const raw = tpl.slice(last, idxs[i])
    last = idxs[i + 1]!
    const part = tpl.slice(idxs[i]! + 1, last - 1)
    if (compileGo(`^${part}$`) === undefined) return undefined
    pattern += `${quoteMeta(raw)}(${part})`
  }
  return `${pattern + quoteMeta(tpl.slice(last))}$`
}

/**
 * Regex builtins not in OPA's WebAssembly module (OPA `topdown/regex.go`), all matching in linear
 * time (see `go-regexp.ts`).
 */
export const regexBuiltins: readonly HostBuiltin[] = [
  {
    name: 'regex.split',
    impl: (pattern, s) => {
      if (typeof pattern !== 'string' || typeof s !== 'string') return undefined
      const re = compileGo(pattern)
      return re === undefined ? undefined : split(re, s, -1)
    },
  },
  {
    name: 'regex.replace',
    impl: (s, pattern, value) => {
      if (typeof s !== 'string' || typeof pattern !== 'string' || typeof value !== 'string') return undefined
      const re = compileGo(pattern)
      if (re === undefined) return undefined
      let out = ''
      let last = 0
      for (const m of findAll(re, s, -1)) {
        out += s.slice(last, m[0]) + expand(re, value, s, m)
        last = m[1]!
      }
      return out + s.slice(last)
    },
  },
  {
    name: 'regex.find_n',
    impl: (pattern, s, n) => {
      if (typeof pattern !== 'string' || typeof s !== 'string') return undefined
      if (typeof n !== 'number' || !Number.isInteger(n)) return undefined
      const re = compileGo(pattern)
      if (re === undefined) return undefined
      return findAll(re, s, n).map((m) => s.slice(m[0], m[1]))
    },
  },
  {
    name: 'regex.template_match',
    impl: (template, s, start, end) => {
      if (typeof template !== 'string' || typeof s !== 'string') return undefined
      if (typeof start !== 'string' || typeof end !== 'string') return undefined
      // Go counts bytes: a delimiter must be exactly one byte.
      if (Buffer.byteLength(start) !== 1 || Buffer.byteLength(end) !== 1) return undefined
      const pattern = templatePattern(template, start, end)
      const re = pattern === undefined ? undefined : compileGo(pattern)
      if (re === undefined) return undefined
      return re.re.match(s)
    },
  },
  {
    name: 'regex.globs_match',
    impl: (glob1, glob2) => {
      if (typeof glob1 !== 'string' || typeof glob2 !== 'string') return undefined
      try {
        return globsIntersect(glob1, glob2)
      } catch {
        // An invalid glob is a builtin error in OPA; a glob nested deeper than the stack allows
        // (RangeError) is refused the same way rather than crashing the decision.
        return undefined
      }
    },
  },
]
