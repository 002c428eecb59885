import { canBackquote, formatFloat, isPrint, quote, quoteRune } from './go-strconv.js'

/**
 * The Go values OPA's `sprintf` hands to `fmt.Sprintf`: `int64` for integers that fit, `*big.Int`
 * for larger ones, `float64` for numbers written with a fraction or exponent, and `string` for
 * strings and for every other value (its Rego text).
 */
export type GoArg =
  | { readonly type: 'int64'; readonly v: bigint }
  | { readonly type: '*big.Int'; readonly v: bigint }
  | { readonly type: 'float64'; readonly v: number }
  | { readonly type: 'string'; readonly v: string }

interface Flags {
  plus: boolean
  minus: boolean
  sharp: boolean
  space: boolean
  zero: boolean
  plusV: boolean
  sharpV: boolean
  wid: number
  widPresent: boolean
  prec: number
  precPresent: boolean
}

const clearFlags = (): Flags => ({
  plus: false,
  minus: false,
  sharp: false,
  space: false,
  zero: false,
  plusV: false,
  sharpV: false,
  wid: 0,
  widPresent: false,
  prec: 0,
  precPresent: false,
})

const runeCount = (s: string): number => {
  let n = 0
  for (const _ of s) n++
  return n
}

const TOO_LARGE = 1_000_000

/** Go's `parsenum`: a decimal number at `s[start:end]`, refusing values beyond 1e6. */
function parsenum(s: string, start: number, end: number): { num: number; isnum: boolean; i: number } {
  if (start >= end) return { num: 0, isnum: false, i: end }
  let num = 0
  let isnum = false
  let i = start
  for (; i < end && s[i]! >= '0' && s[i]! <= '9'; i++) {
    if (num > TOO_LARGE || num < -TOO_LARGE) return { num: 0, isnum: false, i: end }
    num = num * 10 + (s.charCodeAt(i) - 48)
    isnum = true
  }
  return { num, isnum, i }
}

/**
 * `fmt.Sprintf(format, args...)` of Go, for the argument types OPA passes. Ported from Go's
 * `fmt/print.go` (`doPrintf`, `printArg`) and `fmt/format.go`, including its error forms
 * (`%!d(string=x)`, `%!d(MISSING)`, `%!(EXTRA …)`, `%!(BADINDEX)`, `%!(BADWIDTH)`, `%!(NOVERB)`).
 * The format is read as UTF-8 text as Go reads it.
 */
export function goSprintf(format: string, args: readonly GoArg[]): string {
  let out = ''
  let f = clearFlags()
  let argNum = 0
  let afterIndex = false
  let reordered = false
  let goodArgNum = true
  const end = format.length

  // ---- fmt/format.go
  const writePadding = (n: number): void => {
    if (n <= 0) return
    out += (f.zero ? '0' : ' ').repeat(n)
  }
  const pad = (s: string): void => {
    if (!f.widPresent || f.wid === 0) {
      out += s
      return
    }
    const width = f.wid - runeCount(s)
    if (!f.minus) {
      writePadding(width)
      out += s
    } else {
      out += s
      writePadding(width)
    }
  }
  const truncate = (s: string): string => {
    if (!f.precPresent) return s
    let n = f.prec
    let i = 0
    for (const ch of s) {
      n--
      if (n < 0) return s.slice(0, i)
      i += ch.length
    }
    return s
  }
  const fmtS = (s: string): void => pad(truncate(s))
  const fmtSx = (s: string, upper: boolean): void => {
    const digits = upper ? '0123456789ABCDEF' : '0123456789abcdef'
    const bytes = new TextEncoder().encode(s)
    let length = bytes.length
    if (f.precPresent && f.prec < length) length = f.prec
    let width = 2 * length
    if (width > 0) {
      if (f.space) {
        if (f.sharp) width *= 2
        width += length - 1
      } else if (f.sharp) {
        width += 2
      }
    } else {
      if (f.widPresent) writePadding(f.wid)
      return
    }
    if (f.widPresent && f.wid > width && !f.minus) writePadding(f.wid - width)
    let buf = ''
    if (f.sharp) buf += upper ? '0X' : '0x'
    for (let i = 0; i < length; i++) {
      if (f.space && i > 0) {
        buf += ' '
        if (f.sharp) buf += upper ? '0X' : '0x'
      }
      const b = bytes[i]!
      buf += digits[b >> 4]! + digits[b & 15]!
    }
    out += buf
    if (f.widPresent && f.wid > width && f.minus) writePadding(f.wid - width)
  }
  const fmtQ = (s: string): void => {
    s = truncate(s)
    if (f.sharp && canBackquote(s)) {
      pad(`\`${s}\``)
      return
    }
    pad(quote(s, f.plus))
  }
  const fmtInteger = (value: bigint, base: number, verb: string, upper: boolean): void => {
    const negative = value < 0n
    const u = negative ? -value : value
    let prec = 0
    if (f.precPresent) {
      prec = f.prec
      if (prec === 0 && u === 0n) {
        const oldZero = f.zero
        f.zero = false
        writePadding(f.wid)
        f.zero = oldZero
        return
      }
    } else if (f.zero && !f.minus && f.widPresent) {
      prec = f.wid
      if (negative || f.plus || f.space) prec--
    }
    let digits = u.toString(base)
    if (upper) digits = digits.toUpperCase()
    if (digits.length < prec) digits = '0'.repeat(prec - digits.length) + digits
    if (f.sharp) {
      if (base === 2) digits = `0b${digits}`
      else if (base === 8 && digits[0] !== '0') digits = `0${digits}`
      else if (base === 16) digits = `0${upper ? 'X' : 'x'}${digits}`
    }
    if (verb === 'O') digits = `0o${digits}`
    if (negative) digits = `-${digits}`
    else if (f.plus) digits = `+${digits}`
    else if (f.space) digits = ` ${digits}`
    const oldZero = f.zero
    f.zero = false
    pad(digits)
    f.zero = oldZero
  }
  const fmtC = (c: bigint): void => {
    let cp = c < 0n || c > 0x10ffffn ? 0xfffd : Number(c)
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd
    pad(String.fromCodePoint(cp))
  }
  const fmtQc = (c: bigint): void => {
    const cp = c < 0n || c > 0x10ffffn ? 0xfffd : Number(c)
    if (
      f.sharp &&
      cp !== 0x27 &&
      cp !== 0xfffd &&
      cp >= 0 &&
      !(cp >= 0xd800 && cp <= 0xdfff) &&
      isPrint(cp)
    ) {
      pad(`'${String.fromCodePoint(cp)}'`)
      return
    }
    pad(quoteRune(cp, f.plus))
  }
  const fmtUnicode = (c: bigint): void => {
    // Go prints the uint64 bit pattern: a negative rune shows as a huge hex number.
    const u = c < 0n ? c + (1n << 64n) : c
    let s = `U+${u
      .toString(16)
      .toUpperCase()
      .padStart(f.precPresent && f.prec > 4 ? f.prec : 4, '0')}`
    if (f.sharp && u <= 0x10ffffn && isPrint(Number(u)) && !(u >= 0xd800n && u <= 0xdfffn)) {
      s += ` '${String.fromCodePoint(Number(u))}'`
    }
    const oldZero = f.zero
    f.zero = false
    pad(s)
    f.zero = oldZero
  }
  const fmtFloat = (v: number, verb: string, precIn: number): void => {
    const prec = f.precPresent ? f.prec : precIn
    let num = formatFloat(v, verb, prec)
    num = num[0] === '-' || num[0] === '+' ? num : `+${num}`
    if (f.space && num[0] === '+' && !f.plus) num = ` ${num.slice(1)}`
    if (num[1] === 'I' || num[1] === 'N') {
      const oldZero = f.zero
      f.zero = false
      if (num[1] === 'N' && !f.space && !f.plus) num = num.slice(1)
      pad(num)
      f.zero = oldZero
      return
    }
    if (f.sharp && verb !== 'b') {
      let digits = 0
      if (verb === 'v' || verb === 'g' || verb === 'G' || verb === 'x') digits = prec === -1 ? 6 : prec
      let tail = ''
      let body = num
      let hasDecimalPoint = false
      let sawNonzeroDigit = false
      for (let i = 1; i < body.length; i++) {
        const ch = body[i]!
        if (ch === '.') {
          hasDecimalPoint = true
        } else if (ch === 'p' || ch === 'P') {
          tail = body.slice(i)
          body = body.slice(0, i)
          break
        } else if ((ch === 'e' || ch === 'E') && verb !== 'x' && verb !== 'X') {
          tail = body.slice(i)
          body = body.slice(0, i)
          break
        } else {
          if (ch !== '0') sawNonzeroDigit = true
          if (sawNonzeroDigit) digits--
        }
      }
      if (!hasDecimalPoint) {
        if (body.length === 2 && body[1] === '0') digits--
        body += '.'
      }
      while (digits > 0) {
        body += '0'
        digits--
      }
      num = body + tail
    }
    if (f.plus || num[0] !== '+') {
      if (f.zero && !f.minus && f.widPresent && f.wid > num.length) {
        out += num[0]
        writePadding(f.wid - num.length)
        out += num.slice(1)
        return
      }
      pad(num)
      return
    }
    pad(num.slice(1))
  }

  // ---- fmt/print.go
  // Go's badVerb prints the value with %v and the flags as they are.
  const badVerb = (verb: string, arg: GoArg): void => {
    out += `%!${verb}(${arg.type}=`
    printArg(arg, 'v')
    out += ')'
  }
  const printArg = (arg: GoArg, verb: string): void => {
    if (verb === 'T') {
      fmtS(arg.type)
      return
    }
    switch (arg.type) {
      case 'float64':
        switch (verb) {
          case 'v':
            fmtFloat(arg.v, 'g', -1)
            return
          case 'b':
          case 'g':
          case 'G':
          case 'x':
          case 'X':
            fmtFloat(arg.v, verb, -1)
            return
          case 'f':
          case 'e':
          case 'E':
            fmtFloat(arg.v, verb, 6)
            return
          case 'F':
            fmtFloat(arg.v, 'f', 6)
            return
          default:
            badVerb(verb, arg)
            return
        }
      case 'int64':
        switch (verb) {
          case 'v':
          case 'd':
            fmtInteger(arg.v, 10, verb, false)
            return
          case 'b':
            fmtInteger(arg.v, 2, verb, false)
            return
          case 'o':
          case 'O':
            fmtInteger(arg.v, 8, verb, false)
            return
          case 'x':
            fmtInteger(arg.v, 16, verb, false)
            return
          case 'X':
            fmtInteger(arg.v, 16, verb, true)
            return
          case 'c':
            fmtC(arg.v)
            return
          case 'q':
            fmtQc(arg.v)
            return
          case 'U':
            fmtUnicode(arg.v)
            return
          default:
            badVerb(verb, arg)
            return
        }
      case 'string':
        switch (verb) {
          case 'v':
            if (f.sharpV) fmtQ(arg.v)
            else fmtS(arg.v)
            return
          case 's':
            fmtS(arg.v)
            return
          case 'x':
            fmtSx(arg.v, false)
            return
          case 'X':
            fmtSx(arg.v, true)
            return
          case 'q':
            fmtQ(arg.v)
            return
          default:
            badVerb(verb, arg)
            return
        }
      case '*big.Int':
        bigIntFormat(arg.v, verb)
        return
    }
  }
  // math/big's (*Int).Format.
  const bigIntFormat = (x: bigint, ch: string): void => {
    let base: number
    switch (ch) {
      case 'b':
        base = 2
        break
      case 'o':
      case 'O':
        base = 8
        break
      case 'd':
      case 's':
      case 'v':
        base = 10
        break
      case 'x':
      case 'X':
        base = 16
        break
      default:
        out += `%!${ch}(big.Int=${x})`
        return
    }
    const sign = x < 0n ? '-' : f.plus ? '+' : f.space ? ' ' : ''
    let prefix = ''
    if (f.sharp) {
      if (ch === 'b') prefix = '0b'
      else if (ch === 'o') prefix = '0'
      else if (ch === 'x') prefix = '0x'
      else if (ch === 'X') prefix = '0X'
    }
    if (ch === 'O') prefix = '0o'
    let digits = (x < 0n ? -x : x).toString(base)
    if (ch === 'X') digits = digits.toUpperCase()
    let left = 0
    let zeros = 0
    let right = 0
    if (f.precPresent) {
      if (digits.length < f.prec) zeros = f.prec - digits.length
      else if (digits === '0' && f.prec === 0) return
    }
    const length = sign.length + prefix.length + zeros + digits.length
    if (f.widPresent && length < f.wid) {
      const d = f.wid - length
      if (f.minus) right = d
      else if (f.zero && !f.precPresent) zeros = d
      else left = d
    }
    out += ' '.repeat(left) + sign + prefix + '0'.repeat(zeros) + digits + ' '.repeat(right)
  }
  const intFromArg = (): { num: number; isInt: boolean } => {
    let num = 0
    let isInt = false
    if (argNum < args.length) {
      const a = args[argNum]!
      if (a.type === 'int64') {
        num = Number(a.v)
        isInt = true
      }
      argNum++
      if (num > TOO_LARGE || num < -TOO_LARGE) {
        num = 0
        isInt = false
      }
    }
    return { num, isInt }
  }
  const argNumber = (i: number): { i: number; found: boolean } => {
    if (end <= i || format[i] !== '[') return { i, found: false }
    reordered = true
    // parseArgNumber
    let index = 0
    let wid = 1
    let ok = false
    if (end - i >= 3) {
      for (let j = 1; i + j < end; j++) {
        if (format[i + j] === ']') {
          const p = parsenum(format, i + 1, i + j)
          if (!p.isnum || p.i !== i + j) {
            wid = j + 1
            ok = false
          } else {
            index = p.num - 1
            wid = j + 1
            ok = true
          }
          break
        }
      }
    }
    if (ok && index >= 0 && index < args.length) {
      argNum = index
      return { i: i + wid, found: true }
    }
    goodArgNum = false
    return { i: i + wid, found: ok }
  }

  let i = 0
  formatLoop: while (i < end) {
    goodArgNum = true
    const lasti = i
    while (i < end && format[i] !== '%') i++
    if (i > lasti) out += format.slice(lasti, i)
    if (i >= end) break
    i++ // the '%'
    f = clearFlags()
    simpleFormat: for (; i < end; i++) {
      const c = format[i]!
      switch (c) {
        case '#':
          f.sharp = true
          break
        case '0':
          f.zero = !f.minus
          break
        case '+':
          f.plus = true
          break
        case '-':
          f.minus = true
          f.zero = false
          break
        case ' ':
          f.space = true
          break
        default:
          if (c >= 'a' && c <= 'z' && argNum < args.length) {
            if (c === 'v') {
              f.sharpV = f.sharp
              f.sharp = false
              f.plusV = f.plus
              f.plus = false
            }
            printArg(args[argNum]!, c)
            argNum++
            i++
            continue formatLoop
          }
          break simpleFormat
      }
    }

    let r = argNumber(i)
    i = r.i
    afterIndex = r.found

    if (i < end && format[i] === '*') {
      i++
      const w = intFromArg()
      f.wid = w.num
      f.widPresent = w.isInt
      if (!f.widPresent) out += '%!(BADWIDTH)'
      if (f.wid < 0) {
        f.wid = -f.wid
        f.minus = true
        f.zero = false
      }
      afterIndex = false
    } else {
      const p = parsenum(format, i, end)
      f.wid = p.num
      f.widPresent = p.isnum
      i = p.i
      if (afterIndex && f.widPresent) goodArgNum = false
    }

    if (i + 1 < end && format[i] === '.') {
      i++
      if (afterIndex) goodArgNum = false
      r = argNumber(i)
      i = r.i
      afterIndex = r.found
      if (i < end && format[i] === '*') {
        i++
        const p = intFromArg()
        f.prec = p.num
        f.precPresent = p.isInt
        if (f.prec < 0) {
          f.prec = 0
          f.precPresent = false
        }
        if (!f.precPresent) out += '%!(BADPREC)'
        afterIndex = false
      } else {
        const p = parsenum(format, i, end)
        f.prec = p.num
        f.precPresent = p.isnum
        i = p.i
        if (!f.precPresent) {
          f.prec = 0
          f.precPresent = true
        }
      }
    }

    if (!afterIndex) {
      r = argNumber(i)
      i = r.i
      afterIndex = r.found
    }

    if (i >= end) {
      out += '%!(NOVERB)'
      break
    }

    const verb = String.fromCodePoint(format.codePointAt(i)!)
    i += verb.length

    if (verb === '%') {
      out += '%'
    } else if (!goodArgNum) {
      out += `%!${verb}(BADINDEX)`
    } else if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`
    } else {
      if (verb === 'v') {
        f.sharpV = f.sharp
        f.sharp = false
        f.plusV = f.plus
        f.plus = false
      }
      printArg(args[argNum]!, verb)
      argNum++
    }
  }

  if (!reordered && argNum < args.length) {
    f = clearFlags()
    out += '%!(EXTRA '
    for (const [k, arg] of args.slice(argNum).entries()) {
      if (k > 0) out += ', '
      out += `${arg.type}=`
      printArg(arg, 'v')
    }
    out += ')'
  }
  return out
}
