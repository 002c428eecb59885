import type { HostBuiltin } from '../host-builtin.js'
import {
  civil,
  dateIn,
  daysIn,
  format,
  fromUnixNano,
  inZone,
  loadZone,
  longDayNames,
  namedLayouts,
  parse,
  parseExtendedDuration,
  RFC3339,
  RFC3339Nano,
  toUnixNano,
  type ZonedTime,
} from './go-time.js'

/**
 * Nanosecond counts travel as JSON numbers (doubles), so values beyond 2^53 (any instant after
 * 1970-04-15) carry ~256 ns of rounding. OPA's own answers are exact int64s; see the tests.
 */
const toNumber = (ns: bigint | undefined): number | undefined => (ns === undefined ? undefined : Number(ns))

interface TzTime {
  readonly t: ZonedTime
  readonly layout: string
}

/** OPA's `tzTime`: a number of ns, or `[ns]`, `[ns, tz]`, `[ns, tz, layout]`. */
function tzTime(a: unknown): TzTime | undefined {
  let n: unknown
  let tz = ''
  let layout = ''
  if (Array.isArray(a)) {
    if (a.length === 0) return undefined
    n = a[0]
    if (typeof n !== 'number') return undefined
    if (a.length > 1) {
      if (typeof a[1] !== 'string') return undefined
      tz = a[1]
    }
    if (a.length > 2) {
      if (typeof a[2] !== 'string') return undefined
      layout = a[2]
    }
  } else if (typeof a === 'number') {
    n = a
  } else {
    return undefined
  }
  if (typeof n !== 'number' || !Number.isInteger(n)) return undefined
  const ns = BigInt(n)
  if (ns < -(2n ** 63n) || ns > 2n ** 63n - 1n) return undefined
  const zone = loadZone(tz)
  if (zone === undefined) return undefined
  const { sec, nsec } = fromUnixNano(ns)
  return { t: inZone(sec, nsec, zone), layout }
}

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x)

/** `time.*` builtins (OPA `topdown/time.go`). */
export const timeBuiltins: readonly HostBuiltin[] = [
  {
    name: 'time.now_ns',
    nondeterministic: true,
    impl: () => Number(BigInt(Date.now()) * 1_000_000n),
  },
  {
    name: 'time.parse_ns',
    impl: (layout, value) => {
      if (typeof layout !== 'string' || typeof value !== 'string') return undefined
      const t = parse(namedLayouts[layout] ?? layout, value)
      return t === undefined ? undefined : toNumber(toUnixNano(t))
    },
  },
  {
    name: 'time.parse_rfc3339_ns',
    impl: (value) => {
      if (typeof value !== 'string') return undefined
      const t = parse(RFC3339, value)
      return t === undefined ? undefined : toNumber(toUnixNano(t))
    },
  },
  {
    name: 'time.parse_duration_ns',
    impl: (value) => (typeof value === 'string' ? toNumber(parseExtendedDuration(value)) : undefined),
  },
  {
    name: 'time.format',
    impl: (x) => {
      const tt = tzTime(x)
      if (tt === undefined) return undefined
      const layout = tt.layout === '' ? RFC3339Nano : (namedLayouts[tt.layout] ?? tt.layout)
      return format(tt.t, layout)
    },
  },
  {
    name: 'time.date',
    impl: (x) => {
      const tt = tzTime(x)
      if (tt === undefined) return undefined
      const c = civil(tt.t)
      return [c.year, c.month, c.day]
    },
  },
  {
    name: 'time.clock',
    impl: (x) => {
      const tt = tzTime(x)
      if (tt === undefined) return undefined
      const c = civil(tt.t)
      return [c.hour, c.minute, c.second]
    },
  },
  {
    name: 'time.weekday',
    impl: (x) => {
      const tt = tzTime(x)
      return tt === undefined ? undefined : longDayNames[civil(tt.t).weekday]
    },
  },
  {
    name: 'time.add_date',
    impl: (x, years, months, days) => {
      const tt = tzTime(x)
      if (tt === undefined || !isInt(years) || !isInt(months) || !isInt(days)) return undefined
      const c = civil(tt.t)
      const zone = loadZone(Array.isArray(x) && typeof x[1] === 'string' ? x[1] : '')!
      const r = dateIn(
        c.year + years,
        c.month + months,
        c.day + days,
        c.hour,
        c.minute,
        c.second,
        tt.t.nsec,
        zone,
      )
      return toNumber(toUnixNano(r))
    },
  },
  {
    name: 'time.diff',
    impl: (a, b) => {
      const ta = tzTime(a)
      const tb0 = tzTime(b)
      if (ta === undefined || tb0 === undefined) return undefined
      // Both are read in the first argument's zone.
      const zone = loadZone(Array.isArray(a) && typeof a[1] === 'string' ? a[1] : '')!
      let t1 = ta.t
      let t2 = inZone(tb0.t.sec, tb0.t.nsec, zone)
      if (t1.sec > t2.sec || (t1.sec === t2.sec && t1.nsec > t2.nsec)) [t1, t2] = [t2, t1]
      const c1 = civil(t1)
      const c2 = civil(t2)
      let year = c2.year - c1.year
      let month = c2.month - c1.month
      let day = c2.day - c1.day
      let hour = c2.hour - c1.hour
      let min = c2.minute - c1.minute
      let sec = c2.second - c1.second
      if (sec < 0) {
        sec += 60
        min--
      }
      if (min < 0) {
        min += 60
        hour--
      }
      if (hour < 0) {
        hour += 24
        day--
      }
      if (day < 0) {
        day += daysIn(c1.month, c1.year)
        month--
      }
      if (month < 0) {
        month += 12
        year--
      }
      return [year, month, day, hour, min, sec]
    },
  },
]
