/**
 * A port of `github.com/yashtewari/glob-intersection` v0.2.0 (`gintersect.NonEmpty`), which OPA's
 * `regex.globs_match` calls: whether two "globs" (a regex subset: characters, `.`, `[…]` sets with
 * ranges, `+` and `*` flags, `\` escapes) have a non-empty intersection.
 *
 * The decision procedure is the library's, step for step; only its recursion is memoized. Every
 * recursive call works on suffixes of the two trimmed globs, and the functions are pure, so a
 * result per (function, which glob leads, offset, offset) bounds the work to O(n·m²) where the
 * original is exponential on inputs like `a*a*a*…b` against `a*a*a*…c`.
 */

const TT_CHARACTER = 0
const TT_DOT = 1
const TT_SET = 2
const FLAG_NONE = 0
const FLAG_PLUS = 1
const FLAG_STAR = 2

interface Token {
  readonly type: 0 | 1 | 2
  flag: number
  readonly rune?: number
  readonly runes?: ReadonlySet<number>
}

/** The library's error text: `input:<input>, pos:<index>, <message>: the input provided is invalid`. */
class GlobError extends Error {}

const invalid = (input: readonly number[], index: number, message: string): GlobError =>
  new GlobError(
    `input:${String.fromCodePoint(...input)}, pos:${index}, ${message}: the input provided is invalid`,
  )

const END = Symbol('end')

function nextRune(index: number, input: readonly number[]): [number, number, boolean] | typeof END {
  if (index >= input.length) return END
  if (input[index] === 0x5c) {
    if (index < input.length - 1) return [index + 2, input[index + 1]!, true]
    throw invalid(input, index, 'input ends with a \\ (escape) character')
  }
  return [index + 1, input[index]!, false]
}

function nextFlag(index: number, input: readonly number[]): [number, number] {
  const n = nextRune(index, input)
  if (n === END) return [index, FLAG_NONE]
  const [i, r, escaped] = n
  if (!escaped && (r === 0x2b || r === 0x2a)) return [i, r === 0x2b ? FLAG_PLUS : FLAG_STAR]
  return [index, FLAG_NONE]
}

function nextTokenSet(index: number, input: readonly number[]): [number, Token] {
  const runes = new Set<number>()
  let prev = 0
  let prevExists = false
  let i = index
  for (let n = nextRune(i, input); n !== END; n = nextRune(i, input)) {
    let [ni, r, escaped] = n
    i = ni
    if (!escaped && r === 0x2d) {
      if (!prevExists) throw invalid(input, i, "range character '-' must be preceded by a Unicode character")
      if (i >= input.length - 1)
        throw invalid(input, i, "range character '-' must be followed by a Unicode character")
      const m = nextRune(i, input)
      if (m === END) throw invalid(input, i, "range character '-' must be followed by a Unicode character")
      ;[ni, r, escaped] = m
      i = ni
      if (!escaped && (r === 0x5d || r === 0x2d))
        throw invalid(input, i, "range character '-' cannot be followed by a special symbol")
      if (r < prev)
        throw invalid(
          input,
          i,
          `range is out of order: '${String.fromCodePoint(r)}' comes before '${String.fromCodePoint(prev)}' in Unicode`,
        )
      for (let x = prev; x <= r; x++) runes.add(x)
      prevExists = false
    } else if (!escaped && r === 0x5d) {
      return [i, { type: TT_SET, flag: FLAG_NONE, runes }]
    } else {
      runes.add(r)
      prev = r
      prevExists = true
    }
  }
  throw invalid(input, i, 'found [ without matching ]')
}

function nextToken(index: number, input: readonly number[]): [number, Token] | typeof END {
  const n = nextRune(index, input)
  if (n === END) return END
  let [i, r, escaped] = n
  let token: Token
  if (escaped) token = { type: TT_CHARACTER, flag: FLAG_NONE, rune: r }
  else if (r === 0x2e) token = { type: TT_DOT, flag: FLAG_NONE }
  else if (r === 0x5d) throw invalid(input, i, "set-close ']' with no preceding '['")
  else if (r === 0x5b) [i, token] = nextTokenSet(i, input)
  else if (r === 0x2b || r === 0x2a)
    throw invalid(input, i, `flag '${String.fromCodePoint(r)}' must be preceded by a non-flag`)
  else token = { type: TT_CHARACTER, flag: FLAG_NONE, rune: r }
  const [fi, flag] = nextFlag(i, input)
  token.flag = flag
  return [fi, token]
}

function equal(a: Token, b: Token): boolean {
  if (a.type !== b.type) return false
  if (a.type === TT_CHARACTER) return a.rune === b.rune
  if (a.type === TT_DOT) return true
  if (a.runes!.size !== b.runes!.size) return false
  for (const r of a.runes!) if (!b.runes!.has(r)) return false
  return true
}

function match(a: Token, b: Token): boolean {
  const [t1, t2] = a.type > b.type ? [b, a] : [a, b]
  if (t1.type === TT_CHARACTER) {
    if (t2.type === TT_CHARACTER) return t1.rune === t2.rune
    if (t2.type === TT_DOT) return true
    return t2.runes!.has(t1.rune!)
  }
  if (t1.type === TT_DOT) return true
  for (const r of t1.runes!) if (t2.runes!.has(r)) return true
  return false
}

/** `NewGlob`: tokenize, then merge adjacent equal flagged tokens (`Simplify`). */
function newGlob(text: string): Token[] {
  const input = Array.from(text, (c) => c.codePointAt(0)!)
  const tokens: Token[] = []
  for (let n = nextToken(0, input); n !== END; n = nextToken(n[0], input)) tokens.push(n[1])
  if (tokens.length === 0) return tokens
  const simple: Token[] = [tokens[0]!]
  let latest = tokens[0]!
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i]!
    if (t.flag !== FLAG_NONE && latest.flag !== FLAG_NONE && equal(t, latest)) {
      simple[simple.length - 1]!.flag =
        t.flag === FLAG_PLUS || latest.flag === FLAG_PLUS ? FLAG_PLUS : FLAG_STAR
    } else {
      latest = t
      simple.push(t)
    }
  }
  return simple
}

/**
 * Whether the globs `lhs` and `rhs` can match a common string (`gintersect.NonEmpty`).
 *
 * @throws Error with the library's message for an invalid glob.
 */
export function globsIntersect(lhs: string, rhs: string): boolean {
  let g1 = newGlob(lhs)
  let g2 = newGlob(rhs)
  // trimGlobs
  let l = 0
  for (; l < g1.length && l < g2.length && g1[l]!.flag === FLAG_NONE && g2[l]!.flag === FLAG_NONE; l++) {
    if (!match(g1[l]!, g2[l]!)) return false
  }
  if (l > 0) l--
  let r1 = g1.length - 1
  let r2 = g2.length - 1
  for (
    ;
    r1 >= 0 && r1 >= l && r2 >= 0 && r2 >= l && g1[r1]!.flag === FLAG_NONE && g2[r2]!.flag === FLAG_NONE;
    r1--, r2--
  ) {
    if (!match(g1[r1]!, g2[r2]!)) return false
  }
  if (r1 < g1.length - 1) {
    r1++
    r2++
  }
  g1 = g1.slice(l, r1 + 1)
  g2 = g2.slice(l, r2 + 1)

  // A glob is (which array, offset): the suffix of g1 or g2.
  const arrays = [g1, g2] as const
  const memo = new Map<string, boolean>()
  const memoized = (kind: string, a: number, i: number, j: number, f: () => boolean): boolean => {
    const key = `${kind}${a}:${i}:${j}`
    const hit = memo.get(key)
    if (hit !== undefined) return hit
    const v = f()
    memo.set(key, v)
    return v
  }
  // `a` names the array the first glob is a suffix of; the second is a suffix of the other one.
  const normal = (a: number, i: number, j: number): boolean =>
    memoized('n', a, i, j, () => {
      const x = arrays[a]!
      const y = arrays[1 - a]!
      let p = i
      let q = j
      for (; p < x.length && q < y.length; p++, q++) {
        if (x[p]!.flag === FLAG_NONE && y[q]!.flag === FLAG_NONE) {
          if (!match(x[p]!, y[q]!)) return false
        } else return special(a, p, q)
      }
      return p === x.length && q === y.length
    })
  const special = (a: number, i: number, j: number): boolean => {
    const x = arrays[a]!
    const y = arrays[1 - a]!
    if (x[i]!.flag !== FLAG_NONE) return x[i]!.flag === FLAG_PLUS ? plus(a, i, j) : star(a, i, j)
    switch (y[j]!.flag) {
      case FLAG_PLUS:
        return plus(1 - a, j, i)
      case FLAG_STAR:
        return star(1 - a, j, i)
      default:
        return false
    }
  }
  const plus = (a: number, i: number, j: number): boolean =>
    memoized('p', a, i, j, () => {
      const x = arrays[a]!
      const y = arrays[1 - a]!
      // The library indexes other[0] unguarded: an empty other panics there, which never happens
      // from special(), whose callers always leave both globs non-empty.
      if (!match(x[i]!, y[j]!)) return false
      if (star(a, i, j + 1)) return true
      return y[j]!.flag !== FLAG_NONE && normal(a, i + 1, j)
    })
  const star = (a: number, i: number, j: number): boolean =>
    memoized('s', a, i, j, () => {
      const x = arrays[a]!
      const y = arrays[1 - a]!
      const starToken = x[i]!
      const nextToken = i + 1 < x.length ? x[i + 1] : undefined
      for (let k = j; k < y.length; k++) {
        const t = y[k]!
        if (nextToken !== undefined && match(t, nextToken)) {
          if (normal(a, i + 1, k)) return true
          if (!match(t, starToken)) return false
        } else if (!match(t, starToken)) return false
      }
      return nextToken === undefined
    })
  return normal(0, 0, 0)
}
