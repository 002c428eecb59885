import type { HostBuiltin } from '../host-builtin.js'
import { RegoNumber } from '../rego-value.js'
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
    if (!(n instanceof RegoNumber)) return undefined
    if (a.length > 1) {
      if (typeof a[1] !== 'string') return undefined
      tz = a[1]
    }
    if (a.length > 2) {
      if (typeof a[2] !== 'string') return undefined
      layout = a[2]
    }
  } else if (a instanceof RegoNumber) {
    n = a
  } else {
    return undefined
  }
  // OPA reads the number as a big.Float and wants an exact int64 (1.0 and 1e9 included).
  const ns = n instanceof RegoNumber ? n.toBigInt() : undefined
  if (ns === undefined) return undefined
  if (ns < -(2n ** 63n) || ns > 2n ** 63n - 1n) return undefined
  const zone = loadZone(tz)
  if (zone === undefined) return undefined
  const { sec, nsec } = fromUnixNano(ns)
  return { t: inZone(sec, nsec, zone), layout }
}

/** OPA's `IntOperand`: an integer written as one (`1.0` is refused), as a JavaScript number. */
const intOperand = (x: unknown): number | undefined => {
  if (!(x instanceof RegoNumber) || !x.isIntegerText) return undefined
  const n = x.toBigInt()
  return n === undefined || n < -(2n ** 53n) || n > 2n ** 53n ? undefined : Number(n)
}

/**
 * `time.*` builtins (OPA `topdown/time.go`). Nanosecond counts are exact int64s, as in OPA: they
 * leave as `bigint`, never through a double, which would round any instant after 1970-04-15 by up
 * to 256 ns.
 */
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
      return t === undefined ? undefined : toUnixNano(t)
    },
  },
  {
    name: 'time.parse_rfc3339_ns',
    impl: (value) => {
      if (typeof value !== 'string') return undefined
      const t = parse(RFC3339, value)
      return t === undefined ? undefined : toUnixNano(t)
    },
  },
  {
    name: 'time.parse_duration_ns',
    impl: (value) => (typeof value === 'string' ? parseExtendedDuration(value) : undefined),
  },
  {
    name: 'time.format',
    values: 'rego',
    impl: (x) => {
      const tt = tzTime(x)
      if (tt === undefined) return undefined
      const layout = tt.layout === '' ? RFC3339Nano : (namedLayouts[tt.layout] ?? tt.layout)
      return format(tt.t, layout)
    },
  },
  {
    name: 'time.date',
    values: 'rego',
    impl: (x) => {
      const tt = tzTime(x)
      if (tt === undefined) return undefined
      const c = civil(tt.t)
      return [c.year, c.month, c.day]
    },
  },
  {
    name: 'time.clock',
    values: 'rego',
    impl: (x) => {
      const tt = tzTime(x)
      if (tt === undefined) return undefined
      const c = civil(tt.t)
      return [c.hour, c.minute, c.second]
    },
  },
  {
    name: 'time.weekday',
    values: 'rego',
    impl: (x) => {
      const tt = tzTime(x)
      return tt === undefined ? undefined : longDayNames[civil(tt.t).weekday]
    },
  },
  {
    name: 'time.add_date',
    values: 'rego',
    impl: (x, years, months, days) => {
      const tt = tzTime(x)
      const [y, m, d] = [intOperand(years), intOperand(months), intOperand(days)]
      if (tt === undefined || y === undefined || m === undefined || d === undefined) return undefined
      const c = civil(tt.t)
      const zone = loadZone(Array.isArray(x) && typeof x[1] === 'string' ? x[1] : '')!
      const r = dateIn(c.year + y, c.month + m, c.day + d, c.hour, c.minute, c.second, tt.t.nsec, zone)
      return toUnixNano(r)
    },
  },
  {
    name: 'time.diff',
    values: 'rego',
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
