import { randomBytes } from 'node:crypto'
import type { HostBuiltin } from '../host-builtin.js'

/** A random (version 4, RFC 4122 variant) UUID, as OPA's `uuid.New` builds it. */
function newUUID(): string {
  const b = randomBytes(16)
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** google/uuid's `Parse`: the 16 bytes, or `undefined`. */
function parseUUIDBytes(input: string): Uint8Array | undefined {
  let s = input
  const hex2 = (i: number): number | undefined => {
    const pair = s.slice(i, i + 2)
    return /^[0-9A-Fa-f]{2}$/.test(pair) ? Number.parseInt(pair, 16) : undefined
  }
  const out = new Uint8Array(16)
  // google/uuid measures bytes; non-ASCII input can never be a valid UUID anyway.
  if (Buffer.byteLength(s) !== s.length) return undefined
  switch (s.length) {
    case 36:
      break
    case 45:
      if (s.slice(0, 9).toLowerCase() !== 'urn:uuid:') return undefined
      s = s.slice(9)
      break
    case 38:
      s = s.slice(1)
      break
    case 32:
      for (let i = 0; i < 16; i++) {
        const v = hex2(i * 2)
        if (v === undefined) return undefined
        out[i] = v
      }
      return out
    default:
      return undefined
  }
  if (s[8] !== '-' || s[13] !== '-' || s[18] !== '-' || s[23] !== '-') return undefined
  const offsets = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34]
  for (let i = 0; i < 16; i++) {
    const v = hex2(offsets[i]!)
    if (v === undefined) return undefined
    out[i] = v
  }
  return out
}

function variant(b8: number): string {
  if ((b8 & 0xc0) === 0x80) return 'RFC4122'
  if ((b8 & 0xe0) === 0xc0) return 'Microsoft'
  if ((b8 & 0xe0) === 0xe0) return 'Future'
  return 'Reserved'
}

function macVars(b: number): string {
  if ((b & 0b11) === 0b11) return 'local:multicast'
  if ((b & 0b01) === 0b01) return 'global:multicast'
  if ((b & 0b10) === 0b10) return 'local:unicast'
  return 'global:unicast'
}

// 100-ns intervals between 1582-10-15 and 1970-01-01.
const g1582ns100 = 122192928000000000n

/** OPA's `uuid.Parse` map: version and variant, plus time/node fields for versions 1 and 2. */
function parseUUID(s: string): Record<string, unknown> | undefined {
  const u = parseUUIDBytes(s)
  if (u === undefined) return undefined
  const version = u[6]! >> 4
  const out: Record<string, unknown> = { version, variant: variant(u[8]!) }
  if (version === 1 || version === 2) {
    const be = (from: number, to: number): bigint =>
      u.slice(from, to).reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n)
    const t = be(0, 4) | (be(4, 6) << 32n) | ((be(6, 8) & 0xfffn) << 48n)
    const since = t - g1582ns100
    // Go truncates toward zero: sec = since / 1e7, nsec = (since % 1e7) * 100.
    // Exact: nanoseconds since 1970 exceed 2^53.
    out.time = (since / 10_000_000n) * 1_000_000_000n + (since % 10_000_000n) * 100n
    out.nodeid = Array.from(u.slice(10, 16), (b) => b.toString(16).padStart(2, '0')).join('-')
    out.macvariables = macVars(u[10]!)
    out.clocksequence = ((u[8]! << 8) | u[9]!) & 0x3fff
    if (version === 2) {
      out.id = Number(be(0, 4))
      const domain = u[9]!
      out.domain = ['Person', 'Group', 'Org'][domain] ?? `Domain${domain}`
    }
  }
  return out
}

/** `uuid.*` builtins (OPA `topdown/uuid.go`). */
export const uuidBuiltins: readonly HostBuiltin[] = [
  {
    name: 'uuid.rfc4122',
    nondeterministic: true,
    impl: (key) => (typeof key === 'string' ? newUUID() : undefined),
  },
  {
    name: 'uuid.parse',
    impl: (s) => (typeof s === 'string' ? parseUUID(s) : undefined),
  },
]
