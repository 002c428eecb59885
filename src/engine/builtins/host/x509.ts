import { createPublicKey } from 'node:crypto'
import {
  asn1String,
  bitString,
  children,
  content,
  DerError,
  expectTag,
  integer,
  oid,
  raw,
  readTlv,
  type Tlv,
} from './der.js'
import { goUrlParse } from './go-url.js'

/**
 * X.509 certificates and certificate requests as OPA returns them: Go's `x509.Certificate` /
 * `x509.CertificateRequest` marshalled to JSON (field names as Go's, byte slices as standard
 * base64, big integers as exact numbers, times as RFC 3339). Parsed from DER here; the public key
 * through `node:crypto`.
 */

/** A JSON object as Go's encoder writes a struct (every field, nil slices as null). */
export type GoJson = { [key: string]: unknown }

const b64 = (u: Uint8Array): string => Buffer.from(u).toString('base64')
const oidText = (arcs: readonly number[]): string => arcs.join('.')

/** Go's `x509.SignatureAlgorithm` numbers by OID. */
const SIGNATURE_ALGORITHMS: Record<string, number> = {
  '1.2.840.113549.1.1.2': 1, // MD2WithRSA
  '1.2.840.113549.1.1.4': 2, // MD5WithRSA
  '1.2.840.113549.1.1.5': 3, // SHA1WithRSA
  '1.3.14.3.2.29': 3,
  '1.2.840.113549.1.1.11': 4, // SHA256WithRSA
  '1.2.840.113549.1.1.12': 5,
  '1.2.840.113549.1.1.13': 6,
  '1.2.840.10040.4.3': 7, // DSAWithSHA1
  '2.16.840.1.101.3.4.3.2': 8, // DSAWithSHA256
  '1.2.840.10045.4.1': 9, // ECDSAWithSHA1
  '1.2.840.10045.4.3.2': 10,
  '1.2.840.10045.4.3.3': 11,
  '1.2.840.10045.4.3.4': 12,
  '1.3.101.112': 16, // PureEd25519
}
/** RSASSA-PSS: Go tells SHA256/384/512WithRSAPSS (13/14/15) apart by the hash parameter. */
const PSS_BY_HASH: Record<string, number> = {
  '2.16.840.1.101.3.4.2.1': 13,
  '2.16.840.1.101.3.4.2.2': 14,
  '2.16.840.1.101.3.4.2.3': 15,
}

/** Go's `x509.PublicKeyAlgorithm` numbers by OID. */
const PUBLIC_KEY_ALGORITHMS: Record<string, number> = {
  '1.2.840.113549.1.1.1': 1, // RSA
  '1.2.840.10040.4.1': 2, // DSA
  '1.2.840.10045.2.1': 3, // ECDSA
  '1.3.101.112': 4, // Ed25519
}

/** Go's `x509.ExtKeyUsage` numbers by OID. */
const EXT_KEY_USAGES: Record<string, number> = {
  '2.5.29.37.0': 0,
  '1.3.6.1.5.5.7.3.1': 1,
  '1.3.6.1.5.5.7.3.2': 2,
  '1.3.6.1.5.5.7.3.3': 3,
  '1.3.6.1.5.5.7.3.4': 4,
  '1.3.6.1.5.5.7.3.5': 5,
  '1.3.6.1.5.5.7.3.6': 6,
  '1.3.6.1.5.5.7.3.7': 7,
  '1.3.6.1.5.5.7.3.8': 8,
  '1.3.6.1.5.5.7.3.9': 9,
  '1.3.6.1.4.1.311.10.3.3': 10,
  '2.16.840.1.113730.4.1': 11,
  '1.3.6.1.4.1.311.2.1.22': 12,
  '1.3.6.1.4.1.311.61.1.1': 13,
}

function signatureAlgorithm(b: Uint8Array, algId: Tlv): number {
  const [o, params] = children(b, expectTag(algId, 0x30))
  const id = oidText(oid(b, o!))
  if (id !== '1.2.840.113549.1.1.10') return SIGNATURE_ALGORITHMS[id] ?? 0
  // RSASSA-PSS-params: [0] hashAlgorithm AlgorithmIdentifier.
  try {
    const hash = children(b, expectTag(params, 0x30)).find((t) => t.tag === 0xa0)
    if (hash === undefined) return 0
    const [alg] = children(b, hash)
    const [hashOid] = children(b, expectTag(alg, 0x30))
    return PSS_BY_HASH[oidText(oid(b, hashOid!))] ?? 0
  } catch {
    return 0
  }
}

/** Go's `pkix.Name` from an RDNSequence (`FillFromRDNSequence`). */
function name(b: Uint8Array, t: Tlv): GoJson {
  const n: GoJson = {
    Country: null,
    Organization: null,
    OrganizationalUnit: null,
    Locality: null,
    Province: null,
    StreetAddress: null,
    PostalCode: null,
    SerialNumber: '',
    CommonName: '',
    Names: null,
    ExtraNames: null,
  }
  const names: GoJson[] = []
  const add = (field: string, v: string): void => {
    n[field] = [...((n[field] as string[] | null) ?? []), v]
  }
  for (const rdn of children(b, expectTag(t, 0x30))) {
    for (const atv of children(b, expectTag(rdn, 0x31))) {
      const [typ, val] = children(b, expectTag(atv, 0x30))
      const type = oid(b, typ!)
      if (val === undefined) throw new DerError('x509: invalid RDNSequence')
      const value = asn1String(b, val)
      names.push({ Type: type, Value: value })
      if (type.length === 4 && type[0] === 2 && type[1] === 5 && type[2] === 4) {
        switch (type[3]) {
          case 3:
            n.CommonName = value
            break
          case 5:
            n.SerialNumber = value
            break
          case 6:
            add('Country', value)
            break
          case 7:
            add('Locality', value)
            break
          case 8:
            add('Province', value)
            break
          case 9:
            add('StreetAddress', value)
            break
          case 10:
            add('Organization', value)
            break
          case 11:
            add('OrganizationalUnit', value)
            break
          case 17:
            add('PostalCode', value)
            break
        }
      }
    }
  }
  if (names.length > 0) n.Names = names
  return n
}

/** A UTCTime or GeneralizedTime as Go's JSON time (RFC 3339, UTC). */
function time(b: Uint8Array, t: Tlv): string {
  const s = Buffer.from(content(b, t)).toString('latin1')
  let m: RegExpExecArray | null
  let year: number
  if (t.tag === 0x17) {
    m = /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s)
    if (!m) throw new DerError('x509: malformed UTCTime')
    year = Number(m[1])
    year += year < 50 ? 2000 : 1900
  } else if (t.tag === 0x18) {
    m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s)
    if (!m) throw new DerError('x509: malformed GeneralizedTime')
    year = Number(m[1])
  } else throw new DerError('x509: malformed validity')
  const [mo, d, h, mi, se] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ]
  const date = new Date(Date.UTC(year, mo - 1, d, h, mi, se))
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || se > 59)
    throw new DerError('x509: malformed time')
  return `${String(year).padStart(4, '0')}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`
}

/** Go's `net.IP.String()`. */
function ipString(ip: Uint8Array): string {
  const v4 = ip.length === 4 ? ip : ip.length === 16 && isV4Mapped(ip) ? ip.subarray(12) : undefined
  if (v4) return [...v4].join('.')
  if (ip.length !== 16) return `?${Buffer.from(ip).toString('hex')}`
  const groups: number[] = []
  for (let i = 0; i < 16; i += 2) groups.push((ip[i]! << 8) | ip[i + 1]!)
  // The longest run of two or more zero groups becomes "::" (the first such run on a tie).
  let best = -1
  let bestLen = 0
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLen && j - i >= 2) {
      best = i
      bestLen = j - i
    }
    i = j
  }
  const hex = (g: number[]): string => g.map((x) => x.toString(16)).join(':')
  return best < 0 ? hex(groups) : `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`
}

const isV4Mapped = (ip: Uint8Array): boolean =>
  ip.subarray(0, 10).every((x) => x === 0) && ip[10] === 0xff && ip[11] === 0xff

/** Go's `url.URL` as JSON, and its `String()`. */
function goUrl(text: string): { json: GoJson; text: string } | undefined {
  const u = goUrlParse(text)
  if (u === undefined) return undefined
  const json: GoJson = {
    Scheme: u.scheme,
    Opaque: '',
    User: null,
    Host: u.host,
    Path: u.path,
    RawPath: u.rawPath,
    OmitHost: false,
    ForceQuery: false,
    RawQuery: u.rawQuery,
    Fragment: u.fragment,
    RawFragment: '',
  }
  return { json, text }
}

/** The public key as Go's JSON shows it: RSA `{N, E}`, ECDSA `{Curve: {}, X, Y}`, Ed25519 bytes. */
function publicKey(spki: Uint8Array, algorithm: number): unknown {
  try {
    const jwk = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({
      format: 'jwk',
    })
    const big = (s: string | undefined): bigint =>
      BigInt(`0x${Buffer.from(s ?? '', 'base64url').toString('hex') || '0'}`)
    if (algorithm === 1 && jwk.kty === 'RSA') return { N: big(jwk.n), E: big(jwk.e) }
    if (algorithm === 3 && jwk.kty === 'EC') return { Curve: {}, X: big(jwk.x), Y: big(jwk.y) }
    if (algorithm === 4 && jwk.kty === 'OKP') return b64(Buffer.from(jwk.x ?? '', 'base64url'))
  } catch {
    // Go refuses a certificate whose key it cannot parse.
    throw new DerError('x509: failed to parse public key')
  }
  return null
}

function subjectPublicKeyInfo(b: Uint8Array, t: Tlv): { algorithm: number; key: unknown } {
  const [algId] = children(b, expectTag(t, 0x30))
  const [o] = children(b, expectTag(algId, 0x30))
  const algorithm = PUBLIC_KEY_ALGORITHMS[oidText(oid(b, o!))] ?? 0
  return { algorithm, key: algorithm === 0 ? null : publicKey(raw(b, t), algorithm) }
}

interface GeneralNames {
  dns: string[]
  email: string[]
  ip: string[]
  uris: { json: GoJson; text: string }[]
}

/** GeneralNames (a SAN's or a CRL distribution point's), the kinds Go keeps. */
function generalNames(b: Uint8Array, seq: Tlv, into: GeneralNames): void {
  for (const g of children(b, seq)) {
    const text = (): string => Buffer.from(content(b, g)).toString('latin1')
    switch (g.tag) {
      case 0x81:
        into.email.push(text())
        break
      case 0x82:
        into.dns.push(text())
        break
      case 0x86: {
        const u = goUrl(text())
        if (u === undefined) throw new DerError(`x509: cannot parse URI ${JSON.stringify(text())}`)
        into.uris.push(u)
        break
      }
      case 0x87: {
        const ip = content(b, g)
        if (ip.length !== 4 && ip.length !== 16) throw new DerError('x509: invalid IP length')
        into.ip.push(ipString(ip))
        break
      }
    }
  }
}

/** The extension-derived fields of a certificate (Go's `processExtensions`), into `out`. */
function extensions(b: Uint8Array, list: Tlv[], out: GoJson, forCertificate: boolean): void {
  const exts: GoJson[] = []
  const sans: GeneralNames = { dns: [], email: [], ip: [], uris: [] }
  const unhandledCritical: number[][] = []
  for (const e of list) {
    const parts = children(b, expectTag(e, 0x30))
    const id = oid(b, parts[0]!)
    let i = 1
    let critical = false
    if (parts[i]?.tag === 0x01) critical = content(b, parts[i++]!)[0] !== 0
    const valueTlv = expectTag(parts[i], 0x04)
    const value = content(b, valueTlv)
    exts.push({ Id: id, Critical: critical, Value: b64(value) })
    const v = (): Tlv => readTlv(b, valueTlv.contentStart, valueTlv.end)
    let unhandled = false
    const key = oidText(id)
    if (key === '2.5.29.17') generalNames(b, expectTag(v(), 0x30), sans)
    else if (!forCertificate) unhandled = true
    else if (key === '2.5.29.15') {
      const { bytes } = bitString(b, v())
      let usage = 0
      for (let bit = 0; bit < 9; bit++) {
        const byte = bytes[bit >> 3]
        if (byte !== undefined && (byte >> (7 - (bit & 7))) & 1) usage |= 1 << bit
      }
      out.KeyUsage = usage
    } else if (key === '2.5.29.19') {
      const bc = children(b, expectTag(v(), 0x30))
      let j = 0
      out.BasicConstraintsValid = true
      out.IsCA = bc[j]?.tag === 0x01 ? content(b, bc[j++]!)[0] !== 0 : false
      out.MaxPathLen = bc[j]?.tag === 0x02 ? Number(integer(b, bc[j]!)) : -1
      out.MaxPathLenZero = out.MaxPathLen === 0
    } else if (key === '2.5.29.37') {
      const known: number[] = []
      const unknown: number[][] = []
      for (const o of children(b, expectTag(v(), 0x30))) {
        const arcs = oid(b, o)
        const k = EXT_KEY_USAGES[oidText(arcs)]
        if (k === undefined) unknown.push(arcs)
        else known.push(k)
      }
      out.ExtKeyUsage = known.length > 0 ? known : null
      out.UnknownExtKeyUsage = unknown.length > 0 ? unknown : null
    } else if (key === '2.5.29.14') {
      out.SubjectKeyId = b64(content(b, expectTag(v(), 0x04)))
    } else if (key === '2.5.29.35') {
      const kid = children(b, expectTag(v(), 0x30)).find((t) => t.tag === 0x80)
      if (kid) out.AuthorityKeyId = b64(content(b, kid))
    } else if (key === '2.5.29.31') {
      const urls: string[] = []
      for (const dp of children(b, expectTag(v(), 0x30))) {
        const dpName = children(b, expectTag(dp, 0x30)).find((t) => t.tag === 0xa0)
        if (!dpName) continue
        const full = children(b, dpName).find((t) => t.tag === 0xa0)
        if (!full) continue
        for (const g of children(b, full))
          if (g.tag === 0x86) urls.push(Buffer.from(content(b, g)).toString('latin1'))
      }
      out.CRLDistributionPoints = urls.length > 0 ? urls : null
    } else if (key === '2.5.29.32') {
      const ids: number[][] = []
      for (const p of children(b, expectTag(v(), 0x30))) ids.push(oid(b, children(b, expectTag(p, 0x30))[0]!))
      out.PolicyIdentifiers = ids.length > 0 ? ids : null
      out.Policies = ids.length > 0 ? ids.map(oidText) : null
    } else if (key === '1.3.6.1.5.5.7.1.1') {
      const ocsp: string[] = []
      const issuers: string[] = []
      for (const ad of children(b, expectTag(v(), 0x30))) {
        const [method, location] = children(b, expectTag(ad, 0x30))
        if (location?.tag !== 0x86) continue
        const url = Buffer.from(content(b, location)).toString('latin1')
        const m = oidText(oid(b, method!))
        if (m === '1.3.6.1.5.5.7.48.1') ocsp.push(url)
        else if (m === '1.3.6.1.5.5.7.48.2') issuers.push(url)
      }
      out.OCSPServer = ocsp.length > 0 ? ocsp : null
      out.IssuingCertificateURL = issuers.length > 0 ? issuers : null
    } else if (!/^2\.5\.29\.(30|33|36|54)$/.test(key)) unhandled = true
    if (critical && unhandled) unhandledCritical.push(id)
  }
  if (exts.length > 0) out.Extensions = exts
  if (sans.dns.length > 0) out.DNSNames = sans.dns
  if (sans.email.length > 0) out.EmailAddresses = sans.email
  if (sans.ip.length > 0) out.IPAddresses = sans.ip
  if (sans.uris.length > 0) out.URIs = sans.uris.map((u) => u.json)
  out.uriTexts = sans.uris.map((u) => u.text)
  if (forCertificate && unhandledCritical.length > 0) out.UnhandledCriticalExtensions = unhandledCritical
}

/** A parsed certificate: its Go JSON, and what chain verification needs. */
export interface ParsedCertificate {
  readonly json: GoJson
  /** `URIs` as `url.URL.String()` (OPA's extra `URIStrings`). */
  readonly uriStrings: readonly string[]
  readonly der: Uint8Array
  readonly rawSubject: Uint8Array
  readonly rawIssuer: Uint8Array
  readonly notBefore: number
  readonly notAfter: number
}

/** Parses one DER certificate starting at `offset`; returns it and where the next one starts. */
function parseOne(b: Uint8Array, offset: number): [ParsedCertificate, number] {
  const cert = readTlv(b, offset)
  const [tbs, sigAlg, sig] = children(b, expectTag(cert, 0x30))
  const f = children(b, expectTag(tbs, 0x30))
  let i = 0
  let version = 0
  if (f[i]?.tag === 0xa0) version = Number(integer(b, children(b, f[i++]!)[0]!))
  if (version < 0 || version > 2) throw new DerError('x509: invalid version')
  const serial = integer(b, f[i++]!)
  const innerSigAlg = f[i++]!
  const issuer = f[i++]!
  const validity = children(b, expectTag(f[i++], 0x30))
  const subject = f[i++]!
  const spki = f[i++]!
  if (validity.length !== 2) throw new DerError('x509: malformed validity')
  const algorithm = signatureAlgorithm(b, expectTag(sigAlg, 0x30))
  if (!Buffer.from(raw(b, innerSigAlg)).equals(raw(b, sigAlg!)))
    throw new DerError("x509: inner and outer signature algorithm identifiers don't match")
  const key = subjectPublicKeyInfo(b, expectTag(spki, 0x30))
  const notBefore = time(b, validity[0]!)
  const notAfter = time(b, validity[1]!)
  const json: GoJson = {
    Raw: b64(raw(b, cert)),
    RawTBSCertificate: b64(raw(b, tbs)),
    RawSubjectPublicKeyInfo: b64(raw(b, spki)),
    RawSubject: b64(raw(b, subject)),
    RawIssuer: b64(raw(b, issuer)),
    Signature: b64(bitString(b, sig!).bytes),
    SignatureAlgorithm: algorithm,
    PublicKeyAlgorithm: key.algorithm,
    PublicKey: key.key,
    Version: version + 1,
    SerialNumber: serial,
    Issuer: name(b, issuer),
    Subject: name(b, subject),
    NotBefore: notBefore,
    NotAfter: notAfter,
    KeyUsage: 0,
    Extensions: null,
    ExtraExtensions: null,
    UnhandledCriticalExtensions: null,
    ExtKeyUsage: null,
    UnknownExtKeyUsage: null,
    BasicConstraintsValid: false,
    IsCA: false,
    MaxPathLen: 0,
    MaxPathLenZero: false,
    SubjectKeyId: null,
    AuthorityKeyId: null,
    OCSPServer: null,
    IssuingCertificateURL: null,
    DNSNames: null,
    EmailAddresses: null,
    IPAddresses: null,
    URIs: null,
    PermittedDNSDomainsCritical: false,
    PermittedDNSDomains: null,
    ExcludedDNSDomains: null,
    PermittedIPRanges: null,
    ExcludedIPRanges: null,
    PermittedEmailAddresses: null,
    ExcludedEmailAddresses: null,
    PermittedURIDomains: null,
    ExcludedURIDomains: null,
    CRLDistributionPoints: null,
    PolicyIdentifiers: null,
    Policies: null,
    InhibitAnyPolicy: 0,
    InhibitAnyPolicyZero: false,
    InhibitPolicyMapping: 0,
    InhibitPolicyMappingZero: false,
    RequireExplicitPolicy: 0,
    RequireExplicitPolicyZero: false,
    PolicyMappings: null,
  }
  for (; i < f.length; i++) {
    if (f[i]!.tag === 0xa3) extensions(b, children(b, expectTag(children(b, f[i]!)[0], 0x30)), json, true)
  }
  const uriStrings = (json.uriTexts as string[] | undefined) ?? []
  delete json.uriTexts
  return [
    {
      json,
      uriStrings,
      der: raw(b, cert),
      rawSubject: raw(b, subject),
      rawIssuer: raw(b, issuer),
      notBefore: Date.parse(notBefore),
      notAfter: Date.parse(notAfter),
    },
    cert.end,
  ]
}

/**
 * Go's `x509.ParseCertificates`: concatenated DER certificates.
 *
 * @throws DerError on malformed input.
 */
export function parseCertificates(der: Uint8Array): ParsedCertificate[] {
  const out: ParsedCertificate[] = []
  try {
    for (let p = 0; p < der.length; ) {
      const [c, next] = parseOne(der, p)
      out.push(c)
      p = next
    }
  } catch (e) {
    if (e instanceof DerError) throw e
    // A field missing where the structure needs it (undefined TLV) is malformed input too.
    throw new DerError(`x509: malformed certificate (${(e as Error).message})`)
  }
  return out
}

/** The certificate's JSON with OPA's extra `URIStrings`. */
export function withUriStrings(c: ParsedCertificate): GoJson {
  return { ...c.json, URIStrings: c.uriStrings.length > 0 ? [...c.uriStrings] : null }
}

/**
 * Go's `x509.ParseCertificateRequest` as JSON.
 *
 * @throws DerError on malformed input.
 */
export function parseCertificateRequest(b: Uint8Array): GoJson {
  try {
    const csr = readTlv(b, 0)
    if (csr.end !== b.length) throw new DerError('x509: trailing data after certificate request')
    const [tbs, sigAlg, sig] = children(b, expectTag(csr, 0x30))
    const [version, subject, spki, attrs] = children(b, expectTag(tbs, 0x30))
    const key = subjectPublicKeyInfo(b, expectTag(spki, 0x30))
    const json: GoJson = {
      Raw: b64(raw(b, csr)),
      RawTBSCertificateRequest: b64(raw(b, tbs)),
      RawSubjectPublicKeyInfo: b64(raw(b, spki!)),
      RawSubject: b64(raw(b, expectTag(subject, 0x30))),
      Version: Number(integer(b, version!)),
      Signature: b64(bitString(b, sig!).bytes),
      SignatureAlgorithm: signatureAlgorithm(b, expectTag(sigAlg, 0x30)),
      PublicKeyAlgorithm: key.algorithm,
      PublicKey: key.key,
      Subject: name(b, subject),
      Attributes: null,
      Extensions: null,
      ExtraExtensions: null,
      DNSNames: null,
      EmailAddresses: null,
      IPAddresses: null,
      URIs: null,
    }
    if (attrs?.tag === 0xa0) {
      const parsed = attributes(b, attrs)
      if (parsed.length > 0) json.Attributes = parsed
      for (const a of children(b, attrs)) {
        const [type, values] = children(b, expectTag(a, 0x30))
        // PKCS #9 extensionRequest: the requested extensions.
        if (oidText(oid(b, type!)) !== '1.2.840.113549.1.9.14') continue
        const [exts] = children(b, expectTag(values, 0x31))
        extensions(b, children(b, expectTag(exts, 0x30)), json, false)
      }
    }
    delete json.uriTexts
    return json
  } catch (e) {
    if (e instanceof DerError) throw e
    throw new DerError(`asn1: structure error (${(e as Error).message})`)
  }
}

/**
 * The deprecated `CertificateRequest.Attributes`: each attribute Go's `asn1.Unmarshal` can read
 * as a SET of SEQUENCEs of (OID, value); others are skipped, as Go skips them.
 */
function attributes(b: Uint8Array, attrs: Tlv): GoJson[] {
  const out: GoJson[] = []
  for (const a of children(b, attrs)) {
    try {
      const [type, values] = children(b, expectTag(a, 0x30))
      const sets = children(b, expectTag(values, 0x31)).map((seq) =>
        children(b, expectTag(seq, 0x30)).map((atv) => {
          const [t, v] = children(b, expectTag(atv, 0x30))
          if (v === undefined) throw new DerError('asn1: truncated')
          return { Type: oid(b, t!), Value: attributeValue(b, v) }
        }),
      )
      out.push({ Type: oid(b, type!), Value: sets })
    } catch {
      // Not of that shape: Go skips the attribute.
    }
  }
  return out
}

/** An attribute value as Go's `any` unmarshals it: bytes as base64, booleans, integers, strings. */
function attributeValue(b: Uint8Array, v: Tlv): unknown {
  switch (v.tag) {
    case 0x04:
      return b64(content(b, v))
    case 0x01:
      return content(b, v)[0] !== 0
    case 0x02:
      return integer(b, v)
    default:
      return asn1String(b, v)
  }
}
