/**
 * Go's `strconv.FormatFloat(v, fmt, prec, 64)` and `strconv.Quote*`, as `fmt` uses them. Digits
 * come from the double's exact binary value (a double is a finite binary fraction, so its decimal
 * expansion is finite and BigInt computes it), rounded half to even as Go's `decimal.Round` does;
 * the shortest form comes from JavaScript's own shortest round-trip digits, which is the same
 * unique shortest-closest string Go's Ryū computes.
 */

/** Decimal digits `d` (no leading or trailing zeros; empty for zero) with the point after `dp` of them. */
interface Digits {
  d: string
  dp: number
}

const view = new DataView(new ArrayBuffer(8))

/** Mantissa and binary exponent: |v| = mant × 2^exp, with the sign apart. */
function bits(v: number): { neg: boolean; mant: bigint; exp: number } {
  view.setFloat64(0, v)
  const hi = view.getUint32(0)
  const lo = view.getUint32(4)
  const neg = hi >>> 31 === 1
  const rawExp = (hi >>> 20) & 0x7ff
  const rawMant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo)
  if (rawExp === 0) return { neg, mant: rawMant, exp: -1074 }
  return { neg, mant: rawMant | (1n << 52n), exp: rawExp - 1075 }
}

function trimZeros(d: string, dp: number): Digits {
  const t = d.replace(/0+$/, '')
  const lead = t.length - t.replace(/^0+/, '').length
  return t.length === lead ? { d: '', dp: 0 } : { d: t.slice(lead), dp: dp - lead }
}

/** The exact decimal value of |v|. */
function exactDigits(v: number): Digits {
  const { mant, exp } = bits(v)
  if (mant === 0n) return { d: '', dp: 0 }
  if (exp >= 0) {
    const s = (mant << BigInt(exp)).toString()
    return trimZeros(s, s.length)
  }
  const s = (mant * 5n ** BigInt(-exp)).toString()
  return trimZeros(s, s.length + exp)
}

/** The shortest digits that read back as |v|. */
function shortestDigits(v: number): Digits {
  if (v === 0) return { d: '', dp: 0 }
  const [m, e] = Math.abs(v).toExponential().split('e') as [string, string]
  return trimZeros(m.replace('.', ''), Number(e) + 1)
}

/** Go's `decimal.Round(nd)`: round to `nd` digits, half to even on an exact halfway. */
function round(x: Digits, nd: number): Digits {
  if (nd < 0 || nd >= x.d.length) return nd < 0 ? { d: '', dp: 0 } : x
  const next = x.d.charCodeAt(nd) - 48
  let up: boolean
  if (next === 5 && nd + 1 === x.d.length) up = nd > 0 && (x.d.charCodeAt(nd - 1) - 48) % 2 === 1
  else up = next >= 5
  if (!up) return trimZeros(x.d.slice(0, nd), x.dp)
  // Add one at position nd-1, carrying.
  const digits = x.d.slice(0, nd).split('')
  let i = nd - 1
  while (i >= 0 && digits[i] === '9') i--
  if (i < 0) return { d: '1', dp: x.dp + 1 }
  digits[i] = String.fromCharCode(digits[i]!.charCodeAt(0) + 1)
  return trimZeros(digits.slice(0, i + 1).join(''), x.dp)
}

const digitAt = (x: Digits, i: number): string => (i >= 0 && i < x.d.length ? x.d[i]! : '0')

function fmtE(neg: boolean, x: Digits, prec: number, e: 'e' | 'E'): string {
  let s = neg ? '-' : ''
  s += digitAt(x, 0)
  if (prec > 0) {
    s += '.'
    for (let i = 1; i <= prec; i++) s += digitAt(x, i)
  }
  s += e
  let exp = x.d.length === 0 ? 0 : x.dp - 1
  s += exp < 0 ? '-' : '+'
  exp = Math.abs(exp)
  return s + (exp < 10 ? `0${exp}` : String(exp))
}

function fmtF(neg: boolean, x: Digits, prec: number): string {
  let s = neg ? '-' : ''
  if (x.dp > 0) {
    for (let i = 0; i < x.dp; i++) s += digitAt(x, i)
  } else {
    s += '0'
  }
  if (prec > 0) {
    s += '.'
    for (let i = 1; i <= prec; i++) s += digitAt(x, x.dp + i - 1)
  }
  return s
}

/** Go's `%b`: decimal mantissa, `p`, binary exponent. */
function fmtB(v: number): string {
  const { neg, mant, exp } = bits(v)
  const e = mant === 0n ? -1074 : exp
  return `${neg ? '-' : ''}${mant}p${e >= 0 ? '+' : ''}${e}`
}

/** Go's `%x`/`%X` (`strconv.fmtX`): hexadecimal mantissa and binary exponent, `-0x1.8p+01`. */
function fmtX(v: number, prec: number, upper: boolean): string {
  const b = bits(v)
  const mask = (1n << 64n) - 1n
  let mant = b.mant
  let exp = b.exp + 52
  if (mant === 0n) exp = 0
  // Leading 1 (if any) at bit 60.
  mant <<= 8n
  while (mant !== 0n && (mant & (1n << 60n)) === 0n) {
    mant <<= 1n
    exp--
  }
  if (prec >= 0 && prec < 15) {
    const shift = BigInt(prec * 4)
    const extra = (mant << shift) & ((1n << 60n) - 1n)
    mant >>= 60n - shift
    if ((extra | (mant & 1n)) > 1n << 59n) mant++
    mant <<= 60n - shift
    if ((mant & (1n << 61n)) !== 0n) {
      mant >>= 1n
      exp++
    }
  }
  const hex = upper ? '0123456789ABCDEF' : '0123456789abcdef'
  let out = `${b.neg ? '-' : ''}0${upper ? 'X' : 'x'}${(mant >> 60n) & 1n}`
  mant = (mant << 4n) & mask
  if ((prec < 0 && mant !== 0n) || prec > 0) {
    out += '.'
    for (let i = 0; prec < 0 ? mant !== 0n : i < prec; i++) {
      out += hex[Number((mant >> 60n) & 15n)]
      mant = (mant << 4n) & mask
    }
  }
  out += upper ? 'P' : 'p'
  out += exp < 0 ? '-' : '+'
  const ae = Math.abs(exp)
  return out + (ae < 10 ? `0${ae}` : String(ae))
}

/**
 * `strconv.FormatFloat(v, fmt, prec, 64)` for finite `v`. `prec` -1 means the shortest digits
 * that read back as `v`.
 */
export function formatFloat(v: number, fmt: string, prec: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf'
  if (fmt === 'b') return fmtB(v)
  if (fmt === 'x' || fmt === 'X') return fmtX(v, prec, fmt === 'X')
  const neg = Object.is(v, -0) || v < 0
  const shortest = prec < 0
  let x: Digits
  if (shortest) {
    x = shortestDigits(v)
    if (fmt === 'e' || fmt === 'E') prec = Math.max(x.d.length - 1, 0)
    else if (fmt === 'f') prec = Math.max(x.d.length - x.dp, 0)
    else prec = x.d.length
  } else {
    x = exactDigits(v)
    if (fmt === 'e' || fmt === 'E') x = round(x, prec + 1)
    else if (fmt === 'f') x = round(x, x.dp + prec)
    else {
      if (prec === 0) prec = 1
      x = round(x, prec)
    }
  }
  switch (fmt) {
    case 'e':
    case 'E':
      return fmtE(neg, x, prec, fmt)
    case 'f':
      return fmtF(neg, x, prec)
    default: {
      // 'g' / 'G'
      let eprec = prec
      const nd = x.d.length
      if (eprec > nd && nd >= x.dp) eprec = nd
      if (shortest) eprec = 6
      const exp = nd === 0 ? 0 : x.dp - 1
      if (exp < -4 || exp >= eprec) {
        if (prec > nd) prec = nd
        return fmtE(neg, x, prec - 1, fmt === 'g' ? 'e' : 'E')
      }
      if (prec > x.dp) prec = nd
      return fmtF(neg, x, Math.max(prec - x.dp, 0))
    }
  }
}

/** Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export function isPrint(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x20 && cp < 0x7f
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(String.fromCodePoint(cp))
}

function escapeRune(cp: number, quote: number, asciiOnly: boolean): string {
  if (cp === quote || cp === 0x5c) return `\\${String.fromCodePoint(cp)}`
  if (asciiOnly ? cp < 0x80 && isPrint(cp) : isPrint(cp)) return String.fromCodePoint(cp)
  switch (cp) {
    case 7:
      return '\\a'
    case 8:
      return '\\b'
    case 12:
      return '\\f'
    case 10:
      return '\\n'
    case 13:
      return '\\r'
    case 9:
      return '\\t'
    case 11:
      return '\\v'
  }
  const hex = (n: number, w: number) => n.toString(16).padStart(w, '0')
  if (cp < 0x20 || cp === 0x7f) return `\\x${hex(cp, 2)}`
  if (cp >= 0xd800 && cp <= 0xdfff) return '\\ufffd'
  if (cp < 0x10000) return `\\u${hex(cp, 4)}`
  return `\\U${hex(cp, 8)}`
}

/** `strconv.Quote` (or `QuoteToASCII`): a double-quoted Go string literal. */
export function quote(s: string, asciiOnly = false): string {
  let out = '"'
  for (const ch of s) out += escapeRune(ch.codePointAt(0)!, 0x22, asciiOnly)
  return `${out}"`
}

/** `strconv.QuoteRune` (or `QuoteRuneToASCII`): a single-quoted Go rune literal. */
export function quoteRune(cp: number, asciiOnly = false): string {
  if (cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) cp = 0xfffd
  return `'${escapeRune(cp, 0x27, asciiOnly)}'`
}

/** `strconv.CanBackquote`: no control characters but tab, no backquote, valid UTF-8, no BOM. */
export function canBackquote(s: string): boolean {
  for (const ch of s) {
    const cp = ch.codePointAt(0)!
    if (cp === 0x60 || cp === 0xfeff || (cp >= 0xd800 && cp <= 0xdfff)) return false
    if (cp < 0x20 && cp !== 9) return false
    if (cp === 0x7f) return false
  }
  return true
}
