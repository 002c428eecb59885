import type { HostBuiltin } from '../host-builtin.js'
import { RegoNumber, RegoSet, type RegoValue } from '../rego-value.js'

/**
 * Addresses are held as 128-bit integers in Go's 16-byte form: IPv4 as IPv4-mapped IPv6
 * (`::ffff:a.b.c.d`), so that, as in Go's `net` package, `::ffff:10.0.0.1` is an IPv4 address.
 */
const v4MappedPrefix = 0xffffn << 32n
const all128 = (1n << 128n) - 1n

/** Go's `netip.ParseAddr` (no zone), as a 128-bit address; `v4` for a dotted-quad literal. */
export function parseAddr(s: string): { addr: bigint; v4: boolean } | undefined {
  if (s.includes('.') && !s.includes(':')) {
    const v4 = parseV4(s)
    return v4 === undefined ? undefined : { addr: v4MappedPrefix | v4, v4: true }
  }
  const v6 = parseV6(s)
  return v6 === undefined ? undefined : { addr: v6, v4: false }
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.')
  if (parts.length !== 4) return undefined
  let x = 0n
  for (const p of parts) {
    if (!/^(?:0|[1-9][0-9]{0,2})$/.test(p)) return undefined
    const n = Number(p)
    if (n > 255) return undefined
    x = (x << 8n) | BigInt(n)
  }
  return x
}

function parseV6(s: string): bigint | undefined {
  if (s.includes('%')) return undefined
  const halves = s.split('::')
  if (halves.length > 2) return undefined
  const groups = (h: string): bigint[] | undefined => {
    if (h === '') return []
    const out: bigint[] = []
    const parts = h.split(':')
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseV4(p)
        if (v4 === undefined) return undefined
        out.push(v4 >> 16n, v4 & 0xffffn)
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(p)) return undefined
        out.push(BigInt(Number.parseInt(p, 16)))
      }
    }
    return out
  }
  const head = groups(halves[0]!)
  const tail = halves.length === 2 ? groups(halves[1]!) : []
  if (head === undefined || tail === undefined) return undefined
  // An embedded IPv4 address may only end the address.
  if (halves.length === 2 && halves[0]!.includes('.')) return undefined
  const n = head.length + tail.length
  if (halves.length === 2 ? n > 7 : n !== 8) return undefined
  const all = [...head, ...Array<bigint>(8 - n).fill(0n), ...tail]
  return all.reduce((acc, g) => (acc << 16n) | g, 0n)
}

/** A network as Go's `net.IPNet` behaves: IPv4 (incl. IPv4-mapped) networks work in 32 bits. */
interface Net {
  readonly v4: boolean
  /** Network address, in 32 bits for IPv4, 128 for IPv6. */
  readonly base: bigint
  readonly prefix: number
}

const bitsOf = (n: { v4: boolean }): number => (n.v4 ? 32 : 128)
const maskOf = (prefix: number, bits: number): bigint =>
  ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n)
const isMapped = (addr: bigint): boolean => addr >> 32n === 0xffffn

/** Go's `net.ParseCIDR`. */
function parseCIDR(s: string): Net | undefined {
  const slash = s.indexOf('/')
  if (slash < 0) return undefined
  const a = parseAddr(s.slice(0, slash))
  const m = s.slice(slash + 1)
  if (a === undefined || !/^[0-9]{1,9}$/.test(m)) return undefined
  const n = Number(m)
  const bitLen = a.v4 ? 32 : 128
  if (n > bitLen) return undefined
  if (a.v4) return { v4: true, base: a.addr & 0xffffffffn & maskOf(n, 32), prefix: n }
  if (isMapped(a.addr)) {
    // Go reads an IPv4-mapped network through the last 32 bits of its mask.
    const p = Math.max(0, n - 96)
    return { v4: true, base: a.addr & 0xffffffffn & maskOf(p, 32), prefix: p }
  }
  return { v4: false, base: a.addr & maskOf(n, 128), prefix: n }
}

/** `(*net.IPNet).Contains(ip)`. */
function contains(net: Net, addr: bigint): boolean {
  if (net.v4) {
    if (!isMapped(addr)) return false
    const ip4 = addr & 0xffffffffn
    return (ip4 & maskOf(net.prefix, 32)) === net.base
  }
  if (isMapped(addr)) return false
  return (addr & maskOf(net.prefix, 128)) === net.base
}

const lastOf = (n: Net): bigint => n.base | ((1n << BigInt(bitsOf(n) - n.prefix)) - 1n)

/** OPA's `net.cidr_contains(a, b)`; `undefined` on an error. */
function cidrContains(a: unknown, b: unknown): boolean | undefined {
  if (typeof a !== 'string' || typeof b !== 'string') return undefined
  const netA = parseCIDR(a)
  if (netA === undefined) return undefined
  const ip = parseAddr(b)
  if (ip !== undefined) return contains(netA, ip.addr)
  const netB = parseCIDR(b)
  if (netB === undefined) return undefined
  if (!netA.v4 && !netB.v4)
    return netA.prefix <= netB.prefix && (netB.base & maskOf(netA.prefix, 128)) === netA.base
  const widen = (n: Net, x: bigint): bigint => (n.v4 ? v4MappedPrefix | x : x)
  return contains(netA, widen(netB, netB.base)) && contains(netA, widen(netB, lastOf(netB)))
}

function formatAddr(addr: bigint, v4: boolean): string {
  if (v4) return [24n, 16n, 8n, 0n].map((s) => String((addr >> s) & 0xffn)).join('.')
  if (isMapped(addr)) return formatAddr(addr & 0xffffffffn, true)
  const groups = Array.from({ length: 8 }, (_, i) => Number((addr >> BigInt(112 - 16 * i)) & 0xffffn))
  // Longest run of two or more zero groups becomes "::" (leftmost on a tie), as Go prints.
  let best = -1
  let bestLen = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen) {
      best = i
      bestLen = j - i
    }
    i = j
  }
  const hex = groups.map((g) => g.toString(16))
  if (best < 0) return hex.join(':')
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`
}

interface CidrTerm {
  readonly cidr: unknown
  readonly index: RegoValue
}

/**
 * The operand shapes `net.cidr_contains_matches` accepts (exact Rego values): a string (its own
 * index), an array (by position), a set (each member is its own index) or an object (by key);
 * a member may be a CIDR string or an array whose first element is one.
 */
function matchOperand(x: RegoValue): CidrTerm[] | undefined {
  const elem = (v: RegoValue): unknown | undefined => {
    if (typeof v === 'string') return v
    if (Array.isArray(v)) return v.length === 0 ? undefined : v[0]
    return undefined
  }
  const collect = (entries: Iterable<[RegoValue, RegoValue]>): CidrTerm[] | undefined => {
    const out: CidrTerm[] = []
    for (const [index, v] of entries) {
      const cidr = elem(v)
      if (cidr === undefined) return undefined
      out.push({ cidr, index })
    }
    return out
  }
  if (typeof x === 'string') return [{ cidr: x, index: x }]
  if (Array.isArray(x))
    return collect(x.map((v, i): [RegoValue, RegoValue] => [new RegoNumber(String(i)), v]))
  if (x instanceof RegoSet) return collect(x.items.map((v): [RegoValue, RegoValue] => [v, v]))
  if (x instanceof Map) return collect(x)
  if (x !== null && typeof x === 'object' && !(x instanceof RegoNumber)) return collect(Object.entries(x))
  return []
}

/** Go's `IP.DefaultMask()`: the classful mask of an IPv4 address. */
function defaultPrefix(ip4: bigint): number {
  const first = Number(ip4 >> 24n)
  if (first < 0x80) return 8
  if (first < 0xc0) return 16
  return 24
}

/** A range of 128-bit (Go 16-byte form) addresses. */
interface Range {
  first: bigint
  last: bigint
  /** How Go prints the original network while the range has not been merged with another. */
  network: string | undefined
}

function rangeToCidrs(first: bigint, last: bigint): string[] {
  const out: string[] = []
  let cur = first
  while (cur <= last) {
    let size = 0
    while (size < 128) {
      const block = 1n << BigInt(size + 1)
      if (cur % block !== 0n || cur + block - 1n > last) break
      size++
    }
    const prefix = 128 - size
    if (isMapped(cur) && prefix >= 96) out.push(`${formatAddr(cur & 0xffffffffn, true)}/${prefix - 96}`)
    else out.push(`${formatAddr(cur, false)}/${prefix}`)
    cur += 1n << BigInt(size)
    if (cur > all128) break
  }
  return out
}

function cidrMerge(x: unknown): string[] | undefined {
  if (!Array.isArray(x)) return undefined
  const ranges: Range[] = []
  for (const e of x) {
    if (typeof e !== 'string') return undefined
    let net: Net | undefined
    let network: string
    const ip = parseAddr(e)
    if (ip !== undefined) {
      if (!isMapped(ip.addr)) return undefined
      const ip4 = ip.addr & 0xffffffffn
      const p = defaultPrefix(ip4)
      net = { v4: true, base: ip4 & maskOf(p, 32), prefix: p }
      // Go keeps the address unmasked in the IPNet it builds for a bare IPv4 address.
      network = `${formatAddr(ip4, true)}/${p}`
    } else {
      net = parseCIDR(e)
      if (net === undefined) return undefined
      network = `${formatAddr(net.base, net.v4)}/${net.prefix}`
    }
    const first = net.v4 ? v4MappedPrefix | net.base : net.base
    const last = net.v4 ? v4MappedPrefix | lastOf(net) : lastOf(net)
    ranges.push({ first, last, network })
  }
  ranges.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0))
  const merged: Range[] = []
  for (const r of ranges) {
    const prev = merged[merged.length - 1]
    if (prev !== undefined && r.first <= prev.last + 1n) {
      if (r.last > prev.last) prev.last = r.last
      prev.network = undefined
    } else {
      merged.push({ ...r })
    }
  }
  return [
    ...new Set(
      merged.flatMap((r) => (r.network !== undefined ? [r.network] : rangeToCidrs(r.first, r.last))),
    ),
  ].sort()
}

const maxExpand = 1 << 16

/** `net.*` builtins not in OPA's WebAssembly module (OPA `topdown/cidr.go`). */
export const netBuiltins: readonly HostBuiltin[] = [
  {
    name: 'net.cidr_is_valid',
    impl: (x) => typeof x === 'string' && parseCIDR(x) !== undefined,
  },
  {
    name: 'net.cidr_contains_matches',
    values: 'rego',
    impl: (a, b) => {
      const left = matchOperand(a as RegoValue)
      const right = matchOperand(b as RegoValue)
      if (left === undefined || right === undefined) return undefined
      const out: unknown[] = []
      for (const l of left) {
        for (const r of right) {
          const v = cidrContains(l.cidr, r.cidr)
          if (v === undefined) return undefined
          if (v) out.push([l.index, r.index])
        }
      }
      return new RegoSet(out as RegoValue[])
    },
  },
  {
    name: 'net.cidr_expand',
    impl: (x) => {
      if (typeof x !== 'string') return undefined
      const net = parseCIDR(x)
      if (net === undefined) return undefined
      // Expansion is bounded: a decision must not allocate millions of strings.
      const size = 1n << BigInt(bitsOf(net) - net.prefix)
      if (size > BigInt(maxExpand)) return undefined
      const out: string[] = []
      for (let i = 0n; i < size; i++) out.push(formatAddr(net.base + i, net.v4))
      return new RegoSet(out)
    },
  },
  {
    name: 'net.cidr_merge',
    impl: (x) => {
      const merged = cidrMerge(x)
      return merged === undefined ? undefined : new RegoSet(merged)
    },
  },
]
