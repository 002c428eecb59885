import {
  constants,
  createHmac,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type JsonWebKey,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
  timingSafeEqual,
  X509Certificate,
} from 'node:crypto'
import type { HostBuiltin } from '../host-builtin.js'
import { compareNumbers } from '../rego-text.js'
import { parseJsonExact, RegoNumber, RegoSet, type RegoValue } from '../rego-value.js'
import { goJsonMarshal } from './go-json.js'
import { formatFloat } from './go-strconv.js'
import { pemDecodeAll } from './pem.js'

/**
 * `io.jwt.*` (OPA `topdown/tokens.go`) on node:crypto: decoding, signature verification with a
 * PEM certificate, PEM public key, JWK or JWK set, `decode_verify` with its constraints, and
 * signing with a JWK. Claims keep their exact numbers. Where OPA raises a builtin error the
 * builtin answers undefined.
 */

type JsonObject = { [key: string]: RegoValue }

const ALGORITHMS = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'HS256',
  'HS384',
  'HS512',
  'EdDSA',
])

const isObject = (x: RegoValue | undefined): x is JsonObject =>
  x !== null &&
  x !== undefined &&
  typeof x === 'object' &&
  !Array.isArray(x) &&
  !(x instanceof RegoSet) &&
  !(x instanceof RegoNumber) &&
  !(x instanceof Map)

/** OPA's `base64url.decode`: padding added when missing, Go's URL alphabet, CR/LF ignored. */
export function base64UrlDecode(input: string): Buffer | undefined {
  let s = input
  if (!s.endsWith('=')) {
    const r = s.length % 4
    if (r === 2) s += '=='
    else if (r === 3) s += '='
    else if (r === 1) return undefined
  }
  s = s.replace(/[\r\n]/g, '')
  if (!/^[A-Za-z0-9_-]*(?:={0,2})$/.test(s) || s.length % 4 !== 0) return undefined
  return Buffer.from(s, 'base64url')
}

const latin1 = (b: Buffer) => b.toString('latin1')
const text = (b: Buffer) => b.toString('utf8')

/** A JSON object from text (OPA's `extractJSONObject`), or undefined. */
function jsonObject(s: string): JsonObject | undefined {
  try {
    const v = parseJsonExact(s)
    return isObject(v) ? v : undefined
  } catch {
    return undefined
  }
}

interface Token {
  header: string
  payload: string
  signature: string
}

function splitToken(jwt: unknown): Token | undefined {
  if (typeof jwt !== 'string' || !jwt.includes('.')) return undefined
  const parts = jwt.split('.')
  if (parts.length !== 3) return undefined
  return { header: parts[0]!, payload: parts[1]!, signature: parts[2]! }
}

/** The decoded header, refused for a JWE (`enc`). */
function decodeHeader(t: Token): JsonObject | undefined {
  const raw = base64UrlDecode(t.header)
  const header = raw === undefined ? undefined : jsonObject(text(raw))
  return header === undefined || Object.hasOwn(header, 'enc') ? undefined : header
}

interface Header {
  alg: string
  kid: string
  cty: string
  valid: boolean
}

/** OPA's `parseTokenHeader` + `valid()`; undefined where OPA errors (a typed field of the wrong type). */
function parseHeader(h: JsonObject): Header | undefined {
  const out: Header = { alg: '', kid: '', cty: '', valid: true }
  const unknown: string[] = []
  let crit: Set<string> | undefined
  for (const [k, v] of Object.entries(h)) {
    if (k === 'alg' || k === 'kid' || k === 'typ' || k === 'cty') {
      if (typeof v !== 'string') return undefined
      if (k !== 'typ') out[k] = v
    } else if (k === 'crit') {
      if (!Array.isArray(v)) return undefined
      crit = new Set(v.filter((x): x is string => typeof x === 'string'))
      if (crit.size === 0) return undefined
    } else {
      unknown.push(k)
    }
  }
  out.valid = out.alg !== '' && !unknown.some((u) => crit?.has(u))
  return out
}

interface VerificationKey {
  alg: string
  kid: string
  key: KeyObject
}

/** OPA's `parseKeysFromCertOrJWK`: a PEM certificate or public key, or a JWK or JWK set. */
function parseKeys(material: string): VerificationKey[] | undefined {
  // Go's pem.Decode, linear on any text (a regex for BEGIN…END is quadratic on many BEGIN lines).
  const { blocks, rest } = pemDecodeAll(material)
  if (blocks.length > 0) {
    // OPA: "extra data after a PEM block" (a second block counts as extra data).
    if (blocks.length !== 1 || rest !== '') return undefined
    const block = blocks[0]
    try {
      if (block.type === 'CERTIFICATE')
        return [{ alg: '', kid: '', key: new X509Certificate(block.bytes).publicKey }]
      if (block.type === 'PUBLIC KEY') {
        return [{ alg: '', kid: '', key: createPublicKey({ key: block.bytes, format: 'der', type: 'spki' }) }]
      }
    } catch {
      return undefined
    }
    return undefined
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(material)
  } catch {
    return undefined
  }
  if (parsed === null || typeof parsed !== 'object') return undefined
  const list = Array.isArray((parsed as { keys?: unknown }).keys)
    ? ((parsed as { keys: unknown[] }).keys as JsonWebKey[])
    : [parsed as JsonWebKey]
  const keys: VerificationKey[] = []
  for (const jwk of list) {
    const key = jwkKey(jwk, false)
    if (key === undefined) return undefined
    const alg = typeof jwk.alg === 'string' ? jwk.alg : ''
    if (alg !== '' && !ALGORITHMS.has(alg)) continue
    keys.push({ alg, kid: typeof jwk.kid === 'string' ? jwk.kid : '', key })
  }
  return keys
}

/** A node:crypto key from a JWK: public (or private when `priv`) for RSA, EC, OKP; secret for oct. */
function jwkKey(jwk: JsonWebKey, priv: boolean): KeyObject | undefined {
  try {
    if (jwk.kty === 'oct') {
      return typeof jwk.k === 'string' ? createSecretKey(Buffer.from(jwk.k, 'base64url')) : undefined
    }
    if (priv) return createPrivateKey({ key: jwk, format: 'jwk' })
    // A private JWK also carries the public key.
    return createPublicKey({ key: jwk, format: 'jwk' })
  } catch {
    return undefined
  }
}

const hashOf = (alg: string): string | undefined =>
  ({ '256': 'sha256', '384': 'sha384', '512': 'sha512' })[alg.slice(2)]

/** ECDSA `r || s` halves as DER, so a signature of any length verifies as Go's split does. */
function ecdsaDer(sig: Buffer): Buffer {
  const half = sig.length >> 1
  const int = (b: Buffer): Buffer => {
    let i = 0
    while (i < b.length - 1 && b[i] === 0) i++
    let v = b.subarray(i)
    if (v.length === 0) v = Buffer.from([0])
    if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v])
    return Buffer.concat([Buffer.from([0x02]), derLength(v.length), v])
  }
  const body = Buffer.concat([int(sig.subarray(0, half)), int(sig.subarray(half))])
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body])
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  for (let x = n; x > 0; x >>= 8) bytes.unshift(x & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

/** Verifies `data` against `sig` for a JWS algorithm; false for a key of the wrong kind. */
function verifyWith(alg: string, key: KeyObject, data: Buffer, sig: Buffer): boolean {
  try {
    const family = alg.slice(0, 2)
    if (alg === 'EdDSA') {
      return key.type === 'public' && key.asymmetricKeyType === 'ed25519' && nodeVerify(null, data, key, sig)
    }
    const hash = hashOf(alg)
    if (hash === undefined) return false
    if (family === 'HS') {
      if (key.type !== 'secret') return false
      const mac = createHmac(hash, key).update(data).digest()
      return mac.length === sig.length && timingSafeEqual(mac, sig)
    }
    if (key.type !== 'public') return false
    if (family === 'RS' && key.asymmetricKeyType === 'rsa') return nodeVerify(hash, data, key, sig)
    if (family === 'PS' && (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss')) {
      return nodeVerify(
        hash,
        data,
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
        sig,
      )
    }
    if (family === 'ES' && key.asymmetricKeyType === 'ec') {
      return sig.length > 0 && nodeVerify(hash, data, { key, dsaEncoding: 'der' }, ecdsaDer(sig))
    }
    return false
  } catch {
    return false
  }
}

/** OPA's `builtinJWTVerify` for `io.jwt.verify_<alg>` with a certificate or key (set). */
function verifyWithKeys(alg: string, jwt: unknown, material: unknown): boolean | undefined {
  const t = splitToken(jwt)
  if (t === undefined || typeof material !== 'string') return undefined
  const keys = parseKeys(material)
  if (keys === undefined) return undefined
  const sig = base64UrlDecode(t.signature)
  const h = decodeHeader(t)
  const header = h === undefined ? undefined : parseHeader(h)
  if (sig === undefined || header === undefined) return undefined
  const data = Buffer.from(`${t.header}.${t.payload}`)
  if (header.kid !== '') {
    const byKid = keys.find((k) => k.kid === header.kid)
    if (byKid !== undefined) return verifyWith(alg, byKid.key, data, sig)
  }
  return keys.some((k) => (k.alg === '' || k.alg === header.alg) && verifyWith(alg, k.key, data, sig))
}

function verifyHs(alg: string, jwt: unknown, secret: unknown): boolean | undefined {
  if (typeof jwt !== 'string' || typeof secret !== 'string') return undefined
  const t = splitToken(jwt)
  if (t === undefined) return undefined
  const sig = base64UrlDecode(t.signature)
  if (sig === undefined) return undefined
  return verifyWith(
    alg,
    createSecretKey(Buffer.from(secret, 'utf8')),
    Buffer.from(`${t.header}.${t.payload}`),
    sig,
  )
}

/** `io.jwt.decode`: `[header, payload, signature hex]`, following a nested JWT (`cty: JWT`). */
function decode(jwt: unknown): RegoValue | undefined {
  const t = splitToken(jwt)
  if (t === undefined) return undefined
  const header = decodeHeader(t)
  const p = base64UrlDecode(t.payload)
  if (header === undefined || p === undefined) return undefined
  if (header.cty === 'JWT') return decode(text(p).replace(/^["']+|["']+$/g, ''))
  const payload = jsonObject(text(p))
  const sig = base64UrlDecode(t.signature)
  if (payload === undefined || sig === undefined) return undefined
  return [header, payload, sig.toString('hex')]
}

interface Constraints {
  keys?: VerificationKey[]
  secret: string
  alg: string
  iss: string
  aud: string
  time: number
}

function constraintsOf(o: RegoValue, now: () => number): Constraints | undefined {
  if (!isObject(o)) return undefined
  const c: Constraints = { secret: '', alg: '', iss: '', aud: '', time: -1 }
  for (const [k, v] of Object.entries(o)) {
    switch (k) {
      case 'cert': {
        if (typeof v !== 'string') return undefined
        const keys = parseKeys(v)
        if (keys === undefined) return undefined
        c.keys = keys
        break
      }
      case 'secret':
      case 'alg':
      case 'iss':
      case 'aud':
        if (typeof v !== 'string') return undefined
        c[k] = v
        break
      case 'time': {
        if (!(v instanceof RegoNumber)) return undefined
        const t = v.toNumber()
        if (!Number.isFinite(t) || t < 0) return undefined
        c.time = t
        break
      }
      default:
        return undefined
    }
  }
  if (c.time === -1) c.time = now()
  // Exactly one of cert and secret.
  if ((c.keys !== undefined ? 1 : 0) + (c.secret !== '' ? 1 : 0) !== 1) return undefined
  return c
}

function verifyConstraints(c: Constraints, header: Header, data: Buffer, sig: Buffer): boolean {
  if (c.keys !== undefined) {
    if (header.kid !== '') {
      const byKid = c.keys.find((k) => k.kid === header.kid)
      if (byKid !== undefined) return verifyWith(header.alg, byKid.key, data, sig)
    }
    return c.keys.some(
      (k) => (k.alg === '' || k.alg === header.alg) && verifyWith(header.alg, k.key, data, sig),
    )
  }
  return verifyWith(header.alg, createSecretKey(Buffer.from(c.secret, 'utf8')), data, sig)
}

/** `io.jwt.decode_verify`: `[valid, header, payload]`, or `[false, {}, {}]`. */
function decodeVerify(jwt: RegoValue, constraints: RegoValue, now: () => number): RegoValue | undefined {
  const c = constraintsOf(constraints, now)
  if (c === undefined) return undefined
  const unverified: RegoValue = [false, {}, {}]
  let current: RegoValue = jwt
  let token: Token | undefined
  let header: JsonObject | undefined
  let p: Buffer | undefined
  for (;;) {
    token = splitToken(current)
    if (token === undefined) return undefined
    header = decodeHeader(token)
    if (header === undefined) return undefined
    const h = parseHeader(header)
    if (h === undefined) return undefined
    if (!h.valid) return unverified
    if (c.alg !== '' && c.alg !== h.alg) return unverified
    const sig = base64UrlDecode(token.signature)
    if (sig === undefined) return undefined
    if (!verifyConstraints(c, h, Buffer.from(`${token.header}.${token.payload}`), sig)) return unverified
    p = base64UrlDecode(token.payload)
    if (p === undefined) return undefined
    if (h.cty.toUpperCase() === 'JWT') {
      current = latin1(p)
      continue
    }
    break
  }
  const payload = jsonObject(text(p))
  if (payload === undefined) return undefined
  if (c.iss !== '' && payload.iss !== c.iss) return unverified
  const aud = payload.aud
  if (aud !== undefined) {
    const ok = typeof aud === 'string' ? aud === c.aud : Array.isArray(aud) && aud.some((a) => a === c.aud)
    if (!ok) return unverified
  } else if (c.aud !== '') {
    return unverified
  }
  // Seconds since the epoch as Go prints the float64 (shortest 'g'), compared exactly.
  const nowSeconds = new RegoNumber(formatFloat(c.time / 1e9, 'g', -1))
  if (payload.exp !== undefined) {
    if (!(payload.exp instanceof RegoNumber)) return undefined
    if (compareNumbers(nowSeconds, payload.exp) !== -1) return unverified
  }
  if (payload.nbf !== undefined) {
    if (!(payload.nbf instanceof RegoNumber)) return undefined
    if (compareNumbers(nowSeconds, payload.nbf) === -1) return unverified
  }
  return [true, header, payload]
}

/** OPA's `commonBuiltinJWTEncodeSign`: sign `header.payload` with the first key of a JWK (set). */
function encodeSign(headerText: string, payloadText: string, jwkText: string): string | undefined {
  let jwks: unknown
  let header: unknown
  try {
    jwks = JSON.parse(jwkText)
    header = JSON.parse(headerText)
  } catch {
    return undefined
  }
  if (jwks === null || typeof jwks !== 'object' || header === null || typeof header !== 'object')
    return undefined
  const list = Array.isArray((jwks as { keys?: unknown }).keys)
    ? (jwks as { keys: JsonWebKey[] }).keys
    : [jwks as JsonWebKey]
  const jwk = list[0]
  const alg = (header as { alg?: unknown }).alg
  if (jwk === undefined || typeof alg !== 'string' || !ALGORITHMS.has(alg)) return undefined
  const typ = (header as { typ?: unknown }).typ
  if (typeof typ !== 'string' || typ === 'JWT') {
    try {
      JSON.parse(payloadText)
    } catch {
      return undefined
    }
  }
  const key = jwkKey(jwk, jwk.kty !== 'oct')
  if (key === undefined) return undefined
  const input = `${Buffer.from(headerText).toString('base64url')}.${Buffer.from(payloadText).toString('base64url')}`
  const data = Buffer.from(input)
  let sig: Buffer
  try {
    const hash = hashOf(alg)
    const family = alg.slice(0, 2)
    if (alg === 'EdDSA') sig = nodeSign(null, data, key)
    else if (family === 'HS') {
      if (key.type !== 'secret') return undefined
      sig = createHmac(hash!, key).update(data).digest()
    } else if (family === 'PS') {
      sig = nodeSign(hash!, data, {
        key,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
      })
    } else if (family === 'ES') sig = nodeSign(hash!, data, { key, dsaEncoding: 'ieee-p1363' })
    else sig = nodeSign(hash!, data, key)
  } catch {
    return undefined
  }
  return `${input}.${sig.toString('base64url')}`
}

const verifier = (alg: string): HostBuiltin => ({
  name: `io.jwt.verify_${alg.toLowerCase()}`,
  impl: (jwt, key) => (alg.startsWith('HS') ? verifyHs(alg, jwt, key) : verifyWithKeys(alg, jwt, key)),
})

/** The `io.jwt.*` builtins. */
export const jwtBuiltins: readonly HostBuiltin[] = [
  { name: 'io.jwt.decode', values: 'rego', impl: (jwt) => decode(jwt as RegoValue) },
  {
    name: 'io.jwt.decode_verify',
    values: 'rego',
    clock: true,
    impl: (jwt, constraints, now) =>
      decodeVerify(jwt as RegoValue, constraints as RegoValue, now as () => number),
  },
  ...[
    'RS256',
    'RS384',
    'RS512',
    'PS256',
    'PS384',
    'PS512',
    'ES256',
    'ES384',
    'ES512',
    'HS256',
    'HS384',
    'HS512',
  ].map(verifier),
  { name: 'io.jwt.verify_eddsa', impl: (jwt, key) => verifyWithKeys('EdDSA', jwt, key) },
  {
    name: 'io.jwt.encode_sign_raw',
    // ECDSA and RSA-PSS signatures are randomised: OPA records them, so does the engine.
    nondeterministic: true,
    impl: (h, p, k) =>
      typeof h === 'string' && typeof p === 'string' && typeof k === 'string'
        ? encodeSign(h, p, k)
        : undefined,
  },
  {
    name: 'io.jwt.encode_sign',
    nondeterministic: true,
    values: 'rego',
    impl: (h, p, k) =>
      isObject(h as RegoValue) && isObject(k as RegoValue)
        ? encodeSign(
            goJsonMarshal(h as RegoValue),
            goJsonMarshal(p as RegoValue),
            goJsonMarshal(k as RegoValue),
          )
        : undefined,
  },
]
