import { hash } from 'node:crypto'
import { decodeJwt, decodeProtectedHeader, type JWTVerifyGetKey, jwtVerify } from 'jose'
import { McpPolicyError, type McpPolicyErrorCode } from '../errors.js'
import { deepFreeze } from '../state/entry-bounds.js'
import type { CacheStats } from './cache-stats.js'
import {
  type ClaimMapping,
  defaultAlgorithms,
  type IdentityConfig,
  supportedAlgorithms,
} from './identity-config.js'
import { assertIdentityConfig } from './identity-config-schema.js'
import type { IdentityEvents } from './identity-events.js'
import { type IntrospectionAnswer, IntrospectionCache } from './introspection-cache.js'
import { IntrospectionClient } from './introspection-client.js'
import { issuerKeys } from './issuer-keys.js'
import { quoteUntrusted as quote } from './quote-untrusted.js'
import { type RejectionReason, rejectionReason } from './rejection-reason.js'
import type { RevocableToken, RevocationList } from './revocation-list.js'
import type { Subject } from './subject.js'
import { subjectFromClaims } from './subject-from-claims.js'
import { checkTokenPolicy, resolveTokenPolicy, type TokenPolicy } from './token-policy.js'
import { type CachedSubject, VerifiedSubjectCache } from './verified-subject-cache.js'

interface TrustedIssuer {
  issuer: string
  algorithms: string[]
  allowed: ReadonlySet<string>
  keys: JWTVerifyGetKey
  typ: string | undefined
  claims: ClaimMapping | undefined
  policy: TokenPolicy
  introspection: IssuerIntrospection | undefined
  revocationRequired: boolean
}

interface IssuerIntrospection {
  client: IntrospectionClient
  /** JWTs are introspected too (`mode: always`). */
  always: boolean
  ttlMs: number
  fallbackLocal: boolean
}

/** What a {@link TokenVerifier} works with besides its configuration. */
export interface TokenVerifierOptions {
  /**
   * The shared revocations, checked on every call (cached verifications included). Without it,
   * no revocation is checked (a library verifier on its own).
   */
  revocations?: RevocationList
  /** Callbacks for metrics. */
  events?: IdentityEvents
}

// Base64url segments; the signature may be empty only so that `alg: none` is reported as the
// algorithm rejection it is rather than as a malformed token.
const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
// RFC 6750 b64token: what an opaque bearer token may be made of.
const b64token = /^[A-Za-z0-9\-._~+/]+=*$/

/**
 * Verifies bearer tokens into `input.subject` (input document v1), in the order of DESIGN.md:
 * the issuer's token policy (`exp` present, lifetime within `maxTokenLifetime`, `auth_time`
 * within `maxAuthAge`, `jti` when required); then the issuer allowlist, the issuer's JWKS, its
 * algorithm allowlist, `aud` naming this server's resource (RFC 8707), `exp`/`nbf`/`iat` within
 * the clock skew, RFC 9068 `typ` when configured, and a `sub`; then RFC 7662 introspection where
 * configured (opaque tokens always, JWTs with `mode: always`); then the shared revocations
 * (subject, `sid`, `jti`, issued-before time); then the configured claim mapping.
 *
 * Verified subjects are cached (by the SHA-256 of the signature plus the exact signing input,
 * never the token itself) until `exp`, and never past an introspection answer's reuse or the
 * auth age limit, so a busy session pays for one signature check (or one introspection per TTL),
 * not one per call. Failures are not cached. The revocation check is not cached: it runs on every
 * call, hits included, against a view the state store keeps current.
 *
 * One instance per worker: it holds the JWKS, subject and introspection caches and nothing is
 * shared between instances except the revocations.
 *
 * @throws McpPolicyError `ERR_IDENTITY_CONFIG_INVALID` from the constructor when the configuration
 *   is invalid (fails `identityConfigSchema`, no issuer key source, a duplicate issuer, `none` or
 *   an HS* algorithm, a bad introspection endpoint or key, several introspecting issuers without
 *   `opaqueTokenIssuer`).
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
  readonly #introspectionCache: IntrospectionCache
  // One request per token at a time: a burst of calls with a new token waits on one answer.
  readonly #inflight = new Map<string, Promise<IntrospectionAnswer | undefined>>()
  readonly #opaqueIssuer: TrustedIssuer | undefined
  readonly #revocations: RevocationList | undefined
  readonly #events: IdentityEvents

  constructor(config: IdentityConfig, options: TokenVerifierOptions = {}) {
    if (!Array.isArray(config?.issuers))
      throw new McpPolicyError('ERR_IDENTITY_CONFIG_INVALID', 'identity: issuers must be an array')
    for (const issuer of config.issuers)
      if (typeof issuer?.issuer !== 'string' || issuer.issuer === '')
        throw new McpPolicyError(
          'ERR_IDENTITY_CONFIG_INVALID',
          'identity: every issuer needs a non-empty issuer string',
        )
    assertIdentityConfig(config)
    this.#revocations = options.revocations
    this.#events = options.events ?? {}
    this.#skew = nonNegative(config.clockSkewSeconds, 60, 'clockSkewSeconds')
    this.#maxTokenBytes = nonNegative(config.maxTokenBytes, 16_384, 'maxTokenBytes')
    const cacheMaxEntries = nonNegative(config.cacheMaxEntries, 10_000, 'cacheMaxEntries')
    this.#cache = new VerifiedSubjectCache(cacheMaxEntries)
    this.#introspectionCache = new IntrospectionCache(cacheMaxEntries)
    const keyOptions = {
      timeoutMs: nonNegative(config.jwksTimeoutMs, 5_000, 'jwksTimeoutMs'),
      cooldownMs: nonNegative(config.jwksCooldownMs, 30_000, 'jwksCooldownMs'),
    }
    for (const issuer of config.issuers) {
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
      const introspection = issuer.introspection
      this.#issuers.set(issuer.issuer, {
        issuer: issuer.issuer,
        algorithms,
        allowed: new Set(algorithms),
        keys: issuerKeys(issuer, keyOptions),
        typ: issuer.requireAtJwt ? 'at+jwt' : undefined,
        claims: issuer.claims,
        policy: resolveTokenPolicy(issuer),
        introspection: introspection && {
          client: new IntrospectionClient(issuer.issuer, introspection),
          always: introspection.mode === 'always',
          ttlMs: (introspection.cacheTtlSeconds ?? 30) * 1000,
          fallbackLocal: introspection.fallback === 'local',
        },
        revocationRequired: issuer.revocation !== 'optional',
      })
    }
    this.#opaqueIssuer = this.#resolveOpaqueIssuer(config.opaqueTokenIssuer)
  }

  // A token is sent only to an issuer that may have issued it: with several introspecting
  // issuers, the configuration names the one that receives opaque tokens.
  #resolveOpaqueIssuer(named: string | undefined): TrustedIssuer | undefined {
    const introspecting = [...this.#issuers.values()].filter((issuer) => issuer.introspection)
    if (named !== undefined) {
      const issuer = this.#issuers.get(named)
      if (!issuer?.introspection)
        throw new McpPolicyError(
          'ERR_IDENTITY_CONFIG_INVALID',
          `identity: opaqueTokenIssuer ${named} is not an issuer with introspection`,
        )
      return issuer
    }
    if (introspecting.length > 1)
      throw new McpPolicyError(
        'ERR_IDENTITY_CONFIG_INVALID',
        `identity: issuers ${introspecting.map((i) => i.issuer).join(', ')} all configure introspection: set opaqueTokenIssuer to the one that receives opaque tokens`,
      )
    return introspecting[0]
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
      // A miss here is counted by the verify() that follows it. A hit that the revocation check
      // refuses is an answer too (an unauthenticated subject), so it is not checked twice.
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
    // compact-JWS or the RFC 6750 b64token check (ASCII) are ever stored, and a string with lone
    // surrogates encodes to non-ASCII bytes, so no other string can share a stored digest. An
    // opaque token without a dot has the empty signing input: its digest covers all of it.
    const dot = token.lastIndexOf('.')
    const key = `${hash('sha256', token.slice(dot + 1), 'base64url')} ${audience}`
    if (dot === 0) return key
    const cached = this.#cache.get(key, signingInputOf(token), nowSeconds, countMiss)
    if (cached === undefined) return key
    // Calls within the same second share one frozen subject: only `token.age_s` changes over time.
    if (cached.aged?.at !== nowSeconds)
      cached.aged = { at: nowSeconds, subject: withAge(cached.subject, nowSeconds) }
    return this.#revocationChecked(cached.revocable, cached.aged.subject, now.getTime())
  }

  /**
   * The subject, unless a revocation names its token, session or subject (then a rejection), or
   * the revocation state cannot be read (then a rejection for an issuer with `revocation:
   * required`, the subject marked `token.revocation: "unchecked"` for one with `optional`).
   */
  #revocationChecked(facts: CachedSubject['revocable'], subject: Subject, nowMs: number): Subject {
    const revocations = this.#revocations
    if (revocations === undefined) return subject
    if (!revocations.available) {
      if (this.#issuers.get(facts.issuer)?.revocationRequired !== false) {
        this.#events.revocationUnavailable?.(facts.issuer, 'denied')
        return rejected({
          code: 'ERR_IDENTITY_REVOCATION_UNAVAILABLE',
          message: `the revocation state cannot be read (${revocations.store.backend} store unavailable) and issuer ${facts.issuer} requires it`,
        })
      }
      this.#events.revocationUnavailable?.(facts.issuer, 'verified_locally')
      return subject.token
        ? deepFreeze({ ...subject, token: { ...subject.token, revocation: 'unchecked' as const } })
        : subject
    }
    const revocation = revocations.match(facts.issuer, facts, nowMs)
    if (revocation === undefined) return subject
    this.#events.revoked?.(facts.issuer, revocation.kind)
    const what =
      revocation.kind === 'token'
        ? 'token (jti)'
        : revocation.kind === 'session'
          ? 'session (sid)'
          : revocation.kind === 'email'
            ? 'e-mail address'
            : 'subject'
    return rejected({
      code: 'ERR_IDENTITY_TOKEN_REVOKED',
      message: `the token's ${what} was revoked (${quote(revocation.event)} at ${new Date(revocation.at).toISOString()})`,
    })
  }

  /**
   * Size and hit/miss counters of the verified-subject cache, for metrics.
   *
   * @example
   * ```ts
   * const { hits, misses, entries } = verifier.cacheStats()
   * ```
   */
  cacheStats(): CacheStats {
    return this.#cache.stats()
  }

  /**
   * Size and hit/miss counters of the introspection answer cache, for metrics.
   *
   * @example
   * ```ts
   * const { hits, misses } = verifier.introspectionCacheStats()
   * ```
   */
  introspectionCacheStats(): CacheStats {
    return this.#introspectionCache.stats()
  }

  async #verifyUncached(token: string, audience: string, now: Date, key: string): Promise<Subject> {
    const nowSeconds = Math.floor(now.getTime() / 1000)
    if (!compactJws.test(token)) return this.#verifyOpaque(token, audience, now, key)
    let alg: unknown
    let claims: Record<string, unknown>
    try {
      alg = decodeProtectedHeader(token).alg
      claims = decodeJwt(token)
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
    const iss = claims.iss
    if (typeof iss !== 'string') fail('ERR_IDENTITY_ISSUER_UNKNOWN', 'token has no "iss" claim')
    const issuer = this.#issuers.get(iss)
    if (!issuer) fail('ERR_IDENTITY_ISSUER_UNKNOWN', `issuer ${quote(iss)} is not trusted`)
    if (!issuer.allowed.has(alg))
      fail('ERR_IDENTITY_ALGORITHM_REJECTED', `alg ${quote(alg)} is not allowed for issuer ${issuer.issuer}`)
    // The token policy first (DESIGN: lifetime, exp, auth age, then the signature): refusing a
    // token needs no signature check, and a day-long token is refused whoever signed it.
    const authValidUntil = checkTokenPolicy(issuer.policy, issuer.issuer, claims, nowSeconds, this.#skew)

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

    let notAfter = Math.min((payload.exp as number) + this.#skew, authValidUntil)
    if (issuer.introspection?.always) {
      const answer = await this.#introspect(issuer, issuer.introspection, token, now.getTime(), true)
      if (answer && !answer.active) inactive(issuer.issuer)
      // Never served from the cache past the answer's reuse (or, after a fallback to local
      // verification, past one TTL: the endpoint is asked again then).
      notAfter = Math.min(
        notAfter,
        answer ? Math.floor(answer.until / 1000) : nowSeconds + issuer.introspection.ttlMs / 1000,
      )
    }
    return this.#accept(
      issuer,
      payload as Record<string, unknown>,
      token,
      key,
      nowSeconds,
      notAfter,
      this.#skew,
    )
  }

  // RFC 7662: an opaque token is whatever its issuer's introspection endpoint says it is.
  async #verifyOpaque(token: string, audience: string, now: Date, key: string): Promise<Subject> {
    const issuer = this.#opaqueIssuer
    if (!issuer?.introspection || !b64token.test(token))
      fail('ERR_IDENTITY_TOKEN_MALFORMED', 'token is not a compact JWS (three base64url segments)')
    const nowSeconds = Math.floor(now.getTime() / 1000)
    const answer = (await this.#introspect(issuer, issuer.introspection, token, now.getTime(), false))!
    if (!answer.active) inactive(issuer.issuer)
    const { active: _, ...claims } = answer.claims as Record<string, unknown>
    if (claims.iss !== undefined && claims.iss !== issuer.issuer)
      fail(
        'ERR_IDENTITY_ISSUER_UNKNOWN',
        `the introspection answer names issuer ${quote(String(claims.iss))}, not ${issuer.issuer}`,
      )
    claims.iss = issuer.issuer
    // The same audience rule as for a JWT (RFC 8707): an answer without `aud` cannot show the
    // token was meant for this server.
    const aud = claims.aud
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : []
    if (!audiences.includes(audience))
      fail(
        'ERR_IDENTITY_AUDIENCE_MISMATCH',
        `token "aud" does not name this server's resource${aud === undefined ? ' (the introspection answer has no "aud")' : ''}`,
      )
    if (typeof claims.token_type === 'string' && claims.token_type.toLowerCase() === 'refresh_token')
      fail('ERR_IDENTITY_TYPE_INVALID', 'a refresh token is not an access token')
    const authValidUntil = checkTokenPolicy(issuer.policy, issuer.issuer, claims, nowSeconds, this.#skew)
    const exp = claims.exp as number
    if (exp + this.#skew <= nowSeconds)
      fail('ERR_IDENTITY_TOKEN_EXPIRED', 'token is expired ("exp" is past, beyond the clock skew)')
    for (const name of ['nbf', 'iat'] as const) {
      const value = claims[name]
      if (value !== undefined && typeof value !== 'number')
        fail('ERR_IDENTITY_CLAIMS_INVALID', `"${name}" claim must be a number`)
      if (typeof value === 'number' && value > nowSeconds + this.#skew)
        fail('ERR_IDENTITY_TOKEN_NOT_YET_VALID', `token "${name}" is in the future, beyond the clock skew`)
    }
    // The issuer vouched for the token now: served until its answer may no longer be reused.
    const notAfter = Math.min(exp, Math.floor(answer.until / 1000), authValidUntil)
    return this.#accept(issuer, claims, token, key, nowSeconds, notAfter, 0)
  }

  // The subject of a verified token: cached until `notAfter`, then checked against the revocations.
  #accept(
    issuer: TrustedIssuer,
    payload: Record<string, unknown>,
    token: string,
    key: string,
    nowSeconds: number,
    notAfter: number,
    skew: number,
  ): Subject {
    const subject = deepFreeze(subjectFromClaims(payload, issuer.claims))
    const notBefore = Math.max(
      typeof payload.nbf === 'number' ? payload.nbf : Number.NEGATIVE_INFINITY,
      typeof payload.iat === 'number' ? payload.iat : Number.NEGATIVE_INFINITY,
    )
    const revocable: CachedSubject['revocable'] = {
      issuer: issuer.issuer,
      sub: payload.sub as string,
      ...(typeof payload.sid === 'string' && { sid: payload.sid }),
      ...(typeof payload.jti === 'string' && { jti: payload.jti }),
      // As the issuer's claim mapping reads it: what a Shared Signals `email` subject is matched to.
      ...(subject.email !== undefined && { email: subject.email.toLowerCase() }),
      ...(typeof payload.iat === 'number' && { iat: payload.iat }),
    } satisfies RevocableToken & { issuer: string }
    this.#cache.set(key, {
      subject,
      signingInput: signingInputOf(token),
      notAfter,
      notBefore: notBefore - skew,
      revocable,
    })
    return this.#revocationChecked(revocable, withAge(subject, nowSeconds), nowSeconds * 1000)
  }

  /**
   * The issuer's answer for `token`: from the cache, from a request already in flight for it, or
   * from a new request. `undefined` when the endpoint failed and the issuer falls back to local
   * verification (a JWT only).
   *
   * @throws McpPolicyError `ERR_IDENTITY_INTROSPECTION_UNAVAILABLE` when it failed otherwise.
   */
  async #introspect(
    issuer: TrustedIssuer,
    introspection: IssuerIntrospection,
    token: string,
    nowMs: number,
    isJwt: boolean,
  ): Promise<IntrospectionAnswer | undefined> {
    const digest = `${hash('sha256', token, 'base64url')} ${issuer.issuer}`
    const cached = this.#introspectionCache.get(digest, nowMs)
    if (cached) return cached
    let pending = this.#inflight.get(digest)
    if (!pending) {
      pending = this.#requestIntrospection(issuer, introspection, token, digest, isJwt).finally(() =>
        this.#inflight.delete(digest),
      )
      this.#inflight.set(digest, pending)
    }
    return pending
  }

  async #requestIntrospection(
    issuer: TrustedIssuer,
    introspection: IssuerIntrospection,
    token: string,
    digest: string,
    isJwt: boolean,
  ): Promise<IntrospectionAnswer | undefined> {
    let response: Awaited<ReturnType<IntrospectionClient['introspect']>>
    try {
      response = await introspection.client.introspect(token)
    } catch (err) {
      if (isJwt && introspection.fallbackLocal) {
        this.#events.introspection?.(issuer.issuer, 'unavailable_local')
        return undefined
      }
      this.#events.introspection?.(issuer.issuer, 'unavailable_denied')
      throw err
    }
    const nowMs = Date.now()
    const exp = response.claims.exp
    // Reused for the TTL, and never past the token's own `exp`.
    const until = Math.min(
      nowMs + introspection.ttlMs,
      typeof exp === 'number' ? exp * 1000 : Number.POSITIVE_INFINITY,
    )
    const answer: IntrospectionAnswer = {
      active: response.active,
      claims: deepFreeze(response.claims),
      until,
    }
    this.#introspectionCache.set(digest, answer, nowMs)
    this.#events.introspection?.(issuer.issuer, response.active ? 'active' : 'inactive')
    return answer
  }
}

function signingInputOf(token: string): string {
  const dot = token.lastIndexOf('.')
  return dot < 0 ? '' : token.slice(0, dot)
}

function inactive(issuer: string): never {
  fail(
    'ERR_IDENTITY_TOKEN_REVOKED',
    `issuer ${issuer} reports the token inactive (RFC 7662 "active": false: revoked, expired or unknown)`,
  )
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
