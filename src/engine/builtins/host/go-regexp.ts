/**
 * Go `regexp` for the host builtins, on re2js: a JavaScript port of RE2/J, itself a port of Go's
 * `regexp`, so syntax, leftmost-first semantics and the `FindAll` iteration rules are Go's, and
 * matching is linear in the input (an automaton, never backtracking). A policy's pattern applied
 * to an agent's argument can therefore not hold a worker for hours, as `(a+)+$` on `aaa…ab` does
 * with a backtracking `RegExp`. Internal to the host builtins.
 */
import { RE2JS } from 're2js'

/** re2js's RE2 object, Go's `*regexp.Regexp`: only what the builtins call. */
interface Re2 {
  match(s: string): boolean
  findAllSubmatchIndex(s: string, n: number): number[][] | null
  numberOfCapturingGroups(): number
  namedGroups: Record<string, number>
}

/** A compiled Go regular expression. */
export interface GoRegexp {
  readonly re: Re2
  /** Capture group names by group index (index 0 is the whole match; "" for unnamed groups). */
  readonly names: readonly string[]
}

/** One match: `[start, end]` of the whole match, then of each group (-1 where a group did not take part). */
export type MatchIndex = readonly number[]

const cache = new Map<string, GoRegexp | undefined>()

/** Compiles an RE2 pattern, or returns `undefined` where Go's `regexp.Compile` would fail. */
export function compileGo(pattern: string): GoRegexp | undefined {
  if (cache.has(pattern)) return cache.get(pattern)
  let compiled: GoRegexp | undefined
  try {
    const re = RE2JS.compile(pattern).re2() as unknown as Re2
    const names: string[] = new Array(re.numberOfCapturingGroups() + 1).fill('')
    for (const [name, index] of Object.entries(re.namedGroups)) names[index] = name
    compiled = { re, names }
  } catch {
    compiled = undefined
  }
  // Bounded, as OPA's regexp cache: an input-driven pattern cannot grow memory without limit.
  if (cache.size >= 100) cache.clear()
  cache.set(pattern, compiled)
  return compiled
}

/** Go's `FindAllStringSubmatchIndex(s, n)` (`n < 0`: no limit). */
export function findAll(g: GoRegexp, s: string, n: number): MatchIndex[] {
  if (n === 0) return []
  return g.re.findAllSubmatchIndex(s, n) ?? []
}

/** The text of group `i` of a match, or undefined when it did not take part. */
export function group(s: string, m: MatchIndex, i: number): string | undefined {
  const start = m[2 * i]
  const end = m[2 * i + 1]
  return start === undefined || start < 0 || end === undefined ? undefined : s.slice(start, end)
}

/** Go's `Regexp.Split(s, n)`. */
export function split(g: GoRegexp, s: string, n: number): string[] {
  if (n === 0) return []
  if (s === '') return ['']
  const out: string[] = []
  let beg = 0
  let end = 0
  for (const m of findAll(g, s, n)) {
    if (n > 0 && out.length === n - 1) break
    end = m[0]!
    if (m[1] !== 0) out.push(s.slice(beg, end))
    beg = m[1]!
  }
  if (end !== s.length) out.push(s.slice(beg))
  return out
}

/** Go's `Regexp.Expand`: `$1`, `${1}`, `$name`, `${name}` and `$$` in a replacement template. */
export function expand(g: GoRegexp, template: string, s: string, m: MatchIndex): string {
  let dst = ''
  let t = template
  for (;;) {
    const dollar = t.indexOf('$')
    if (dollar < 0) break
    dst += t.slice(0, dollar)
    t = t.slice(dollar + 1)
    if (t.startsWith('$')) {
      dst += '$'
      t = t.slice(1)
      continue
    }
    const ref = extractRef(t)
    if (ref === undefined) {
      dst += '$'
      continue
    }
    t = ref.rest
    if (ref.num >= 0) {
      if (ref.num < g.names.length) dst += group(s, m, ref.num) ?? ''
    } else {
      const idx = g.names.indexOf(ref.name)
      if (idx > 0) dst += group(s, m, idx) ?? ''
    }
  }
  return dst + t
}

function extractRef(str: string): { name: string; num: number; rest: string } | undefined {
  if (str === '') return undefined
  let s = str
  let brace = false
  if (s[0] === '{') {
    brace = true
    s = s.slice(1)
  }
  const m = /^[\p{L}\p{Nd}_]+/u.exec(s)
  if (!m) return undefined
  const name = m[0]
  let i = name.length
  if (brace) {
    if (s[i] !== '}') return undefined
    i++
  }
  let num = /^[0-9]+$/.test(name) && name.length <= 8 ? Number(name) : -1
  if (name.length > 1 && name[0] === '0') num = -1
  return { name, num, rest: s.slice(i) }
}
