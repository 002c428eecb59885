/**
 * Go `regexp` (RE2 syntax, leftmost-first) on top of JavaScript `RegExp`: a translator from RE2
 * syntax to an equivalent `u`-flag JavaScript pattern, plus ports of Go's `FindAll` loop and
 * replacement-template `Expand`. Internal to the host builtins.
 *
 * RE2 has no backreferences or lookaround, so on RE2-valid patterns a backtracking engine with
 * the same leftmost-first preference returns the same matches. Constructs the translator does not
 * handle (inline flag groups other than a leading `(?flags)` for `i`) make compilation fail, which
 * the builtins report as undefined.
 */

/** A compiled Go regular expression. */
export interface GoRegexp {
  readonly re: RegExp
  /** Capture group names by group index (index 0 is the whole match; "" for unnamed groups). */
  readonly names: readonly string[]
}

const cache = new Map<string, GoRegexp | undefined>()

/** Compiles an RE2 pattern, or returns `undefined` where Go's `regexp.Compile` would fail. */
export function compileGo(pattern: string): GoRegexp | undefined {
  if (cache.has(pattern)) return cache.get(pattern)
  let compiled: GoRegexp | undefined
  try {
    compiled = translate(pattern)
  } catch {
    compiled = undefined
  }
  if (cache.size > 1024) cache.clear()
  cache.set(pattern, compiled)
  return compiled
}

class Unsupported extends Error {}

const perlClasses: Readonly<Record<string, string>> = {
  d: '0-9',
  s: '\\t\\n\\f\\r ',
  w: '0-9A-Za-z_',
}

const posixClasses: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
}

const unicodeCategories = new Set([
  'C',
  'Cc',
  'Cf',
  'Co',
  'Cs',
  'L',
  'Ll',
  'Lm',
  'Lo',
  'Lt',
  'Lu',
  'M',
  'Mc',
  'Me',
  'Mn',
  'N',
  'Nd',
  'Nl',
  'No',
  'P',
  'Pc',
  'Pd',
  'Pe',
  'Pf',
  'Pi',
  'Po',
  'Ps',
  'S',
  'Sc',
  'Sk',
  'Sm',
  'So',
  'Z',
  'Zl',
  'Zp',
  'Zs',
])

const hexCp = (cp: number): string => `\\u{${cp.toString(16)}}`
const isWordChar = (c: string): boolean => /[0-9A-Za-z_]/.test(c)

function unicodeClass(name: string, negated: boolean): string {
  let n = name
  let neg = negated
  if (n.startsWith('^')) {
    n = n.slice(1)
    neg = !neg
  }
  let body: string
  if (n === 'Any') body = '\\u{0}-\\u{10ffff}'
  else if (unicodeCategories.has(n)) body = `\\p{${n}}`
  else if (/^[A-Z][A-Za-z_]*$/.test(n)) body = `\\p{Script=${n}}`
  else throw new Unsupported(n)
  // Validate the property name now so an unknown script fails as Go's parser would.
  new RegExp(`[${body}]`, 'u')
  return neg ? `[^${body}]` : `[${body}]`
}

function translate(pattern: string): GoRegexp {
  let i = 0
  let flags = ''
  // A leading flag group applies to the whole pattern and maps onto JavaScript flags.
  const lead = /^\(\?([imsU]+)\)/.exec(pattern)
  let dotAll = false
  let multiline = false
  if (lead) {
    const f = lead[1]!
    if (f.includes('U')) throw new Unsupported('U')
    if (f.includes('i')) flags += 'i'
    dotAll = f.includes('s')
    multiline = f.includes('m')
    i = lead[0].length
  }
  const names: string[] = ['']
  let out = ''
  // Remember, per open group, the dotAll / multiline state to restore on close.
  const stack: { dotAll: boolean; multiline: boolean }[] = []

  const readEscape = (inClass: boolean): string => {
    // i points at the backslash
    const c = pattern[i + 1]
    if (c === undefined) throw new Unsupported('trailing backslash')
    i += 2
    switch (c) {
      case 'd':
      case 's':
      case 'w':
        return inClass ? perlClasses[c]! : `[${perlClasses[c]}]`
      case 'D':
      case 'S':
      case 'W':
        if (inClass) throw new Unsupported('negated class in class')
        return `[^${perlClasses[c.toLowerCase()]}]`
      case 'b':
      case 'B':
        if (inClass) throw new Unsupported('\\b in class')
        return `\\${c}`
      case 'A':
        if (inClass) throw new Unsupported('\\A in class')
        return '(?<![\\s\\S])'
      case 'z':
        if (inClass) throw new Unsupported('\\z in class')
        return '(?![\\s\\S])'
      case 'a':
        return hexCp(7)
      case 'f':
        return '\\f'
      case 't':
        return '\\t'
      case 'n':
        return '\\n'
      case 'r':
        return '\\r'
      case 'v':
        return '\\v'
      case 'x': {
        if (pattern[i] === '{') {
          const end = pattern.indexOf('}', i)
          const hex = pattern.slice(i + 1, end)
          if (end < 0 || !/^[0-9A-Fa-f]+$/.test(hex)) throw new Unsupported('bad \\x')
          const cp = Number.parseInt(hex, 16)
          if (cp > 0x10ffff) throw new Unsupported('bad \\x')
          i = end + 1
          return hexCp(cp)
        }
        const hex = pattern.slice(i, i + 2)
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new Unsupported('bad \\x')
        i += 2
        return hexCp(Number.parseInt(hex, 16))
      }
      case 'p':
      case 'P': {
        let name: string
        if (pattern[i] === '{') {
          const end = pattern.indexOf('}', i)
          if (end < 0) throw new Unsupported('bad \\p')
          name = pattern.slice(i + 1, end)
          i = end + 1
        } else {
          name = pattern[i] ?? ''
          i += 1
        }
        const cls = unicodeClass(name, c === 'P')
        if (inClass) {
          if (cls.startsWith('[^')) throw new Unsupported('negated \\P in class')
          return cls.slice(1, -1)
        }
        return cls
      }
      case 'Q': {
        const end = pattern.indexOf('\\E', i)
        const lit = end < 0 ? pattern.slice(i) : pattern.slice(i, end)
        i = end < 0 ? pattern.length : end + 2
        if (inClass) throw new Unsupported('\\Q in class')
        return Array.from(lit, (ch) => literal(ch)).join('')
      }
      default: {
        if (c >= '0' && c <= '7') {
          // Octal escapes: \0, or \1-\7 followed by more octal digits (\1-\9 alone are backrefs).
          if (c !== '0' && !(pattern[i] !== undefined && pattern[i]! >= '0' && pattern[i]! <= '7')) {
            throw new Unsupported('backreference')
          }
          let digits = c
          while (digits.length < 3 && pattern[i] !== undefined && pattern[i]! >= '0' && pattern[i]! <= '7') {
            digits += pattern[i]
            i++
          }
          return hexCp(Number.parseInt(digits, 8))
        }
        const cp = c.codePointAt(0)!
        if (cp < 0x80 && !isWordChar(c)) return hexCp(cp)
        throw new Unsupported(`escape \\${c}`)
      }
    }
  }

  const readClass = (): string => {
    // i points at '['
    i++
    let negated = false
    if (pattern[i] === '^') {
      negated = true
      i++
    }
    let body = ''
    let first = true
    while (i < pattern.length && (pattern[i] !== ']' || first)) {
      first = false
      if (pattern.startsWith('[:', i)) {
        const end = pattern.indexOf(':]', i + 2)
        if (end >= 0) {
          let name = pattern.slice(i + 2, end)
          let neg = false
          if (name.startsWith('^')) {
            neg = true
            name = name.slice(1)
          }
          const cls = posixClasses[name]
          if (cls === undefined) throw new Unsupported(`posix ${name}`)
          if (neg) throw new Unsupported('negated posix class')
          body += cls
          i = end + 2
          continue
        }
      }
      const lo = readClassChar()
      if (pattern[i] === '-' && pattern[i + 1] !== ']' && i + 1 < pattern.length) {
        i++
        const hi = readClassChar()
        if (lo.cp === undefined || hi.cp === undefined) throw new Unsupported('bad range')
        if (hi.cp < lo.cp) throw new Unsupported('bad range')
        body += `${lo.text}-${hi.text}`
      } else {
        body += lo.text
      }
    }
    if (pattern[i] !== ']') throw new Unsupported('missing ]')
    i++
    if (body === '' && !negated) throw new Unsupported('empty class')
    return negated ? `[^${body}]` : `[${body}]`
  }

  const readClassChar = (): { text: string; cp: number | undefined } => {
    if (pattern[i] === '\\') {
      const text = readEscape(true)
      const single = /^\\u\{([0-9a-f]+)\}$/.exec(text)
      if (single) return { text, cp: Number.parseInt(single[1]!, 16) }
      const simple: Record<string, number> = { '\\f': 12, '\\t': 9, '\\n': 10, '\\r': 13, '\\v': 11 }
      if (simple[text] !== undefined) return { text, cp: simple[text] }
      return { text, cp: undefined }
    }
    const cp = pattern.codePointAt(i)!
    const ch = String.fromCodePoint(cp)
    i += ch.length
    if (ch === '[' && pattern[i] === ':') return { text: hexCp(cp), cp }
    return { text: isWordChar(ch) || cp >= 0x80 ? ch : hexCp(cp), cp }
  }

  const readRepeat = (): string | undefined => {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(i))
    if (!m) return undefined
    const lo = Number(m[1])
    const hi = m[3] === undefined || m[3] === '' ? undefined : Number(m[3])
    if (lo > 1000 || (hi !== undefined && (hi > 1000 || hi < lo))) throw new Unsupported('bad repeat')
    i += m[0].length
    return m[0]
  }

  let quant: 'none' | 'quant' | 'lazy' = 'none'
  while (i < pattern.length) {
    const c = pattern[i]!
    if (c !== '{' && c !== '*' && c !== '+' && c !== '?') quant = 'none'
    switch (c) {
      case '\\':
        out += readEscape(false)
        break
      case '[':
        out += readClass()
        break
      case '(': {
        stack.push({ dotAll, multiline })
        if (pattern[i + 1] === '?') {
          const named = /^\(\?P?<([A-Za-z0-9_]+)>/.exec(pattern.slice(i))
          if (named) {
            if (names.includes(named[1]!)) throw new Unsupported('duplicate name')
            names.push(named[1]!)
            out += '('
            i += named[0].length
            break
          }
          const flagGroup = /^\(\?(-?[ims]*|[ims]+-[ims]*)(:|\))/.exec(pattern.slice(i))
          if (!flagGroup || flagGroup[1] === '' || flagGroup[1] === '-') {
            if (pattern.startsWith('(?:', i)) {
              out += '(?:'
              i += 3
              break
            }
            throw new Unsupported('group syntax')
          }
          const [on, off = ''] = flagGroup[1]!.split('-') as [string, string?]
          if (on.includes('i') !== flags.includes('i') && (on.includes('i') || off.includes('i'))) {
            throw new Unsupported('scoped i flag')
          }
          if (on.includes('s')) dotAll = true
          if (off.includes('s')) dotAll = false
          if (on.includes('m')) multiline = true
          if (off.includes('m')) multiline = false
          i += flagGroup[0].length
          if (flagGroup[2] === ':') {
            out += '(?:'
          } else {
            // (?flags) applies to the rest of the current group.
            stack.pop()
          }
          break
        }
        names.push('')
        out += '('
        i++
        break
      }
      case ')': {
        const saved = stack.pop()
        if (saved === undefined) throw new Unsupported('unbalanced )')
        dotAll = saved.dotAll
        multiline = saved.multiline
        out += ')'
        i++
        break
      }
      case '.':
        out += dotAll ? '[\\s\\S]' : '[^\\n]'
        i++
        break
      case '^':
        out += multiline ? '(?<![^\\n])' : '(?<![\\s\\S])'
        i++
        break
      case '$':
        out += multiline ? '(?![^\\n])' : '(?![\\s\\S])'
        i++
        break
      case '{': {
        const rep = readRepeat()
        if (rep === undefined) {
          out += '\\{'
          i++
          quant = 'none'
          break
        }
        if (quant !== 'none') throw new Unsupported('nested repetition')
        out += rep
        quant = 'quant'
        break
      }
      case '*':
      case '+':
      case '?': {
        if (c === '?' && quant === 'quant') {
          quant = 'lazy'
        } else if (quant !== 'none') {
          throw new Unsupported('nested repetition')
        } else {
          quant = 'quant'
        }
        out += c
        i++
        break
      }
      case '}':
      case ']':
      case '/':
        out += `\\${c}`
        i++
        break
      default: {
        const cp = pattern.codePointAt(i)!
        const ch = String.fromCodePoint(cp)
        out += ch
        i += ch.length
      }
    }
  }
  if (stack.length > 0) throw new Unsupported('missing )')
  // Quantified lookarounds (from a quantified ^ or $) are a syntax error in JavaScript.
  return { re: new RegExp(out, `${flags}gu`), names }
}

function literal(ch: string): string {
  const cp = ch.codePointAt(0)!
  return isWordChar(ch) || cp >= 0x80 ? ch : hexCp(cp)
}

/** Go's `FindAllStringSubmatchIndex(s, n)` as JavaScript match arrays (`n < 0`: no limit). */
export function findAll(g: GoRegexp, s: string, n: number): RegExpExecArray[] {
  const out: RegExpExecArray[] = []
  if (n === 0) return out
  const re = g.re
  let pos = 0
  let prevMatchEnd = -1
  while ((n < 0 || out.length < n) && pos <= s.length) {
    re.lastIndex = pos
    const m = re.exec(s)
    if (m === null) break
    const start = m.index
    const end = start + m[0].length
    let accept = true
    if (end === start) {
      if (start === prevMatchEnd) accept = false
      // Advance by one code point past an empty match.
      const cp = s.codePointAt(start)
      pos = start + (cp !== undefined && cp > 0xffff ? 2 : 1)
    } else {
      pos = end
    }
    prevMatchEnd = end
    if (accept) out.push(m)
  }
  return out
}

/** Go's `Regexp.Expand`: `$1`, `${1}`, `$name`, `${name}` and `$$` in a replacement template. */
export function expand(g: GoRegexp, template: string, m: RegExpExecArray): string {
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
      if (ref.num < m.length && m[ref.num] !== undefined) dst += m[ref.num]
    } else {
      const idx = g.names.indexOf(ref.name)
      if (idx > 0 && m[idx] !== undefined) dst += m[idx]
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
