/**
 * A minimal DER reader for the X.509 builtins: enough of ASN.1's distinguished encoding to walk
 * certificates, certificate requests and keys. Every read is bounds-checked and linear in the
 * input; nothing recurses on the input's own nesting.
 */

/** One TLV: tag byte, where its header starts, where its content starts and ends. */
export interface Tlv {
  readonly tag: number
  readonly start: number
  readonly contentStart: number
  readonly end: number
}

/** A DER structure error (OPA reports Go's asn1/x509 error; the builtin answers undefined). */
export class DerError extends Error {}

/** Reads the TLV at `offset` of `b`, within `limit`. */
export function readTlv(b: Uint8Array, offset: number, limit = b.length): Tlv {
  if (offset + 2 > limit) throw new DerError('asn1: structure error: truncated')
  const tag = b[offset]!
  // High tag numbers never occur in the structures read here.
  if ((tag & 0x1f) === 0x1f) throw new DerError('asn1: structure error: high tag number')
  let len = b[offset + 1]!
  let p = offset + 2
  if (len & 0x80) {
    const n = len & 0x7f
    if (n === 0 || n > 4 || p + n > limit) throw new DerError('asn1: structure error: bad length')
    len = 0
    for (let i = 0; i < n; i++) len = len * 256 + b[p++]!
    if (len < 128) throw new DerError('asn1: structure error: non-minimal length')
  }
  if (p + len > limit) throw new DerError('asn1: structure error: data truncated')
  return { tag, start: offset, contentStart: p, end: p + len }
}

/** The TLVs inside a constructed value, in order. */
export function children(b: Uint8Array, t: Tlv): Tlv[] {
  const out: Tlv[] = []
  for (let p = t.contentStart; p < t.end; ) {
    const c = readTlv(b, p, t.end)
    out.push(c)
    p = c.end
  }
  return out
}

/** Expects `t` to have tag `tag`. */
export function expectTag(t: Tlv | undefined, tag: number): Tlv {
  if (t === undefined || t.tag !== tag)
    throw new DerError(`asn1: structure error: tags don't match (${tag} vs ${t?.tag ?? 'none'})`)
  return t
}

/** The bytes of a TLV, header included. */
export const raw = (b: Uint8Array, t: Tlv): Uint8Array => b.subarray(t.start, t.end)
/** The content bytes of a TLV. */
export const content = (b: Uint8Array, t: Tlv): Uint8Array => b.subarray(t.contentStart, t.end)

/** An INTEGER's two's-complement value. */
export function integer(b: Uint8Array, t: Tlv): bigint {
  const c = content(b, expectTag(t, 0x02))
  if (c.length === 0) throw new DerError('asn1: structure error: empty integer')
  let v = 0n
  for (const x of c) v = (v << 8n) | BigInt(x)
  if (c[0]! & 0x80) v -= 1n << BigInt(8 * c.length)
  return v
}

/** An OBJECT IDENTIFIER as its arcs (Go's `asn1.ObjectIdentifier`). */
export function oid(b: Uint8Array, t: Tlv): number[] {
  const c = content(b, expectTag(t, 0x06))
  if (c.length === 0) throw new DerError('asn1: structure error: empty OID')
  const arcs: number[] = []
  let v = 0
  for (let i = 0; i < c.length; i++) {
    v = v * 128 + (c[i]! & 0x7f)
    if (v > Number.MAX_SAFE_INTEGER) throw new DerError('asn1: structure error: OID arc too large')
    if ((c[i]! & 0x80) === 0) {
      if (arcs.length === 0) {
        const first = v < 80 ? Math.floor(v / 40) : 2
        arcs.push(first, v - first * 40)
      } else arcs.push(v)
      v = 0
    } else if (i === c.length - 1) throw new DerError('asn1: structure error: truncated OID')
  }
  return arcs
}

/** A BIT STRING's bytes (the unused-bits count dropped) and that count. */
export function bitString(b: Uint8Array, t: Tlv): { bytes: Uint8Array; unused: number } {
  const c = content(b, expectTag(t, 0x03))
  if (c.length === 0 || c[0]! > 7) throw new DerError('asn1: structure error: bad bit string')
  return { bytes: c.subarray(1), unused: c[0]! }
}

/** Decodes the ASN.1 string types X.509 names use, as Go's `parseASN1String` does. */
export function asn1String(b: Uint8Array, t: Tlv): string {
  const c = content(b, t)
  switch (t.tag) {
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x12: // NumericString
      return Buffer.from(c).toString('latin1')
    case 0x14: // T61String: Go reads it as Latin-1
      return Buffer.from(c).toString('latin1')
    case 0x0c: // UTF8String
      return new TextDecoder('utf-8', { fatal: true }).decode(c)
    case 0x1e: {
      // BMPString: UTF-16BE
      if (c.length % 2 !== 0) throw new DerError('invalid BMPString')
      let s = ''
      for (let i = 0; i < c.length; i += 2) s += String.fromCharCode((c[i]! << 8) | c[i + 1]!)
      return s
    }
    default:
      throw new DerError('x509: unsupported string type')
  }
}
