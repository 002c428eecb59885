import { base64url, type JWTVerifyGetKey, jwtVerify } from 'jose'
import { McpPolicyError } from '../errors.js'
import { quoteUntrusted as quote } from '../identity/quote-untrusted.js'
import { parseMessageBody } from '../normalize/parse-message.js'

/** The event a logout token must carry (OIDC Back-Channel Logout 1.0 §2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'

/** An issuer whose logout tokens are accepted. */
export interface LogoutTokenIssuer {
  keys: JWTVerifyGetKey
  algorithms: string[]
  /** The OIDC clients (`aud`) logout tokens may be addressed to. */
  clientIds: string[]
}

/** What a logout token is checked against. */
export interface LogoutTokenChecks {
  issuers: ReadonlyMap<string, LogoutTokenIssuer>
  /** Oldest `iat` accepted, seconds before now (beyond the skew). */
  maxAgeSeconds: number
  skewSeconds: number
  /** Largest token, bytes. */
  maxBytes: number
  /** Epoch milliseconds. Default `Date.now()`. */
  now?: number
}

/** A logout token that passed every check of the specification. */
export interface VerifiedLogoutToken {
  issuer: string
  jti: string
  /** Epoch seconds. */
  iat: number
  /** The session that ended, when the token names one. */
  sid?: string
  /** The user, when the token names one. */
  sub?: string
}

const MAX_DEPTH = 16
const MAX_VALUE_LENGTH = 512
const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/**
 * Verifies an OIDC Back-Channel Logout 1.0 logout token (§2.6): a compact JWS (never `none`)
 * from a configured issuer, signed by a key of that issuer with one of its algorithms, typed
 * `logout+jwt` when typed at all (`JWT` is tolerated: some IdPs send it), `aud` naming one of the
 * issuer's configured clients, an `iat` neither in the future nor older than `maxAgeSeconds`,
 * `exp` (when present) not past, a `jti`, an `events` claim with the back-channel-logout event
 * (an object), a `sid` or a `sub` (or both), and no `nonce` (which would make it an ID token
 * replayed as a logout token). Header and claims are bounded in size and depth and may not repeat
 * a key.
 *
 * @throws McpPolicyError `ERR_LOGOUT_TOKEN_INVALID` naming the failed check;
 *   `ERR_IDENTITY_JWKS_UNAVAILABLE` when the issuer's keys cannot be fetched.
 * @example
 * ```ts
 * const logout = await verifyLogoutToken(form.get('logout_token'), { issuers, maxAgeSeconds: 300, skewSeconds: 60, maxBytes: 16384 })
 * console.log(logout.sid ?? logout.sub)
 * ```
 */
export async function verifyLogoutToken(
  token: unknown,
  checks: LogoutTokenChecks,
): Promise<VerifiedLogoutToken> {
  if (typeof token !== 'string' || token === '') invalid('the request has no logout_token')
  if (token.length > checks.maxBytes) invalid(`the logout token exceeds ${checks.maxBytes} bytes`)
  if (token.split('.').length === 5) invalid('encrypted logout tokens (JWE) are not supported')
  if (!compactJws.test(token)) invalid('the logout token is not a compact JWS (three base64url segments)')
  const [headerPart, payloadPart, signature] = token.split('.') as [string, string, string]
  const header = decodeSegment(headerPart, 'header', checks.maxBytes)
  const claims = decodeSegment(payloadPart, 'claims', checks.maxBytes)
  const alg = header.alg
  if (typeof alg !== 'string' || alg.toLowerCase() === 'none' || signature === '')
    invalid('unsigned logout tokens (alg none) are refused')
  const typ = header.typ
  if (typ !== undefined && (typeof typ !== 'string' || !/^((application\/)?logout\+jwt|JWT)$/i.test(typ)))
    invalid(`the logout token "typ" must be logout+jwt (got ${quote(String(typ))})`)
  const iss = claims.iss
  if (typeof iss !== 'string') invalid('the logout token has no "iss"')
  const issuer = checks.issuers.get(iss)
  if (!issuer) invalid(`issuer ${quote(iss)} is not configured for back-channel logout`)
  if (!issuer.algorithms.includes(alg)) invalid(`alg ${quote(alg)} is not allowed for issuer ${iss}`)
  const nowMs = checks.now ?? Date.now()
  let payload: Record<string, unknown>
  try {
    ;({ payload } = await jwtVerify(token, issuer.keys, {
      issuer: iss,
      audience: issuer.clientIds,
      algorithms: issuer.algorithms,
      clockTolerance: checks.skewSeconds,
      currentDate: new Date(nowMs),
      requiredClaims: ['iat', 'jti', 'events'],
    }))
  } catch (err) {
    if (err instanceof McpPolicyError && err.code === 'ERR_IDENTITY_JWKS_UNAVAILABLE') throw err
    throw new McpPolicyError('ERR_LOGOUT_TOKEN_INVALID', joseFailure(err, iss), { cause: err })
  }
  const nowSeconds = Math.floor(nowMs / 1000)
  const iat = payload.iat
  if (typeof iat !== 'number' || !Number.isFinite(iat)) invalid('"iat" must be a number')
  if (iat > nowSeconds + checks.skewSeconds) invalid('"iat" is in the future, beyond the clock skew')
  if (iat < nowSeconds - checks.maxAgeSeconds - checks.skewSeconds)
    invalid(`the logout token was issued more than ${checks.maxAgeSeconds} s ago ("iat")`)
  const jti = payload.jti
  if (!isValue(jti)) invalid(`"jti" must be a string of 1 to ${MAX_VALUE_LENGTH} characters`)
  const events = payload.events
  if (!isObject(events) || !isObject(events[BACKCHANNEL_LOGOUT_EVENT]))
    invalid(`"events" must hold ${BACKCHANNEL_LOGOUT_EVENT} with an object value`)
  if ('nonce' in payload) invalid('a logout token must not carry a "nonce" (is this an ID token?)')
  const { sid, sub } = payload
  if (sid !== undefined && !isValue(sid))
    invalid(`"sid" must be a string of 1 to ${MAX_VALUE_LENGTH} characters`)
  if (sub !== undefined && !isValue(sub))
    invalid(`"sub" must be a string of 1 to ${MAX_VALUE_LENGTH} characters`)
  if (sid === undefined && sub === undefined) invalid('the logout token names neither a "sid" nor a "sub"')
  return {
    issuer: iss,
    jti,
    iat,
    ...(sid !== undefined && { sid: sid as string }),
    ...(sub !== undefined && { sub: sub as string }),
  }
}

function joseFailure(err: unknown, issuer: string): string {
  if (err instanceof McpPolicyError) return err.message
  const { code, claim } = (err ?? {}) as { code?: unknown; claim?: unknown }
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && claim === 'aud')
    return `the logout token's "aud" names no client configured for issuer ${issuer}`
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED')
    return `the logout token's "${String(claim)}" claim is missing or invalid`
  if (code === 'ERR_JWT_EXPIRED') return 'the logout token is expired ("exp")'
  if (code === 'ERR_JWS_INVALID' || code === 'ERR_JWT_INVALID')
    return 'the logout token is not a valid signed JWT'
  return `the logout token's signature does not verify against issuer ${issuer}'s keys`
}

function decodeSegment(segment: string, what: string, maxBytes: number): Record<string, unknown> {
  let value: unknown
  try {
    value = parseMessageBody(base64url.decode(segment), { maxBytes, maxDepth: MAX_DEPTH })
  } catch (err) {
    const code = (err as McpPolicyError).code
    invalid(
      code === 'ERR_NORMALIZE_TOO_DEEP'
        ? `the logout token ${what} nests deeper than ${MAX_DEPTH}`
        : code === 'ERR_NORMALIZE_DUPLICATE_KEY'
          ? `the logout token ${what} holds a key twice`
          : `the logout token ${what} is not base64url JSON`,
    )
  }
  if (!isObject(value)) invalid(`the logout token ${what} is not a JSON object`)
  return value
}

function isValue(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && value.length <= MAX_VALUE_LENGTH
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function invalid(message: string): never {
  throw new McpPolicyError('ERR_LOGOUT_TOKEN_INVALID', message)
}
