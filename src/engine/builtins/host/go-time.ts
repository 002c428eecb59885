/**
 * A port of the parts of Go's `time` package that OPA's `time.*` builtins expose: civil-date
 * arithmetic, layout-string formatting and parsing (`time.Format`, `time.Parse`) and
 * `time.ParseDuration`. Internal to the host builtins; not exported from the package.
 *
 * Instants are held as whole Unix seconds plus nanoseconds, so that nanosecond fields survive even
 * where a nanosecond count would exceed a double's 53-bit mantissa.
 */

/** An instant seen in a time zone. */
export interface ZonedTime {
  /** Whole seconds since the Unix epoch (UTC). */
  readonly sec: number
  /** Nanoseconds within the second, 0–999 999 999. */
  readonly nsec: number
  /** The zone's offset from UTC at this instant, in seconds. */
  readonly offset: number
  /** The zone abbreviation Go would print for `MST` ("" if none is known). */
  readonly abbr: string
}

/** Wall-clock fields of a {@link ZonedTime}. */
export interface Civil {
  readonly year: number
  readonly month: number
  readonly day: number
  readonly hour: number
  readonly minute: number
  readonly second: number
  readonly yday: number
  readonly weekday: number
}

export const longDayNames = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
export const longMonthNames = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
]
const shortDayNames = longDayNames.map((d) => d.slice(0, 3))
const shortMonthNames = longMonthNames.map((m) => m.slice(0, 3))

/** Go's named layouts, which OPA accepts by name. */
export const namedLayouts: Readonly<Record<string, string>> = {
  ANSIC: 'Mon Jan _2 15:04:05 2006',
  UnixDate: 'Mon Jan _2 15:04:05 MST 2006',
  RubyDate: 'Mon Jan 02 15:04:05 -0700 2006',
  RFC822: '02 Jan 06 15:04 MST',
  RFC822Z: '02 Jan 06 15:04 -0700',
  RFC850: 'Monday, 02-Jan-06 15:04:05 MST',
  RFC1123: 'Mon, 02 Jan 2006 15:04:05 MST',
  RFC1123Z: 'Mon, 02 Jan 2006 15:04:05 -0700',
  RFC3339: '2006-01-02T15:04:05Z07:00',
  RFC3339Nano: '2006-01-02T15:04:05.999999999Z07:00',
}
export const RFC3339 = '2006-01-02T15:04:05Z07:00'
export const RFC3339Nano = '2006-01-02T15:04:05.999999999Z07:00'

// --- civil calendar -------------------------------------------------------------------------

const floorDiv = (a: number, b: number): number => Math.floor(a / b)

export function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
}

export function daysIn(month: number, year: number): number {
  if (month === 2) return isLeap(year) ? 29 : 28
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!
}

/** Days since 1970-01-01 of a proleptic Gregorian date (month may be out of 1–12, day any). */
export function daysFromCivil(year: number, month: number, day: number): number {
  // Normalise the month first, as Go's time.Date does.
  const m0 = month - 1
  const y = year + floorDiv(m0, 12)
  const m = m0 - floorDiv(m0, 12) * 12 + 1
  const yy = m <= 2 ? y - 1 : y
  const era = floorDiv(yy, 400)
  const yoe = yy - era * 400
  const doy = floorDiv(153 * (m + (m > 2 ? -3 : 9)) + 2, 5)
  const doe = yoe * 365 + floorDiv(yoe, 4) - floorDiv(yoe, 100) + doy
  return era * 146097 + doe - 719468 + (day - 1)
}

function civilFromDays(z: number): { year: number; month: number; day: number } {
  const zz = z + 719468
  const era = floorDiv(zz, 146097)
  const doe = zz - era * 146097
  const yoe = floorDiv(doe - floorDiv(doe, 1460) + floorDiv(doe, 36524) - floorDiv(doe, 146096), 365)
  const doy = doe - (365 * yoe + floorDiv(yoe, 4) - floorDiv(yoe, 100))
  const mp = floorDiv(5 * doy + 2, 153)
  const day = doy - floorDiv(153 * mp + 2, 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day }
}

/** The wall-clock fields of `t` in its own zone. */
export function civil(t: ZonedTime): Civil {
  const wall = t.sec + t.offset
  const days = floorDiv(wall, 86400)
  const sod = wall - days * 86400
  const { year, month, day } = civilFromDays(days)
  return {
    year,
    month,
    day,
    hour: Math.floor(sod / 3600),
    minute: Math.floor((sod % 3600) / 60),
    second: sod % 60,
    yday: days - daysFromCivil(year, 1, 1) + 1,
    weekday: (((days + 4) % 7) + 7) % 7,
  }
}

// --- zones ----------------------------------------------------------------------------------

/** A time zone: answers the offset and abbreviation in effect at an instant. */
export interface Zone {
  lookup(sec: number): { offset: number; abbr: string }
}

export const utcZone: Zone = { lookup: () => ({ offset: 0, abbr: 'UTC' }) }

const zoneCache = new Map<string, Zone | undefined>()

/**
 * Loads an IANA zone through `Intl`, like Go's `time.LoadLocation`. Returns `undefined` for a
 * name the platform does not know.
 */
export function loadZone(name: string): Zone | undefined {
  if (name === '' || name === 'UTC') return utcZone
  if (zoneCache.has(name)) return zoneCache.get(name)
  const zone = makeIntlZone(name === 'Local' ? undefined : name)
  if (zoneCache.size > 512) zoneCache.clear()
  zoneCache.set(name, zone)
  return zone
}

function makeIntlZone(name: string | undefined): Zone | undefined {
  // Intl also accepts offsets ("+05:00") and is case-insensitive; Go's LoadLocation is neither.
  if (name !== undefined && (/^[+-]/.test(name) || name.includes('..'))) return undefined
  let wall: Intl.DateTimeFormat
  let shortUs: Intl.DateTimeFormat
  let shortGb: Intl.DateTimeFormat
  try {
    wall = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    })
    shortUs = new Intl.DateTimeFormat('en-US', { timeZone: name, timeZoneName: 'short' })
    shortGb = new Intl.DateTimeFormat('en-GB', { timeZone: name, timeZoneName: 'short' })
  } catch {
    return undefined
  }
  const resolved = wall.resolvedOptions().timeZone
  if (name !== undefined && resolved !== name && resolved.toLowerCase() === name.toLowerCase())
    return undefined
  const cache = new Map<number, { offset: number; abbr: string }>()
  return {
    lookup(sec) {
      const hourKey = Math.floor(sec / 900)
      const hit = cache.get(hourKey)
      if (hit) return hit
      const date = new Date(hourKey * 900 * 1000)
      const parts: Record<string, string> = {}
      for (const p of wall.formatToParts(date)) parts[p.type] = p.value
      let year = Number(parts.year)
      if (parts.era === 'BC' || parts.era === 'B') year = 1 - year
      const local = daysFromCivil(year, Number(parts.month), Number(parts.day)) * 86400
      const wallSec = local + Number(parts.hour) * 3600 + Number(parts.minute) * 60 + Number(parts.second)
      const offset = wallSec - hourKey * 900
      const result = { offset, abbr: abbreviation(date, offset, shortUs, shortGb) }
      if (cache.size > 4096) cache.clear()
      cache.set(hourKey, result)
      return result
    },
  }
}

/**
 * Intl has no tzdata abbreviations, only CLDR short names, which are "GMT+1"-style for most
 * zones outside the US. Prefer a real abbreviation from either locale, else Go's numeric form.
 */
function abbreviation(date: Date, offset: number, us: Intl.DateTimeFormat, gb: Intl.DateTimeFormat): string {
  for (const fmt of [us, gb]) {
    const name = fmt.formatToParts(date).find((p) => p.type === 'timeZoneName')?.value ?? ''
    if (/^[A-Z]{3,5}$/.test(name) && name !== 'GMT') return name
    if (name === 'GMT' && offset === 0) return 'GMT'
  }
  if (offset === 0) return 'UTC'
  const sign = offset < 0 ? '-' : '+'
  const abs = Math.abs(offset)
  const hh = String(Math.floor(abs / 3600)).padStart(2, '0')
  const mm = Math.floor((abs % 3600) / 60)
  return mm === 0 ? `${sign}${hh}` : `${sign}${hh}${String(mm).padStart(2, '0')}`
}

/** `time.Unix(sec, nsec).In(zone)`. */
export function inZone(sec: number, nsec: number, zone: Zone): ZonedTime {
  const { offset, abbr } = zone.lookup(sec)
  return { sec, nsec, offset, abbr }
}

/** Go's `time.Date(...)` in `zone`, normalising out-of-range fields. */
export function dateIn(
  year: number,
  month: number,
  day: number,
  hour: number,
  min: number,
  sec: number,
  nsec: number,
  zone: Zone,
): ZonedTime {
  const extraSec = floorDiv(nsec, 1e9)
  const ns = nsec - extraSec * 1e9
  const wall = daysFromCivil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec + extraSec
  // As Go does: guess with the offset at the wall time read as UTC, then correct once.
  let { offset } = zone.lookup(wall)
  const second = zone.lookup(wall - offset)
  if (second.offset !== offset) offset = second.offset
  return inZone(wall - offset, ns, zone)
}

const minNs = -(2n ** 63n)
const maxNs = 2n ** 63n - 1n

/** Unix nanoseconds of `t`, or `undefined` outside int64 (OPA's "time outside of valid range"). */
export function toUnixNano(t: { sec: number; nsec: number }): bigint | undefined {
  const ns = BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec)
  return ns < minNs || ns > maxNs ? undefined : ns
}

/** Splits Unix nanoseconds into seconds and nanoseconds. */
export function fromUnixNano(ns: bigint): { sec: number; nsec: number } {
  let sec = ns / 1_000_000_000n
  let nsec = ns % 1_000_000_000n
  if (nsec < 0n) {
    nsec += 1_000_000_000n
    sec -= 1n
  }
  return { sec: Number(sec), nsec: Number(nsec) }
}

// --- layouts --------------------------------------------------------------------------------

enum Std {
  None = 0,
  LongMonth,
  Month,
  NumMonth,
  ZeroMonth,
  LongWeekDay,
  WeekDay,
  Day,
  UnderDay,
  ZeroDay,
  UnderYearDay,
  ZeroYearDay,
  Hour,
  Hour12,
  ZeroHour12,
  Minute,
  ZeroMinute,
  Second,
  ZeroSecond,
  LongYear,
  Year,
  PM,
  pm,
  TZ,
  ISO8601TZ,
  ISO8601SecondsTZ,
  ISO8601ShortTZ,
  ISO8601ColonTZ,
  ISO8601ColonSecondsTZ,
  NumTZ,
  NumSecondsTz,
  NumShortTZ,
  NumColonTZ,
  NumColonSecondsTZ,
  FracSecond0,
  FracSecond9,
}

interface Chunk {
  readonly prefix: string
  readonly std: Std
  readonly suffix: string
  /** Digits of a fractional-second element. */
  readonly digits: number
  /** Separator of a fractional-second element. */
  readonly sep: string
}

const std0x = [Std.ZeroMonth, Std.ZeroDay, Std.ZeroHour12, Std.ZeroMinute, Std.ZeroSecond, Std.Year]

const isDigitAt = (s: string, i: number): boolean => i < s.length && s[i]! >= '0' && s[i]! <= '9'
const startsWithLower = (s: string): boolean => s.length > 0 && s[0]! >= 'a' && s[0]! <= 'z'

/** Go's `nextStdChunk`: the text before the first layout element, the element, and the rest. */
function nextStdChunk(layout: string): Chunk {
  const at = (i: number, std: Std, len: number, digits = 0, sep = '.'): Chunk => ({
    prefix: layout.slice(0, i),
    std,
    suffix: layout.slice(i + len),
    digits,
    sep,
  })
  for (let i = 0; i < layout.length; i++) {
    const c = layout[i]
    const rest = layout.slice(i)
    switch (c) {
      case 'J':
        if (rest.startsWith('Jan')) {
          if (rest.startsWith('January')) return at(i, Std.LongMonth, 7)
          if (!startsWithLower(rest.slice(3))) return at(i, Std.Month, 3)
        }
        break
      case 'M':
        if (rest.startsWith('Mon')) {
          if (rest.startsWith('Monday')) return at(i, Std.LongWeekDay, 6)
          if (!startsWithLower(rest.slice(3))) return at(i, Std.WeekDay, 3)
        }
        if (rest.startsWith('MST')) return at(i, Std.TZ, 3)
        break
      case '0':
        if (rest.length >= 2 && rest[1]! >= '1' && rest[1]! <= '6')
          return at(i, std0x[rest.charCodeAt(1) - 49]!, 2)
        if (rest.startsWith('002')) return at(i, Std.ZeroYearDay, 3)
        break
      case '1':
        if (rest.startsWith('15')) return at(i, Std.Hour, 2)
        return at(i, Std.NumMonth, 1)
      case '2':
        if (rest.startsWith('2006')) return at(i, Std.LongYear, 4)
        return at(i, Std.Day, 1)
      case '_':
        if (rest.length >= 2 && rest[1] === '2') {
          if (rest.startsWith('_2006')) return { ...at(i + 1, Std.LongYear, 4) }
          return at(i, Std.UnderDay, 2)
        }
        if (rest.startsWith('__2')) return at(i, Std.UnderYearDay, 3)
        break
      case '3':
        return at(i, Std.Hour12, 1)
      case '4':
        return at(i, Std.Minute, 1)
      case '5':
        return at(i, Std.Second, 1)
      case 'P':
        if (rest.startsWith('PM')) return at(i, Std.PM, 2)
        break
      case 'p':
        if (rest.startsWith('pm')) return at(i, Std.pm, 2)
        break
      case '-':
        if (rest.startsWith('-070000')) return at(i, Std.NumSecondsTz, 7)
        if (rest.startsWith('-07:00:00')) return at(i, Std.NumColonSecondsTZ, 9)
        if (rest.startsWith('-0700')) return at(i, Std.NumTZ, 5)
        if (rest.startsWith('-07:00')) return at(i, Std.NumColonTZ, 6)
        if (rest.startsWith('-07')) return at(i, Std.NumShortTZ, 3)
        break
      case 'Z':
        if (rest.startsWith('Z070000')) return at(i, Std.ISO8601SecondsTZ, 7)
        if (rest.startsWith('Z07:00:00')) return at(i, Std.ISO8601ColonSecondsTZ, 9)
        if (rest.startsWith('Z0700')) return at(i, Std.ISO8601TZ, 5)
        if (rest.startsWith('Z07:00')) return at(i, Std.ISO8601ColonTZ, 6)
        if (rest.startsWith('Z07')) return at(i, Std.ISO8601ShortTZ, 3)
        break
      case '.':
      case ',':
        if (rest.length >= 2 && (rest[1] === '0' || rest[1] === '9')) {
          const ch = rest[1]
          let j = 1
          while (j < rest.length && rest[j] === ch) j++
          if (!isDigitAt(rest, j)) {
            return at(i, ch === '0' ? Std.FracSecond0 : Std.FracSecond9, j, j - 1, c)
          }
        }
        break
    }
  }
  return { prefix: layout, std: Std.None, suffix: '', digits: 0, sep: '.' }
}

const pad = (n: number, width: number): string => {
  const s = String(Math.abs(n)).padStart(width, '0')
  return n < 0 ? `-${s}` : s
}

const isISOZ = (std: Std): boolean =>
  std === Std.ISO8601TZ ||
  std === Std.ISO8601ColonTZ ||
  std === Std.ISO8601SecondsTZ ||
  std === Std.ISO8601ShortTZ ||
  std === Std.ISO8601ColonSecondsTZ

/** Go's `Time.Format(layout)`. */
export function format(t: ZonedTime, layout: string): string {
  const c = civil(t)
  let out = ''
  let rest = layout
  while (rest !== '') {
    const chunk = nextStdChunk(rest)
    out += chunk.prefix
    if (chunk.std === Std.None) break
    rest = chunk.suffix
    const std = chunk.std
    switch (std) {
      case Std.Year:
        out += pad(Math.abs(c.year) % 100, 2)
        break
      case Std.LongYear:
        out += pad(c.year, 4)
        break
      case Std.Month:
        out += shortMonthNames[c.month - 1]
        break
      case Std.LongMonth:
        out += longMonthNames[c.month - 1]
        break
      case Std.NumMonth:
        out += String(c.month)
        break
      case Std.ZeroMonth:
        out += pad(c.month, 2)
        break
      case Std.WeekDay:
        out += shortDayNames[c.weekday]
        break
      case Std.LongWeekDay:
        out += longDayNames[c.weekday]
        break
      case Std.Day:
        out += String(c.day)
        break
      case Std.UnderDay:
        out += (c.day < 10 ? ' ' : '') + String(c.day)
        break
      case Std.ZeroDay:
        out += pad(c.day, 2)
        break
      case Std.UnderYearDay:
        out += String(c.yday).padStart(3, ' ')
        break
      case Std.ZeroYearDay:
        out += pad(c.yday, 3)
        break
      case Std.Hour:
        out += pad(c.hour, 2)
        break
      case Std.Hour12:
      case Std.ZeroHour12: {
        const hr = c.hour % 12 === 0 ? 12 : c.hour % 12
        out += std === Std.Hour12 ? String(hr) : pad(hr, 2)
        break
      }
      case Std.Minute:
        out += String(c.minute)
        break
      case Std.ZeroMinute:
        out += pad(c.minute, 2)
        break
      case Std.Second:
        out += String(c.second)
        break
      case Std.ZeroSecond:
        out += pad(c.second, 2)
        break
      case Std.PM:
        out += c.hour >= 12 ? 'PM' : 'AM'
        break
      case Std.pm:
        out += c.hour >= 12 ? 'pm' : 'am'
        break
      case Std.TZ:
        if (t.abbr !== '') out += t.abbr
        else out += formatOffset(t.offset, false, true, false)
        break
      case Std.FracSecond0:
      case Std.FracSecond9:
        out += formatNano(t.nsec, chunk.digits, chunk.sep, std === Std.FracSecond9)
        break
      default: {
        if (t.offset === 0 && isISOZ(std)) {
          out += 'Z'
          break
        }
        const colon =
          std === Std.ISO8601ColonTZ ||
          std === Std.NumColonTZ ||
          std === Std.ISO8601ColonSecondsTZ ||
          std === Std.NumColonSecondsTZ
        const short = std === Std.NumShortTZ || std === Std.ISO8601ShortTZ
        const seconds =
          std === Std.ISO8601SecondsTZ ||
          std === Std.NumSecondsTz ||
          std === Std.NumColonSecondsTZ ||
          std === Std.ISO8601ColonSecondsTZ
        let s = formatOffset(t.offset, colon, !short, false)
        if (seconds) s += (colon ? ':' : '') + pad(Math.abs(t.offset) % 60, 2)
        out += s
      }
    }
  }
  return out
}

function formatOffset(offset: number, colon: boolean, minutes: boolean, _seconds: boolean): string {
  let zone = Math.trunc(offset / 60)
  let s = '+'
  if (zone < 0) {
    s = '-'
    zone = -zone
  }
  s += pad(Math.floor(zone / 60), 2)
  if (colon) s += ':'
  if (minutes) s += pad(zone % 60, 2)
  return s
}

function formatNano(nsec: number, digits: number, sep: string, trim: boolean): string {
  if (trim && (digits === 0 || nsec === 0)) return ''
  let frac = pad(nsec, 9)
  if (digits < 9) frac = frac.slice(0, digits)
  if (trim) frac = frac.replace(/0+$/, '')
  return frac === '' ? '' : sep + frac
}

// --- parsing --------------------------------------------------------------------------------

function getnum(s: string, fixed: boolean): [number, string] | undefined {
  if (!isDigitAt(s, 0)) return undefined
  if (!isDigitAt(s, 1)) {
    if (fixed) return undefined
    return [s.charCodeAt(0) - 48, s.slice(1)]
  }
  return [(s.charCodeAt(0) - 48) * 10 + (s.charCodeAt(1) - 48), s.slice(2)]
}

function getnum3(s: string, fixed: boolean): [number, string] | undefined {
  let n = 0
  let i = 0
  for (; i < 3 && isDigitAt(s, i); i++) n = n * 10 + (s.charCodeAt(i) - 48)
  if (i === 0 || (fixed && i !== 3)) return undefined
  return [n, s.slice(i)]
}

function lookupName(tab: readonly string[], val: string): [number, string] | undefined {
  for (let i = 0; i < tab.length; i++) {
    const v = tab[i]!
    if (val.length >= v.length && val.slice(0, v.length).toLowerCase() === v.toLowerCase()) {
      // Go's match folds only ASCII letters; other bytes must be equal.
      return [i, val.slice(v.length)]
    }
  }
  return undefined
}

function skip(value: string, prefix: string): string | undefined {
  let v = value
  let p = prefix
  while (p.length > 0) {
    if (p[0] === ' ') {
      if (v.length > 0 && v[0] !== ' ') return undefined
      p = p.replace(/^ +/, '')
      v = v.replace(/^ +/, '')
      continue
    }
    if (v.length === 0 || v[0] !== p[0]) return undefined
    p = p.slice(1)
    v = v.slice(1)
  }
  return v
}

/** Go's `leadingInt`: digits as a bigint, or `undefined` on int64 overflow. */
function leadingInt(s: string): [bigint, string] | undefined {
  let i = 0
  let x = 0n
  for (; i < s.length; i++) {
    const c = s[i]!
    if (c < '0' || c > '9') break
    if (x > 2n ** 63n / 10n) return undefined
    x = x * 10n + BigInt(c.charCodeAt(0) - 48)
    if (x > 2n ** 63n) return undefined
  }
  return [x, s.slice(i)]
}

function atoi(s: string): number | undefined {
  let neg = false
  let t = s
  if (t.length > 0 && (t[0] === '-' || t[0] === '+')) {
    neg = t[0] === '-'
    t = t.slice(1)
  }
  const r = leadingInt(t)
  if (r === undefined || r[1].length > 0) return undefined
  const x = Number(r[0])
  return neg ? -x : x
}

function parseNanoseconds(value: string, nbytes: number): number | undefined {
  if (value[0] !== '.' && value[0] !== ',') return undefined
  const n = Math.min(nbytes, 10)
  const ns = atoi(value.slice(1, n))
  if (ns === undefined || ns < 0) return undefined
  return ns * 10 ** (10 - n)
}

function parseSignedOffset(value: string): number {
  const sign = value[0]
  if (sign !== '-' && sign !== '+') return 0
  const r = leadingInt(value.slice(1))
  if (r === undefined || r[1] === value.slice(1)) return 0
  if (r[0] > 23n) return 0
  return value.length - r[1].length
}

function parseTimeZone(value: string): number | undefined {
  if (value.length < 3) return undefined
  if (value.startsWith('ChST') || value.startsWith('MeST')) return 4
  if (value.startsWith('GMT')) return 3 + (value.length === 3 ? 0 : parseSignedOffset(value.slice(3)))
  if (value[0] === '+' || value[0] === '-') {
    const n = parseSignedOffset(value)
    return n > 0 ? n : undefined
  }
  let nUpper = 0
  for (; nUpper < 6 && nUpper < value.length; nUpper++) {
    const c = value[nUpper]!
    if (c < 'A' || c > 'Z') break
  }
  switch (nUpper) {
    case 5:
      return value[4] === 'T' ? 5 : undefined
    case 4:
      return value[3] === 'T' || value.startsWith('WITA') ? 4 : undefined
    case 3:
      return 3
    default:
      return undefined
  }
}

/** Whole seconds and nanoseconds of an instant (UTC). */
export interface Instant {
  readonly sec: number
  readonly nsec: number
}

/**
 * Go's `time.Parse(layout, value)` with the local zone taken to be UTC (as on a server with no
 * TZ set), returning the instant or `undefined` where Go returns an error.
 */
export function parse(layout: string, value: string): Instant | undefined {
  if (layout === RFC3339 || layout === RFC3339Nano) {
    const t = parseRFC3339(value)
    if (t !== undefined) return t
  }
  return parseLayout(layout, value)
}

function parseRFC3339(s: string): Instant | undefined {
  let ok = true
  const parseUint = (str: string, min: number, max: number): number => {
    let x = 0
    for (const c of str) {
      if (c < '0' || c > '9') {
        ok = false
        return min
      }
      x = x * 10 + (c.charCodeAt(0) - 48)
    }
    if (x < min || max < x) {
      ok = false
      return min
    }
    return x
  }
  if (s.length < 19) return undefined
  const year = parseUint(s.slice(0, 4), 0, 9999)
  const month = parseUint(s.slice(5, 7), 1, 12)
  const day = parseUint(s.slice(8, 10), 1, daysIn(month, year))
  const hour = parseUint(s.slice(11, 13), 0, 23)
  const min = parseUint(s.slice(14, 16), 0, 59)
  const sec = parseUint(s.slice(17, 19), 0, 59)
  if (!ok || !(s[4] === '-' && s[7] === '-' && s[10] === 'T' && s[13] === ':' && s[16] === ':'))
    return undefined
  let rest = s.slice(19)
  let nsec = 0
  if (rest.length >= 2 && rest[0] === '.' && isDigitAt(rest, 1)) {
    let n = 2
    while (n < rest.length && isDigitAt(rest, n)) n++
    nsec = parseNanoseconds(rest, n) ?? 0
    rest = rest.slice(n)
  }
  let wall = daysFromCivil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec
  if (rest.length !== 1 || rest[0] !== 'Z') {
    if (rest.length !== 6) return undefined
    const hr = parseUint(rest.slice(1, 3), 0, 23)
    const mm = parseUint(rest.slice(4, 6), 0, 59)
    if (!ok || !((rest[0] === '-' || rest[0] === '+') && rest[3] === ':')) return undefined
    const zoneOffset = (hr * 60 + mm) * 60 * (rest[0] === '-' ? -1 : 1)
    wall -= zoneOffset
  }
  return { sec: wall, nsec }
}

function parseLayout(layoutIn: string, valueIn: string): Instant | undefined {
  let layout = layoutIn
  let value = valueIn
  let amSet = false
  let pmSet = false
  let year = 0
  let month = -1
  let day = -1
  let yday = -1
  let hour = 0
  let min = 0
  let sec = 0
  let nsec = 0
  let utc = false
  let zoneOffset = -1

  for (;;) {
    const chunk = nextStdChunk(layout)
    const skipped = skip(value, chunk.prefix)
    if (skipped === undefined) return undefined
    value = skipped
    if (chunk.std === Std.None) {
      if (value.length !== 0) return undefined
      break
    }
    layout = chunk.suffix
    const std = chunk.std
    let bad = false
    let rangeErr = false
    switch (std) {
      case Std.Year: {
        if (value.length < 2) {
          bad = true
          break
        }
        const y = atoi(value.slice(0, 2))
        value = value.slice(2)
        if (y === undefined) {
          bad = true
          break
        }
        year = y >= 69 ? y + 1900 : y + 2000
        break
      }
      case Std.LongYear: {
        if (value.length < 4 || !isDigitAt(value, 0)) {
          bad = true
          break
        }
        const y = atoi(value.slice(0, 4))
        value = value.slice(4)
        if (y === undefined) bad = true
        else year = y
        break
      }
      case Std.Month:
      case Std.LongMonth: {
        const r = lookupName(std === Std.Month ? shortMonthNames : longMonthNames, value)
        if (r === undefined) bad = true
        else [month, value] = [r[0] + 1, r[1]]
        break
      }
      case Std.NumMonth:
      case Std.ZeroMonth: {
        const r = getnum(value, std === Std.ZeroMonth)
        if (r === undefined) bad = true
        else {
          ;[month, value] = r
          if (month <= 0 || month > 12) rangeErr = true
        }
        break
      }
      case Std.WeekDay:
      case Std.LongWeekDay: {
        const r = lookupName(std === Std.WeekDay ? shortDayNames : longDayNames, value)
        if (r === undefined) bad = true
        else value = r[1]
        break
      }
      case Std.Day:
      case Std.UnderDay:
      case Std.ZeroDay: {
        if (std === Std.UnderDay && value[0] === ' ') value = value.slice(1)
        const r = getnum(value, std === Std.ZeroDay)
        if (r === undefined) bad = true
        else [day, value] = r
        break
      }
      case Std.UnderYearDay:
      case Std.ZeroYearDay: {
        for (let i = 0; i < 2; i++) if (std === Std.UnderYearDay && value[0] === ' ') value = value.slice(1)
        const r = getnum3(value, std === Std.ZeroYearDay)
        if (r === undefined) bad = true
        else [yday, value] = r
        break
      }
      case Std.Hour: {
        const r = getnum(value, false)
        if (r === undefined) bad = true
        else {
          ;[hour, value] = r
          if (hour >= 24) rangeErr = true
        }
        break
      }
      case Std.Hour12:
      case Std.ZeroHour12: {
        const r = getnum(value, std === Std.ZeroHour12)
        if (r === undefined) bad = true
        else {
          ;[hour, value] = r
          if (hour > 12) rangeErr = true
        }
        break
      }
      case Std.Minute:
      case Std.ZeroMinute: {
        const r = getnum(value, std === Std.ZeroMinute)
        if (r === undefined) bad = true
        else {
          ;[min, value] = r
          if (min >= 60) rangeErr = true
        }
        break
      }
      case Std.Second:
      case Std.ZeroSecond: {
        const r = getnum(value, std === Std.ZeroSecond)
        if (r === undefined) {
          bad = true
          break
        }
        ;[sec, value] = r
        if (sec >= 60) {
          rangeErr = true
          break
        }
        if (value.length >= 2 && (value[0] === '.' || value[0] === ',') && isDigitAt(value, 1)) {
          const next = nextStdChunk(layout).std
          if (next === Std.FracSecond0 || next === Std.FracSecond9) break
          let n = 2
          while (n < value.length && isDigitAt(value, n)) n++
          const ns = parseNanoseconds(value, n)
          if (ns === undefined) bad = true
          else nsec = ns
          value = value.slice(n)
        }
        break
      }
      case Std.PM:
      case Std.pm: {
        if (value.length < 2) {
          bad = true
          break
        }
        const p = value.slice(0, 2)
        value = value.slice(2)
        const [am, pmStr] = std === Std.PM ? ['AM', 'PM'] : ['am', 'pm']
        if (p === pmStr) pmSet = true
        else if (p === am) amSet = true
        else bad = true
        break
      }
      case Std.TZ: {
        if (value.startsWith('UTC')) {
          utc = true
          value = value.slice(3)
          break
        }
        const n = parseTimeZone(value)
        if (n === undefined) {
          bad = true
          break
        }
        // Go fabricates a zone for the name; the wall clock stays as read.
        value = value.slice(n)
        break
      }
      case Std.FracSecond0: {
        const ndigit = 1 + chunk.digits
        if (value.length < ndigit) {
          bad = true
          break
        }
        const ns = parseNanoseconds(value, ndigit)
        if (ns === undefined) bad = true
        else nsec = ns
        value = value.slice(ndigit)
        break
      }
      case Std.FracSecond9: {
        if (value.length < 2 || !(value[0] === '.' || value[0] === ',') || !isDigitAt(value, 1)) break
        let i = 0
        while (i + 1 < value.length && isDigitAt(value, i + 1)) i++
        const ns = parseNanoseconds(value, 1 + i)
        if (ns === undefined) bad = true
        else nsec = ns
        value = value.slice(1 + i)
        break
      }
      default: {
        // numeric and ISO 8601 zone offsets
        if (isISOZ(std) && value[0] === 'Z') {
          value = value.slice(1)
          utc = true
          break
        }
        let parts: [string, string, string, string]
        if (std === Std.ISO8601ColonTZ || std === Std.NumColonTZ) {
          if (value.length < 6 || value[3] !== ':') {
            bad = true
            break
          }
          parts = [value[0]!, value.slice(1, 3), value.slice(4, 6), '00']
          value = value.slice(6)
        } else if (std === Std.NumShortTZ || std === Std.ISO8601ShortTZ) {
          if (value.length < 3) {
            bad = true
            break
          }
          parts = [value[0]!, value.slice(1, 3), '00', '00']
          value = value.slice(3)
        } else if (std === Std.ISO8601ColonSecondsTZ || std === Std.NumColonSecondsTZ) {
          if (value.length < 9 || value[3] !== ':' || value[6] !== ':') {
            bad = true
            break
          }
          parts = [value[0]!, value.slice(1, 3), value.slice(4, 6), value.slice(7, 9)]
          value = value.slice(9)
        } else if (std === Std.ISO8601SecondsTZ || std === Std.NumSecondsTz) {
          if (value.length < 7) {
            bad = true
            break
          }
          parts = [value[0]!, value.slice(1, 3), value.slice(3, 5), value.slice(5, 7)]
          value = value.slice(7)
        } else {
          if (value.length < 5) {
            bad = true
            break
          }
          parts = [value[0]!, value.slice(1, 3), value.slice(3, 5), '00']
          value = value.slice(5)
        }
        const hr = getnum(parts[1], true)
        const mm = getnum(parts[2], true)
        const ss = getnum(parts[3], true)
        if (hr === undefined || mm === undefined || ss === undefined) {
          bad = true
          break
        }
        if (hr[0] > 24 || mm[0] > 60 || ss[0] > 60) rangeErr = true
        zoneOffset = (hr[0] * 60 + mm[0]) * 60 + ss[0]
        if (parts[0] === '-') zoneOffset = -zoneOffset
        else if (parts[0] !== '+') bad = true
      }
    }
    if (rangeErr || bad) return undefined
  }
  if (pmSet && hour < 12) hour += 12
  else if (amSet && hour === 12) hour = 0

  if (yday >= 0) {
    let d = 0
    let m = 0
    if (isLeap(year)) {
      if (yday === 31 + 29) {
        m = 2
        d = 29
      } else if (yday > 31 + 29) yday--
    }
    if (yday < 1 || yday > 365) return undefined
    if (m === 0) {
      m = Math.floor((yday - 1) / 31) + 1
      if (daysBefore(m + 1) < yday) m++
      d = yday - daysBefore(m)
    }
    if (month >= 0 && month !== m) return undefined
    month = m
    if (day >= 0 && day !== d) return undefined
    day = d
  } else {
    if (month < 0) month = 1
    if (day < 0) day = 1
  }
  if (day < 1 || day > daysIn(month, year)) return undefined

  let wall = daysFromCivil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec
  // A zone name other than UTC yields a fabricated zone: the wall clock is read as UTC.
  if (!utc && zoneOffset !== -1) wall -= zoneOffset
  return { sec: wall, nsec }
}

function daysBefore(m: number): number {
  let days = 0
  for (let i = 1; i < m; i++) days += i === 2 ? 28 : daysIn(i, 2001)
  return days
}

// --- durations ------------------------------------------------------------------------------

const unitNs: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
}

/** Go's `time.ParseDuration`, in nanoseconds, or `undefined` where Go returns an error. */
export function parseDuration(input: string): bigint | undefined {
  let s = input
  let d = 0n
  let neg = false
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-'
    s = s.slice(1)
  }
  if (s === '0') return 0n
  if (s === '') return undefined
  while (s !== '') {
    let v: bigint
    let f = 0n
    let scale = 1
    if (!(s[0] === '.' || (s[0]! >= '0' && s[0]! <= '9'))) return undefined
    const pl = s.length
    const li = leadingInt(s)
    if (li === undefined) return undefined
    ;[v, s] = li
    const pre = pl !== s.length
    let post = false
    if (s !== '' && s[0] === '.') {
      s = s.slice(1)
      const pl2 = s.length
      ;[f, scale, s] = leadingFraction(s)
      post = pl2 !== s.length
    }
    if (!pre && !post) return undefined
    let i = 0
    for (; i < s.length; i++) {
      const c = s[i]!
      if (c === '.' || (c >= '0' && c <= '9')) break
    }
    if (i === 0) return undefined
    const unit = unitNs[s.slice(0, i)]
    s = s.slice(i)
    if (unit === undefined) return undefined
    if (v > 2n ** 63n / unit) return undefined
    v *= unit
    if (f > 0n) {
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)))
      if (v > 2n ** 63n) return undefined
    }
    d += v
    if (d > 2n ** 63n) return undefined
  }
  if (neg) return -d
  if (d > 2n ** 63n - 1n) return undefined
  return d
}

function leadingFraction(s: string): [bigint, number, string] {
  let i = 0
  let x = 0n
  let scale = 1
  let overflow = false
  for (; i < s.length; i++) {
    const c = s[i]!
    if (c < '0' || c > '9') break
    if (overflow) continue
    if (x > (2n ** 63n - 1n) / 10n) {
      overflow = true
      continue
    }
    const y = x * 10n + BigInt(c.charCodeAt(0) - 48)
    if (y > 2n ** 63n) {
      overflow = true
      continue
    }
    x = y
    scale *= 10
  }
  return [x, scale, s.slice(i)]
}

const durationCoefficients: Readonly<Record<string, number>> = { d: 24, w: 7 * 24, y: 365 * 24 }

/** OPA's `parseExtendedDuration`: Go durations plus `d`, `w` and `y` units. */
export function parseExtendedDuration(s: string): bigint | undefined {
  if (s === '') return undefined
  if (!/[dwy]/.test(s)) return parseDuration(s)
  const m = /^([-+]?)((?:[0-9.]+(?:ms|us|µs|ns|[a-z]))+)$/.exec(s)
  if (!m) return undefined
  let rewritten = m[1]!
  for (const seg of m[2]!.matchAll(/([0-9.]+)(ms|us|µs|ns|[a-z])/g)) {
    const [, digits, unit] = seg
    const coeff = durationCoefficients[unit!]
    if (coeff === undefined) {
      rewritten += digits! + unit!
      continue
    }
    if (!/^(?:\d+\.?\d*|\.\d+)$/.test(digits!)) return undefined
    rewritten += `${formatFloat(Number.parseFloat(digits!) * coeff)}h`
  }
  return parseDuration(rewritten)
}

/** Go's `strconv.FormatFloat(f, 'f', -1, 64)`. */
function formatFloat(f: number): string {
  if (!Number.isFinite(f)) return String(f)
  if (Math.abs(f) < 1e21) {
    const s = String(f)
    if (!s.includes('e')) return s
  }
  // Shortest repr digits, laid out without an exponent.
  const [mant, expStr] = f.toExponential().split('e') as [string, string]
  const exp = Number(expStr)
  const digits = mant.replace('.', '').replace('-', '')
  const sign = f < 0 ? '-' : ''
  if (exp >= 0) {
    return (
      sign +
      (digits.length > exp + 1
        ? `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`
        : digits.padEnd(exp + 1, '0'))
    )
  }
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`
}
