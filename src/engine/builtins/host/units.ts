import type { HostBuiltin } from '../host-builtin.js'
import { RegoNumber } from '../rego-value.js'

const maxExponentDigits = 6

/** OPA's `extractNumAndUnit`; `undefined` when an exponent is too large. */
function extractNumAndUnit(s: string): [string, string] | undefined {
  const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9'
  let firstNonNum = -1
  for (let idx = 0; idx < s.length; idx++) {
    const r = s[idx]!
    if (!isDigit(r) && r !== '.' && r !== 'e' && r !== 'E' && r !== '+' && r !== '-') {
      firstNonNum = idx
      break
    }
    if (r === 'e' || r === 'E') {
      const next = s[idx + 1]
      if (idx === s.length - 1 || (!isDigit(next) && next !== '+' && next !== '-')) {
        firstNonNum = idx
        break
      }
      if (next === '+' || next === '-') idx++
      const expStart = idx + 1
      let expEnd = expStart
      while (expEnd < s.length && isDigit(s[expEnd])) expEnd++
      if (expEnd - expStart > maxExponentDigits) return undefined
    }
  }
  if (firstNonNum === -1) return [s, '']
  if (firstNonNum === 0) return ['', s]
  return [s.slice(0, firstNonNum), s.slice(firstNonNum)]
}

/** An exact rational, numerator / denominator, with a positive denominator. */
interface Rat {
  readonly num: bigint
  readonly den: bigint
}

/**
 * Go's `big.Rat.SetString` for decimal input ("1.5", "-2e3", ".5", "5."), or `undefined`.
 * (Go also accepts "a/b" fractions; unit strings cannot carry a "/" past extractNumAndUnit.)
 */
function parseDecimal(s: string): Rat | undefined {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s)
  if (!m) return undefined
  const [, sign, int = '', frac = '', exp] = m
  if (int === '' && frac === '') return undefined
  let num = BigInt(int + frac || '0')
  let den = 10n ** BigInt(frac.length)
  const e = exp === undefined ? 0 : Number(exp)
  if (e >= 0) num *= 10n ** BigInt(e)
  else den *= 10n ** BigInt(-e)
  if (sign === '-') num = -num
  return { num, den }
}

/**
 * The number OPA makes of an exact rational: an integer digit for digit (`10Ei` is
 * 11529215046068469760, beyond int64), else `big.Rat.FloatString(10)` (halves away from zero).
 */
function ratToNumber(r: Rat): bigint | RegoNumber {
  if (r.num % r.den === 0n) return r.num / r.den
  const neg = r.num < 0n
  const abs = neg ? -r.num : r.num
  const scaled = (abs * 10n ** 10n * 2n + r.den) / (2n * r.den)
  const intPart = scaled / 10n ** 10n
  const fracPart = (scaled % 10n ** 10n).toString().padStart(10, '0')
  return new RegoNumber(`${neg ? '-' : ''}${intPart}.${fracPart}`)
}

const siUnits: Readonly<Record<string, Rat>> = {
  '': { num: 1n, den: 1n },
  m: { num: 1n, den: 1000n },
  k: { num: 1000n, den: 1n },
  K: { num: 1000n, den: 1n },
  M: { num: 10n ** 6n, den: 1n },
  g: { num: 10n ** 9n, den: 1n },
  G: { num: 10n ** 9n, den: 1n },
  t: { num: 10n ** 12n, den: 1n },
  T: { num: 10n ** 12n, den: 1n },
  p: { num: 10n ** 15n, den: 1n },
  P: { num: 10n ** 15n, den: 1n },
  e: { num: 10n ** 18n, den: 1n },
  E: { num: 10n ** 18n, den: 1n },
  ki: { num: 1n << 10n, den: 1n },
  Ki: { num: 1n << 10n, den: 1n },
  mi: { num: 1n << 20n, den: 1n },
  Mi: { num: 1n << 20n, den: 1n },
  gi: { num: 1n << 30n, den: 1n },
  Gi: { num: 1n << 30n, den: 1n },
  ti: { num: 1n << 40n, den: 1n },
  Ti: { num: 1n << 40n, den: 1n },
  pi: { num: 1n << 50n, den: 1n },
  Pi: { num: 1n << 50n, den: 1n },
  ei: { num: 1n << 60n, den: 1n },
  Ei: { num: 1n << 60n, den: 1n },
}

const byteUnits: Readonly<Record<string, bigint>> = {
  '': 1n,
  kb: 1000n,
  k: 1000n,
  kib: 1n << 10n,
  ki: 1n << 10n,
  mb: 10n ** 6n,
  m: 10n ** 6n,
  mib: 1n << 20n,
  mi: 1n << 20n,
  gb: 10n ** 9n,
  g: 10n ** 9n,
  gib: 1n << 30n,
  gi: 1n << 30n,
  tb: 10n ** 12n,
  t: 10n ** 12n,
  tib: 1n << 40n,
  ti: 1n << 40n,
  pb: 10n ** 15n,
  p: 10n ** 15n,
  pib: 1n << 50n,
  pi: 1n << 50n,
  eb: 10n ** 18n,
  e: 10n ** 18n,
  eib: 1n << 60n,
  ei: 1n << 60n,
}

/** OPA's `units.parse`: SI and binary suffixes, `m` is milli. */
export function parseUnits(raw: string): bigint | RegoNumber | undefined {
  const s = raw.replaceAll('"', '')
  if (s.includes(' ')) return undefined
  const split = extractNumAndUnit(s)
  if (split === undefined || split[0] === '') return undefined
  const [num, u] = split
  const unit = u.length > 1 ? u[0] + u.slice(1).toLowerCase() : u
  const factor = siUnits[unit]
  if (factor === undefined) return undefined
  const r = parseDecimal(num)
  if (r === undefined) return undefined
  return ratToNumber({ num: r.num * factor.num, den: r.den * factor.den })
}

/** OPA's `units.parse_bytes`: case-insensitive byte units, truncated to an integer. */
export function parseBytes(raw: string): bigint | undefined {
  const s = raw.toLowerCase().replaceAll('"', '')
  if (s.includes(' ')) return undefined
  const split = extractNumAndUnit(s)
  if (split === undefined || split[0] === '') return undefined
  const [num, unit] = split
  const factor = byteUnits[unit]
  if (factor === undefined) return undefined
  const r = parseDecimal(num)
  if (r === undefined) return undefined
  // Go multiplies two 64-bit-mantissa big.Floats, then truncates toward zero.
  const x = roundToPrec(r.num, r.den)
  const product = roundToPrec(x.mant * factor, 1n, x.exp)
  // Exact: beyond 2^53 a double would change the answer.
  return product.exp >= 0n ? product.mant << product.exp : product.mant / (1n << -product.exp)
}

const prec = 64n

/** num/den × 2^exp rounded (half to even) to a 64-bit mantissa: mant × 2^exp. */
function roundToPrec(num: bigint, den: bigint, exp0 = 0n): { mant: bigint; exp: bigint } {
  if (num === 0n) return { mant: 0n, exp: 0n }
  const neg = num < 0n
  const n = neg ? -num : num
  // Choose e so that 2^63 <= n / den / 2^e < 2^64.
  let e = BigInt(n.toString(2).length - den.toString(2).length) - prec
  const scaled = (k: bigint): [bigint, bigint] => (k >= 0n ? [n, den << k] : [n << -k, den])
  let [a, b] = scaled(e)
  while (a / b >= 1n << prec) [a, b] = scaled(++e)
  while (a / b < 1n << (prec - 1n)) [a, b] = scaled(--e)
  let q = a / b
  const r = a % b
  if (r * 2n > b || (r * 2n === b && (q & 1n) === 1n)) q++
  return { mant: neg ? -q : q, exp: e + exp0 }
}

/** `units.*` builtins (OPA `topdown/parse_units.go`, `parse_bytes.go`). */
export const unitsBuiltins: readonly HostBuiltin[] = [
  { name: 'units.parse', impl: (x) => (typeof x === 'string' ? parseUnits(x) : undefined) },
  { name: 'units.parse_bytes', impl: (x) => (typeof x === 'string' ? parseBytes(x) : undefined) },
]
