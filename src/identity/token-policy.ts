import { McpPolicyError } from '../errors.js'
import { durationSeconds } from './duration.js'
import { defaultMaxTokenLifetime, type IdentityConfig, type IssuerConfig } from './identity-config.js'

/** One issuer's token policy, resolved to seconds. */
export interface TokenPolicy {
  maxLifetimeSeconds: number
  /** Undefined: no limit on `auth_time`. */
  maxAuthAgeSeconds: number | undefined
  requireJti: boolean
}

/**
 * Resolves an issuer's `maxTokenLifetime`, `maxAuthAge` and `requireJti` with their defaults.
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_IDENTITY_CONFIG_INVALID` for a malformed duration or a zero lifetime.
 * @example
 * ```ts
 * resolveTokenPolicy({ issuer, jwksUri }) // { maxLifetimeSeconds: 7200, maxAuthAgeSeconds: undefined, requireJti: false }
 * ```
 */
export function resolveTokenPolicy(issuer: IssuerConfig): TokenPolicy {
  const maxLifetimeSeconds = durationSeconds(
    issuer.maxTokenLifetime ?? defaultMaxTokenLifetime,
    'maxTokenLifetime',
  )
  if (maxLifetimeSeconds < 1)
    throw new McpPolicyError(
      'ERR_IDENTITY_CONFIG_INVALID',
      `identity: issuer ${issuer.issuer}: maxTokenLifetime must be at least one second`,
    )
  return {
    maxLifetimeSeconds,
    maxAuthAgeSeconds:
      issuer.maxAuthAge === undefined ? undefined : durationSeconds(issuer.maxAuthAge, 'maxAuthAge'),
    requireJti: issuer.requireJti === true,
  }
}

/**
 * Checks a token's claims against its issuer's policy: `exp` present, lifetime (`exp` − `iat`,
 * or `exp` − now without `iat`) within the maximum, `auth_time` recent enough when a maximum auth
 * age is set, `jti` present when required. Runs on claims whose signature is not yet checked (a
 * refusal needs no signature), and again on introspection answers.
 *
 * @returns the last second (epoch) the claims satisfy the auth age, `Infinity` without a limit:
 *   a cached verification must not be served past it.
 * @throws McpPolicyError `ERR_IDENTITY_CLAIMS_INVALID` (missing or mistyped `exp`, `auth_time`,
 *   `jti`), `ERR_IDENTITY_TOKEN_LIFETIME_EXCEEDED`, `ERR_IDENTITY_AUTH_AGE_EXCEEDED`.
 * @example
 * ```ts
 * const authValidUntil = checkTokenPolicy(policy, 'https://idp.example.com', decodeJwt(token), now, 60)
 * ```
 */
export function checkTokenPolicy(
  policy: TokenPolicy,
  issuer: string,
  claims: Record<string, unknown>,
  nowSeconds: number,
  skewSeconds: number,
): number {
  const { exp, iat } = claims
  if (typeof exp !== 'number' || !Number.isFinite(exp))
    fail('ERR_IDENTITY_CLAIMS_INVALID', 'token has no numeric "exp" claim: a token must expire')
  if (iat !== undefined && (typeof iat !== 'number' || !Number.isFinite(iat)))
    fail('ERR_IDENTITY_CLAIMS_INVALID', '"iat" claim must be a number')
  const lifetime = exp - (typeof iat === 'number' ? iat : nowSeconds)
  if (lifetime > policy.maxLifetimeSeconds)
    fail(
      'ERR_IDENTITY_TOKEN_LIFETIME_EXCEEDED',
      `token lifetime ${Math.round(lifetime)} s ${typeof iat === 'number' ? '(exp - iat)' : '(exp - now, no iat)'} exceeds maxTokenLifetime ${policy.maxLifetimeSeconds} s of issuer ${issuer}`,
    )
  if (policy.requireJti && (typeof claims.jti !== 'string' || claims.jti === ''))
    fail('ERR_IDENTITY_CLAIMS_INVALID', `issuer ${issuer} requires a "jti" claim`)
  if (policy.maxAuthAgeSeconds === undefined) return Number.POSITIVE_INFINITY
  const authTime = claims.auth_time
  if (typeof authTime !== 'number' || !Number.isFinite(authTime))
    fail(
      'ERR_IDENTITY_CLAIMS_INVALID',
      `issuer ${issuer} has maxAuthAge: the token needs a numeric "auth_time"`,
    )
  const authValidUntil = authTime + policy.maxAuthAgeSeconds + skewSeconds
  if (nowSeconds > authValidUntil)
    fail(
      'ERR_IDENTITY_AUTH_AGE_EXCEEDED',
      `sign-in was ${Math.round(nowSeconds - authTime)} s ago, more than maxAuthAge ${policy.maxAuthAgeSeconds} s of issuer ${issuer}`,
    )
  return authValidUntil
}

function fail(
  code:
    | 'ERR_IDENTITY_CLAIMS_INVALID'
    | 'ERR_IDENTITY_TOKEN_LIFETIME_EXCEEDED'
    | 'ERR_IDENTITY_AUTH_AGE_EXCEEDED',
  message: string,
): never {
  throw new McpPolicyError(code, message)
}

/**
 * Each configured issuer's longest token lifetime in seconds, by `iss` (undefined for any other):
 * what a `RevocationList` needs to know how long to keep a revocation.
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_IDENTITY_CONFIG_INVALID` for a malformed duration.
 * @example
 * ```ts
 * const revocations = new RevocationList(store, { maxTokenLifetime: maxTokenLifetimes(identity) })
 * ```
 */
export function maxTokenLifetimes(config: IdentityConfig): (issuer: string) => number | undefined {
  const lifetimes = new Map(
    (config.issuers ?? []).map((issuer) => [issuer.issuer, resolveTokenPolicy(issuer).maxLifetimeSeconds]),
  )
  return (issuer) => lifetimes.get(issuer)
}
