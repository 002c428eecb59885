import { hash } from 'node:crypto'
import { decodeJwt, decodeProtectedHeader, type JWTVerifyGetKey, jwtVerify } from 'jose'
import { McpPolicyError, type McpPolicyErrorCode } from '../errors.js'
import {
  type ClaimMapping,
  defaultAlgorithms,
  type IdentityConfig,
  supportedAlgorithms,
} from './identity-config.js'
import { issuerKeys } from './issuer-keys.js'
import { quoteUntrusted as quote } from './quote-untrusted.js'
import { type RejectionReason, rejectionReason } from './rejection-reason.js'
import type { Subject } from './subject.js'
import { subjectFromClaims } from './subject-from-claims.js'
import { type SubjectCacheStats, VerifiedSubjectCache } from './verified-subject-cache.js'

interface TrustedIssuer {
  issuer: string
  algorithms: string[]
  allowed: ReadonlySet<string>
  keys: JWTVerifyGetKey
  typ: string | undefined
  claims: ClaimMapping | undefined
}

// Base64url segments; the signature may be empty only so that `alg: none` is reported as the
// algorithm rejection it is rather than as a malformed token.
const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/**
 * Verifies bearer tokens into `input.subject` (input document v1): the issuer allowlist, the
 * issuer's JWKS, its algorithm allowlist, `aud` naming this server's resource (RFC 8707),
 * `exp`/`nbf`/`iat` within the clock skew, RFC 9068 `typ` when configured, and a `sub`; then the
 * configured claim mapping. Verified subjects are cached (by the SHA-256 of the signature plus the
 * exact signing input, never the token itself) until `exp`, so
 * a busy session pays for one signature check, not one per call. Failures are not cached.
 *
 * One instance per worker: it holds the JWKS and subject caches and nothing is shared between
 * instances.
 *
 * @throws McpPolicyError `ERR_IDENTITY_CONFIG_INVALID` from the constructor when the configuration is invalid (no issuer key source,
 *   a duplicate issuer, `none` or an HS* algorithm).
 * @example
 * ```ts
 * const verifier = new TokenVerifier({
 *   issuers: [{ issuer: 'https://idp.example.com', jwksUri: 'https://idp.example.com/jwks', requireAtJwt: true }],
 * })
 * const subject = await verifier.verify(bearerToken, 'https://mcp.example.com/github')
 * if (!subject.authenticated) console.log(subject.reason?.code) // e.g. ERR_IDENTITY_TOKEN_EXPIRED
 * ```
 */
export class TokenVerifier {
  readonly #issuers = new Map<string, TrustedIssuer>()
  readonly #skew: number
  readonly #maxTokenBytes: number
  readonly #cache: VerifiedSubjectCache

  constructor(config: IdentityConfig) {
    this.#skew = nonNegative(config.clockSkewSeconds, 60, 'clockSkewSeconds')
    this.#maxTokenBytes = nonNegative(config.maxTokenBytes, 16_384, 'maxTokenBytes')
    this.#cache = new VerifiedSubjectCache(nonNegative(config.cacheMaxEntries, 10_000, 'cacheMaxEntries'))
    const keyOptions = {
      timeoutMs: nonNegative(config.jwksTimeoutMs, 5_000, 'jwksTimeoutMs'),
      cooldownMs: nonNegative(config.jwksCooldownMs, 30_000, 'jwksCooldownMs'),
    }
    if (!Array.isArray(config.issuers))
      throw new McpPolicyError('ERR_IDENTITY_CONFIG_INVALID', 'identity: issuers must be an array')
    for (const issuer of config.issuers) {
      if (typeof issuer.issuer !== 'string' || issuer.issuer === '')
        throw new McpPolicyError(
          'ERR_IDENTITY_CONFIG_INVALID',
          'identity: every issuer needs a non-empty issuer string',
        )
      if (this.#issuers.has(issuer.issuer))
        throw new McpPolicyError(
          'ERR_IDENTITY_CONFIG_INVALID',
          `identity: issuer ${issuer.issuer} is listed twice`,
        )
      const algorithms = [...(issuer.algorithms ?? defaultAlgorithms)]
      for (const alg of algorithms) {
        if (!supportedAlgorithms.includes(alg)) {
          throw new McpPolicyError(
            'ERR_IDENTITY_CONFIG_INVALID',
            `identity: issuer ${issuer.issuer}: algorithm ${alg} is not supported (asymmetric only: ${supportedAlgorithms.join(', ')})`,
          )
        }
      }
      if (algorithms.length === 0)
        throw new McpPolicyError(
          'ERR_IDENTITY_CONFIG_INVALID',
          `identity: issuer ${issuer.issuer}: algorithms is empty`,
        )
      this.#issuers.set(issuer.issuer, {
        issuer: issuer.issuer,
        algorithms,
        allowed: new Set(algorithms),
        keys: issuerKeys(issuer, keyOptions),
        typ: issuer.requireAtJwt ? 'at+jwt' : undefined,
        claims: issuer.claims,
      })
    }
  }

  /**
   * Verifies a bearer token (the compact JWT, without the `Bearer ` prefix) for the server whose
   * resource URI is `audience`. Never throws: a token that fails any check gives
   * `authenticated: false`, a reason, and no claims. A verified subject is frozen, nested values
   * included, because the cache shares it between calls.
   *
   * @param now the verification time (defaults to the current time); `token.age_s` is computed from it.
   * @example
   * ```ts
   * const subject = await verifier.verify(token, 'https://mcp.example.com/github')
   * subject.authenticated ? subject.roles : subject.reason
   * ```
   */
  async verify(token: string | undefined, audience: string, now: Date = new Date()): Promise<Subject> {
    try {
      const found = this.#lookup(token, audience, now, true)
      // #lookup returns a subject on a hit, else the key to cache this token's verification under.
      if (typeof found !== 'string') return found
      return await this.#verifyUncached(token as string, audience, now, found)
    } catch (err) {
      return rejected(scrub(rejectionReason(err), token))
    }
  }

  /**
   * The subject for a token this verifier has already verified for `audience` and whose
   * validity window includes `now`, without a promise; `undefined` when the token needs a full
   * {@link verify} (never cached, expired from the cache, or not a token at all). Hot paths call
   * this first: a busy session's calls then cost a digest and a map lookup.
   *
   * @example
   * ```ts
   * const subject = verifier.cached(token, audience) ?? (await verifier.verify(token, audience))
   * ```
   */
  cached(token: string | undefined, audience: string, now: Date = new Date()): Subject | undefined {
    try {
      // A miss here is counted by the verify() that follows it.
      const found = this.#lookup(token, audience, now, false)
      return typeof found === 'string' ? undefined : found
    } catch {
      return undefined
    }
  }

  // The cached subject, or the cache key to store a fresh verification under.
  #lookup(token: string | undefined, audience: string, now: Date, countMiss: boolean): Subject | string {
    if (token === undefined || token === '')
      fail('ERR_IDENTITY_TOKEN_MISSING', 'no bearer token was presented')
    if (typeof token !== 'string') fail('ERR_IDENTITY_TOKEN_MALFORMED', 'the token is not a string')
    // Checked on the UTF-16 length before anything is hashed or decoded; a non-ASCII token is
    // rejected as malformed later.
    if (token.length > this.#maxTokenBytes)
      fail('ERR_IDENTITY_TOKEN_TOO_LARGE', `token is ${token.length} bytes, more than ${this.#maxTokenBytes}`)
    if (typeof audience !== 'string' || audience === '')
      fail('ERR_IDENTITY_AUDIENCE_MISMATCH', 'this server has no resource URI to match "aud" against')
    const nowSeconds = Math.floor(now.getTime() / 1000)
    // An invalid date would compare false against every bound and pass them all.
    if (!Number.isFinite(nowSeconds))
      fail(
        'ERR_IDENTITY_CLAIMS_INVALID',
        'the verification time is not a valid date: exp/nbf cannot be checked',
      )
    // Keyed by the digest of the signature, not by the token: the cache must not become a store of
    // live credentials. A hit must also carry the exact signing input (header.payload, which
    // alone is no credential), so the whole token is compared. Only tokens that passed the
    // compact-JWS check (ASCII) are ever stored, and a string with lone surrogates encodes to
    // non-ASCII bytes, so no other string can share a stored digest.
    const dot = token.lastIndexOf('.')
    const key = `${hash('sha256', token.slice(dot + 1), 'base64url')} ${audience}`
    if (dot <= 0) return key
    const cached = this.#cache.get(key, token.slice(0, dot), nowSeconds, countMiss)
    if (cached === undefined) return key
    // Calls within the same second share one frozen subject: only `token.age_s` changes over time.
    if (cached.aged?.at !== nowSeconds)
      cached.aged = { at: nowSeconds, subject: withAge(cached.subject, nowSeconds) }
    return cached.aged.subject
  }

  /**
   * Size and hit/miss counters of the verified-subject cache, for metrics.
   *
   * @example
   * ```ts
   * const { hits, misses, entries } = verifier.cacheStats()
   * ```
   */
  cacheStats(): SubjectCacheStats {
    return this.#cache.stats()
  }

  async #verifyUncached(token: string, audience: string, now: Date, key: string): Promise<Subject> {
    const nowSeconds = Math.floor(now.getTime() / 1000)
    if (!compactJws.test(token))
      fail('ERR_IDENTITY_TOKEN_MALFORMED', 'token is not a compact JWS (three base64url segments)')
    let alg: unknown
    let iss: unknown
    try {
      alg = decodeProtectedHeader(token).alg
      iss = decodeJwt(token).iss
    } catch (err) {
      fail(
        'ERR_IDENTITY_TOKEN_MALFORMED',
        `token header or payload is not valid JSON: ${(err as Error).message}`,
      )
    }
    if (typeof alg !== 'string' || alg === '')
      fail('ERR_IDENTITY_TOKEN_MALFORMED', 'token header has no "alg"')
    if (alg.toLowerCase() === 'none')
      fail('ERR_IDENTITY_ALGORITHM_REJECTED', 'unsigned tokens (alg none) are refused')
    if (typeof iss !== 'string') fail('ERR_IDENTITY_ISSUER_UNKNOWN', 'token has no "iss" claim')
    const issuer = this.#issuers.get(iss)
    if (!issuer) fail('ERR_IDENTITY_ISSUER_UNKNOWN', `issuer ${quote(iss)} is not trusted`)
    if (!issuer.allowed.has(alg))
      fail('ERR_IDENTITY_ALGORITHM_REJECTED', `alg ${quote(alg)} is not allowed for issuer ${issuer.issuer}`)

    const { payload } = await jwtVerify(token, issuer.keys, {
      issuer: issuer.issuer,
      audience,
      algorithms: issuer.algorithms,
      typ: issuer.typ,
      clockTolerance: this.#skew,
      currentDate: now,
      // Without exp a token would be valid (and cached) forever.
      requiredClaims: ['sub', 'exp'],
    })
    // jose checks a future iat only together with maxTokenAge; a token issued in the future is
    // as suspect as one with a future nbf.
    if (typeof payload.iat === 'number' && payload.iat > nowSeconds + this.#skew)
      fail('ERR_IDENTITY_TOKEN_NOT_YET_VALID', 'token "iat" is in the future, beyond the clock skew')

    const subject = deepFreeze(subjectFromClaims(payload as Record<string, unknown>, issuer.claims))
    const notBefore = Math.max(
      typeof payload.nbf === 'number' ? payload.nbf : Number.NEGATIVE_INFINITY,
      typeof payload.iat === 'number' ? payload.iat : Number.NEGATIVE_INFINITY,
    )
    this.#cache.set(key, {
      subject,
      signingInput: token.slice(0, token.lastIndexOf('.')),
      notAfter: (payload.exp as number) + this.#skew,
      notBefore: notBefore - this.#skew,
    })
    return withAge(subject, nowSeconds)
  }
}

function withAge(subject: Subject, nowSeconds: number): Subject {
  const token = subject.token
  if (token?.issued_at === undefined) return Object.freeze({ ...subject })
  return deepFreeze({ ...subject, token: { ...token, age_s: Math.max(0, nowSeconds - token.issued_at) } })
}

function rejected(reason: RejectionReason): Subject {
  return { authenticated: false, groups: [], roles: [], scopes: [], actor: null, claims: {}, reason }
}

// Last line of defence: no message path is meant to carry the token, but a message from an
// unexpected error must not become the one that logs a credential.
function scrub(reason: RejectionReason, token: unknown): RejectionReason {
  if (typeof token !== 'string' || token === '') return reason
  const signature = token.slice(token.lastIndexOf('.') + 1)
  const leaks =
    reason.message.includes(token) || (signature.length >= 16 && reason.message.includes(signature))
  return leaks ? { code: reason.code, message: 'token rejected' } : reason
}

function fail(code: McpPolicyErrorCode, message: string): never {
  throw new McpPolicyError(code, message)
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0)
    throw new McpPolicyError('ERR_IDENTITY_CONFIG_INVALID', `identity: ${name} must be a non-negative number`)
  return value
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const nested of Object.values(value)) deepFreeze(nested)
  }
  return value
}
