import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto'
import type { HostBuiltin } from '../host-builtin.js'
import { goBase64Decode, pemDecodeAll } from './pem.js'
import {
  type GoJson,
  type ParsedCertificate,
  parseCertificateRequest,
  parseCertificates,
  withUriStrings,
} from './x509.js'

/**
 * OPA's X.509 and private-key builtins (`topdown/crypto.go`): `crypto.x509.parse_certificates`,
 * `parse_and_verify_certificates[_with_options]`, `parse_certificate_request`, `parse_keypair`,
 * `parse_rsa_private_key` and `crypto.parse_private_keys`. Where OPA raises a builtin error the
 * answer is undefined.
 */

const BEGIN = '-----BEGIN'

/** OPA's `getX509CertsFromString`: PEM, base64 of PEM, or base64 of DER. */
function certsFromString(s: string): ParsedCertificate[] | undefined {
  let pem = s
  if (!s.startsWith(BEGIN)) {
    const der = goBase64Decode(s)
    if (der === undefined) return undefined
    if (!der.subarray(0, BEGIN.length).equals(Buffer.from(BEGIN))) return parse(der)
    pem = der.toString('latin1')
  }
  const { blocks } = pemDecodeAll(pem)
  if (blocks.some((b) => b.type !== 'CERTIFICATE')) return undefined
  return parse(Buffer.concat(blocks.map((b) => b.bytes)))
}

function parse(der: Uint8Array): ParsedCertificate[] | undefined {
  try {
    return parseCertificates(der)
  } catch {
    return undefined
  }
}

const big = (s: string | undefined): bigint =>
  BigInt(`0x${Buffer.from(s ?? '', 'base64url').toString('hex') || '0'}`)

/** A private key as Go's `json.Marshal` writes `*rsa.PrivateKey`, `*ecdsa.PrivateKey`, `ed25519.PrivateKey`. */
function goPrivateKeyJson(key: KeyObject): unknown {
  const jwk = key.export({ format: 'jwk' })
  if (jwk.kty === 'RSA') {
    return {
      N: big(jwk.n),
      E: big(jwk.e),
      D: big(jwk.d),
      Primes: [big(jwk.p), big(jwk.q)],
      Precomputed: { Dp: big(jwk.dp), Dq: big(jwk.dq), Qinv: big(jwk.qi), CRTValues: [] },
    }
  }
  if (jwk.kty === 'EC') return { Curve: {}, X: big(jwk.x), Y: big(jwk.y), D: big(jwk.d) }
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') {
    // Go's ed25519.PrivateKey: the seed followed by the public key.
    return Buffer.concat([
      Buffer.from(jwk.d ?? '', 'base64url'),
      Buffer.from(jwk.x ?? '', 'base64url'),
    ]).toString('base64')
  }
  return {}
}

/** The private key in one PEM block of the types OPA reads, or undefined for other blocks. */
function privateKey(type: string, der: Buffer): KeyObject | undefined {
  const format =
    type === 'RSA PRIVATE KEY'
      ? 'pkcs1'
      : type === 'PRIVATE KEY'
        ? 'pkcs8'
        : type === 'EC PRIVATE KEY'
          ? 'sec1'
          : undefined
  if (format === undefined) return undefined
  // Throws on a malformed key: OPA returns the parse error.
  return createPrivateKey({ key: der, format: 'der', type: format })
}

/** OPA's `getPrivateKeysFromPEMData`. @throws on a malformed key. */
function privateKeysFromPem(pemData: string): KeyObject[] {
  const decoded = goBase64Decode(pemData)
  const text = decoded === undefined ? pemData : decoded.toString('latin1')
  const keys: KeyObject[] = []
  for (const block of pemDecodeAll(text).blocks) {
    const key = privateKey(block.type, block.bytes)
    if (key !== undefined) keys.push(key)
  }
  return keys
}

/** Go's `ExtKeyUsage` numbers by the names OPA's options take. */
const KEY_USAGES: Record<string, number> = {
  KeyUsageAny: 0,
  KeyUsageServerAuth: 1,
  KeyUsageClientAuth: 2,
  KeyUsageCodeSigning: 3,
  KeyUsageEmailProtection: 4,
  KeyUsageIPSECEndSystem: 5,
  KeyUsageIPSECTunnel: 6,
  KeyUsageIPSECUser: 7,
  KeyUsageTimeStamping: 8,
  KeyUsageOCSPSigning: 9,
  KeyUsageMicrosoftServerGatedCrypto: 10,
  KeyUsageNetscapeServerGatedCrypto: 11,
  KeyUsageMicrosoftCommercialCodeSigning: 12,
  KeyUsageMicrosoftKernelCodeSigning: 13,
}

interface VerifyOptions {
  dnsName?: string
  /** Milliseconds since the epoch. */
  now: number
  keyUsages: number[]
}

/** Signature algorithms Go refuses in chain verification: MD2, MD5, SHA-1 (RSA, DSA, ECDSA). */
const INSECURE_SIGNATURES = new Set([1, 2, 3, 7, 9])
/** Go's `maxChainSignatureChecks`: bounds the chain search on hostile pools. */
const MAX_SIGNATURE_CHECKS = 100

/**
 * OPA's `verifyX509CertificateChain`, after Go's `Certificate.Verify`: the first certificate is
 * the root, the last the leaf, the others intermediates. Returns the first chain (leaf first), or
 * undefined. Name constraints and policy constraints are not checked.
 */
function verifyChain(certs: ParsedCertificate[], opts: VerifyOptions): ParsedCertificate[] | undefined {
  if (certs.length < 2) return undefined
  const root = certs[0]!
  const intermediates = certs.slice(1, -1)
  const leaf = certs[certs.length - 1]!
  const j = (c: ParsedCertificate) => c.json
  const timeValid = (c: ParsedCertificate) => opts.now >= c.notBefore && opts.now <= c.notAfter
  if (j(leaf).UnhandledCriticalExtensions !== null) return undefined
  if (!timeValid(leaf)) return undefined
  if (opts.dnsName !== undefined && !matchesHostname(leaf, opts.dnsName)) return undefined
  const same = (a: ParsedCertificate, b: ParsedCertificate) => Buffer.from(a.der).equals(b.der)
  const chains: ParsedCertificate[][] = []
  if (same(root, leaf)) chains.push([leaf])
  else {
    let checks = 0
    const keys = new Map<ParsedCertificate, KeyObject | null>()
    const keyOf = (c: ParsedCertificate): KeyObject | null => {
      if (!keys.has(c)) {
        try {
          keys.set(c, new X509Certificate(Buffer.from(c.der)).publicKey)
        } catch {
          keys.set(c, null)
        }
      }
      return keys.get(c)!
    }
    const signedBy = (child: ParsedCertificate, parent: ParsedCertificate): boolean => {
      const p = j(parent)
      if ((p.Version === 3 && !p.BasicConstraintsValid) || (p.BasicConstraintsValid && !p.IsCA)) return false
      if (p.KeyUsage !== 0 && ((p.KeyUsage as number) & 32) === 0) return false
      if (p.PublicKeyAlgorithm === 0) return false
      if (INSECURE_SIGNATURES.has(j(child).SignatureAlgorithm as number)) return false
      const key = keyOf(parent)
      if (key === null) return false
      try {
        return new X509Certificate(Buffer.from(child.der)).verify(key)
      } catch {
        return false
      }
    }
    const build = (chain: ParsedCertificate[]): void => {
      const c = chain[chain.length - 1]!
      const consider = (candidate: ParsedCertificate, isRoot: boolean): void => {
        if (chain.some((x) => same(x, candidate))) return
        if (!Buffer.from(candidate.rawSubject).equals(c.rawIssuer)) return
        if (++checks > MAX_SIGNATURE_CHECKS) return
        if (!signedBy(c, candidate)) return
        const cj = j(candidate)
        if (!timeValid(candidate)) return
        if (!isRoot && (!cj.BasicConstraintsValid || !cj.IsCA)) return
        if (
          cj.BasicConstraintsValid &&
          (cj.MaxPathLen as number) >= 0 &&
          chain.length - 1 > (cj.MaxPathLen as number)
        )
          return
        const next = [...chain, candidate]
        if (isRoot) chains.push(next)
        else build(next)
      }
      consider(root, true)
      for (const i of intermediates) consider(i, false)
    }
    build([leaf])
  }
  const usages = opts.keyUsages.length === 0 ? [1] : opts.keyUsages
  if (usages.includes(0)) return chains[0]
  return chains.find((chain) => chainAllowsUsages(chain, usages))
}

/** Go's `checkChainForKeyUsage`. */
function chainAllowsUsages(chain: ParsedCertificate[], requested: number[]): boolean {
  const usages = [...requested]
  let remaining = usages.length
  for (let i = chain.length - 1; i >= 0; i--) {
    const c = chain[i]!.json
    const eku = (c.ExtKeyUsage as number[] | null) ?? []
    if (eku.length === 0 && c.UnknownExtKeyUsage === null) continue
    if (eku.includes(0)) continue
    for (let k = 0; k < usages.length; k++) {
      if (usages[k] === -1 || eku.includes(usages[k]!)) continue
      usages[k] = -1
      if (--remaining === 0) return false
    }
  }
  return true
}

/** Go's `VerifyHostname` against the SANs (no Common Name fallback, as Go). */
function matchesHostname(c: ParsedCertificate, host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  const ips = (c.json.IPAddresses as string[] | null) ?? []
  if (/^[\d.]+$/.test(h) || h.includes(':')) return ips.includes(h)
  const want = h.toLowerCase().replace(/\.$/, '')
  for (const pattern of (c.json.DNSNames as string[] | null) ?? []) {
    const p = pattern.toLowerCase().replace(/\.$/, '')
    if (p === want) return true
    if (p.startsWith('*.') && want.includes('.') && want.slice(want.indexOf('.')) === p.slice(1)) return true
  }
  return false
}

function verifyOptions(options: unknown, now: () => number): VerifyOptions | undefined {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) return undefined
  const o: VerifyOptions = { now: Number(now()) / 1e6, keyUsages: [] }
  for (const [k, v] of Object.entries(options)) {
    switch (k) {
      case 'DNSName':
        if (typeof v !== 'string') return undefined
        o.dnsName = v.replace(/^"+|"+$/g, '')
        break
      case 'CurrentTime':
        if (typeof v !== 'number' || !Number.isInteger(v)) return undefined
        o.now = v / 1e6
        break
      case 'MaxConstraintComparisons':
        if (typeof v !== 'number' || !Number.isInteger(v)) return undefined
        break
      case 'KeyUsages': {
        if (!Array.isArray(v)) return undefined
        for (const u of v) {
          if (typeof u !== 'string') continue
          const n = KEY_USAGES[u.replace(/^"+|"+$/g, '')]
          if (n === undefined) return undefined
          o.keyUsages.push(n)
        }
        break
      }
      default:
        return undefined
    }
  }
  return o
}

const notVerified = (): unknown[] => [false, []]

/** OPA's `getTLSx509KeyPairFromString` and Go's `tls.X509KeyPair`, as JSON. */
function keyPair(certText: string, keyText: string): GoJson | undefined {
  const decode = (s: string): Buffer | undefined =>
    s.startsWith('-----BEGIN ') ? Buffer.from(s, 'latin1') : goBase64Decode(s)
  const certBytes = decode(certText)
  const keyBytes = decode(keyText)
  if (certBytes === undefined || keyBytes === undefined) return undefined
  const isPem = (b: Buffer) => b.subarray(0, 11).equals(Buffer.from('-----BEGIN '))
  const certDers = isPem(certBytes)
    ? pemDecodeAll(certBytes.toString('latin1'))
        .blocks.filter((b) => b.type === 'CERTIFICATE')
        .map((b) => b.bytes)
    : [certBytes]
  if (certDers.length === 0) return undefined
  const keyBlock = isPem(keyBytes)
    ? pemDecodeAll(keyBytes.toString('latin1')).blocks.find(
        (b) => b.type === 'PRIVATE KEY' || b.type.endsWith(' PRIVATE KEY'),
      )
    : { type: 'PRIVATE KEY', bytes: keyBytes }
  if (keyBlock === undefined) return undefined
  const leaf = parse(certDers[0]!)?.[0]
  if (leaf === undefined) return undefined
  // Go tries PKCS #1, then PKCS #8, then SEC 1, whatever the block says.
  let key: KeyObject | undefined
  for (const type of ['pkcs1', 'pkcs8', 'sec1'] as const) {
    try {
      key = createPrivateKey({ key: keyBlock.bytes, format: 'der', type })
      break
    } catch {
      // next format
    }
  }
  if (key === undefined) return undefined
  // The key must belong to the leaf.
  try {
    const a = createPublicKey(key).export({ format: 'der', type: 'spki' })
    const b = new X509Certificate(Buffer.from(leaf.der)).publicKey.export({ format: 'der', type: 'spki' })
    if (!a.equals(b)) return undefined
  } catch {
    return undefined
  }
  return {
    Certificate: certDers.map((d) => d.toString('base64')),
    PrivateKey: goPrivateKeyJson(key),
    SupportedSignatureAlgorithms: null,
    OCSPStaple: null,
    SignedCertificateTimestamps: null,
    Leaf: leaf.json,
  }
}

/** The X.509 and private-key builtins. */
export const cryptoX509Builtins: readonly HostBuiltin[] = [
  {
    name: 'crypto.x509.parse_certificates',
    impl: (s) => {
      if (typeof s !== 'string') return undefined
      return certsFromString(s)?.map(withUriStrings)
    },
  },
  {
    name: 'crypto.x509.parse_and_verify_certificates',
    clock: true,
    impl: (s, now) => {
      if (typeof s !== 'string') return undefined
      const certs = certsFromString(s)
      if (certs === undefined) return notVerified()
      const chain = verifyChain(certs, { now: Number((now as () => unknown)()) / 1e6, keyUsages: [] })
      return chain === undefined ? notVerified() : [true, chain.map(withUriStrings)]
    },
  },
  {
    name: 'crypto.x509.parse_and_verify_certificates_with_options',
    clock: true,
    impl: (s, options, now) => {
      if (typeof s !== 'string') return undefined
      if (options === null || typeof options !== 'object' || Array.isArray(options)) return undefined
      const certs = certsFromString(s)
      if (certs === undefined) return notVerified()
      const opts = verifyOptions(options, now as () => number)
      if (opts === undefined) return undefined
      const chain = verifyChain(certs, opts)
      // Unlike parse_and_verify_certificates, OPA returns the plain certificates (no URIStrings).
      return chain === undefined ? notVerified() : [true, chain.map((c) => c.json)]
    },
  },
  {
    name: 'crypto.x509.parse_certificate_request',
    impl: (s) => {
      if (typeof s !== 'string') return undefined
      let bytes: Buffer | undefined = Buffer.from(s, 'latin1')
      if (!s.startsWith('-----BEGIN CERTIFICATE REQUEST-----')) bytes = goBase64Decode(s)
      if (bytes === undefined) return undefined
      const { blocks } = pemDecodeAll(bytes.toString('latin1'))
      const first = blocks[0]
      if (first !== undefined && first.type !== 'CERTIFICATE REQUEST') return undefined
      try {
        return parseCertificateRequest(first?.bytes ?? bytes)
      } catch {
        return undefined
      }
    },
  },
  {
    name: 'crypto.x509.parse_keypair',
    impl: (cert, key) =>
      typeof cert === 'string' && typeof key === 'string' ? keyPair(cert, key) : undefined,
  },
  {
    name: 'crypto.x509.parse_rsa_private_key',
    impl: (s) => {
      if (typeof s !== 'string' || s === '') return undefined
      let text = s
      if (!s.startsWith('-----BEGIN')) {
        const d = goBase64Decode(s)
        if (d === undefined) return undefined
        text = d.toString('latin1')
      }
      try {
        const keys = privateKeysFromPem(text)
        if (keys.length === 0) return null
        // jwk.Import of the first key, marshalled: the JWK's members.
        return keys[0]!.export({ format: 'jwk' })
      } catch {
        return undefined
      }
    },
  },
  {
    name: 'crypto.parse_private_keys',
    impl: (s) => {
      if (typeof s !== 'string') return undefined
      if (s === '') return null
      try {
        return privateKeysFromPem(s).map(goPrivateKeyJson)
      } catch {
        return undefined
      }
    },
  },
]
