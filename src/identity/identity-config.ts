import type { JWK } from 'jose'
import type { Duration } from './duration.js'

/**
 * Where a token carries the facts policies need. Each entry is a dot path into the verified
 * payload (`realm_access.roles`); a path that is itself a top-level claim name (Auth0's
 * `https://example.com/roles`) is taken as that claim first. Values from every listed path are
 * merged and deduplicated; non-string values are ignored.
 *
 * @example
 * ```ts
 * const keycloak: ClaimMapping = { roles: ['realm_access.roles'], groups: ['groups'] }
 * const entra: ClaimMapping = { subject: 'oid', roles: ['roles'], groups: ['groups'], scopes: ['scp'] }
 * ```
 */
export interface ClaimMapping {
  /** Path of `subject.id`. Default `sub` (the `sub` claim is required either way). */
  subject?: string
  /** Path of `subject.email`. Default `email`. */
  email?: string
  /** Paths of `subject.groups`. Default `['groups']`. */
  groups?: string[]
  /** Paths of `subject.roles`. Default `['roles']`. */
  roles?: string[]
  /**
   * Paths of `subject.scopes`: a string is split on whitespace (OAuth `scope`), an array is taken
   * as it is (Entra `scp`). Default `['scope', 'scp']`.
   */
  scopes?: string[]
}

/**
 * One trusted token issuer. Exactly one key source: `jwksUri`, `jwksFile` or `jwks`.
 *
 * Symmetric algorithms (HS256/384/512) are not supported at all: an MCP server that can verify
 * an HS token can also mint one, and a shared secret next to a JWKS is how HS/RS confusion starts.
 *
 * @example
 * ```ts
 * const okta: IssuerConfig = {
 *   issuer: 'https://example.okta.com/oauth2/default',
 *   jwksUri: 'https://example.okta.com/oauth2/default/v1/keys',
 *   requireAtJwt: false,
 *   claims: { groups: ['groups'], scopes: ['scp'] },
 * }
 * ```
 */
export interface IssuerConfig {
  /** The exact `iss` value, compared as a string. */
  issuer: string
  /** Remote JWKS (https, or http on a loopback host), cached with a timeout and a refetch cooldown. */
  jwksUri?: string
  /** A local JWKS JSON file, read on first use and re-read when a token names an unknown `kid`. */
  jwksFile?: string
  /** An inline JWKS (public keys only). */
  jwks?: { keys: JWK[] }
  /** Accepted JWS algorithms. Default {@link defaultAlgorithms}; `none` and HS* are refused. */
  algorithms?: string[]
  /** Require the RFC 9068 `typ` header `at+jwt` (or `application/at+jwt`). Default false. */
  requireAtJwt?: boolean
  /** Where groups, roles, scopes and the like live in this issuer's tokens. */
  claims?: ClaimMapping
  /**
   * Longest lifetime a token of this issuer may have: `exp` − `iat` (without `iat`, `exp` − now).
   * A longer-lived token is refused with `ERR_IDENTITY_TOKEN_LIFETIME_EXCEEDED`, however valid
   * otherwise. It also bounds how long a revocation must be remembered. Seconds or a span such as
   * `'1h'`. Default {@link defaultMaxTokenLifetime} (`'2h'`).
   */
  maxTokenLifetime?: Duration
  /**
   * Refuse tokens whose `auth_time` (when the user last signed in) is older than this, with
   * `ERR_IDENTITY_AUTH_AGE_EXCEEDED`; a token without `auth_time` is then refused as
   * `ERR_IDENTITY_CLAIMS_INVALID`. Seconds or a span. Default: no limit (client-credential tokens
   * of agents carry no `auth_time`).
   */
  maxAuthAge?: Duration
  /** Refuse tokens without a `jti` (so that every token can be revoked on its own). Default false. */
  requireJti?: boolean
  /** RFC 7662 token introspection at this issuer: opaque tokens, and JWTs with `mode: always`. */
  introspection?: IntrospectionConfig
  /**
   * When the shared revocation state cannot be read (the store is down or not yet loaded):
   * `required` (default) denies with `ERR_IDENTITY_REVOCATION_UNAVAILABLE`; `optional` verifies
   * the token locally and marks the subject `token.revocation: "unchecked"`. Counted either way.
   */
  revocation?: 'required' | 'optional'
}

/**
 * RFC 7662 token introspection for one issuer. The PDP authenticates to the endpoint as an OAuth
 * client: `client_secret_basic` with `clientSecret`, or `private_key_jwt` (RFC 7523) with
 * `privateKeyJwt`, exactly one of them.
 *
 * @example
 * ```ts
 * const introspection: IntrospectionConfig = {
 *   endpoint: 'https://idp.example.com/oauth2/introspect',
 *   clientId: 'mcp-pdp',
 *   privateKeyJwt: { keyFile: '/etc/mcp-policy/introspection-key.pem' },
 *   mode: 'opaque-only',
 * }
 * ```
 */
export interface IntrospectionConfig {
  /** The introspection endpoint: https, or http on a loopback host. */
  endpoint: string
  /** The PDP's client id at the issuer. */
  clientId: string
  /** Client secret (`client_secret_basic`). */
  clientSecret?: string
  /** `private_key_jwt`: a PKCS#8 PEM or private JWK file, its algorithm (default from the key) and `kid`. */
  privateKeyJwt?: { keyFile: string; alg?: string; kid?: string }
  /**
   * `opaque-only` (default): opaque tokens are introspected, JWTs verified locally. `always`: JWTs
   * are verified locally and then introspected too, so a token revoked at the issuer is refused
   * within the cache TTL.
   */
  mode?: 'opaque-only' | 'always'
  /** How long an answer is reused (never beyond the token's `exp`). Default 30, at most 300. */
  cacheTtlSeconds?: number
  /** Timeout of one introspection request. Default 2000. */
  timeoutMs?: number
  /**
   * When the endpoint fails (down, timeout, error status, malformed answer): `deny` (default)
   * refuses with `ERR_IDENTITY_INTROSPECTION_UNAVAILABLE`; `local` accepts a JWT on its local
   * verification (an opaque token has none, and is refused either way).
   */
  fallback?: 'deny' | 'local'
}

/**
 * Identity verification settings for a {@link TokenVerifier}.
 *
 * @example
 * ```ts
 * const config: IdentityConfig = {
 *   issuers: [{ issuer: 'https://idp.example.com', jwksUri: 'https://idp.example.com/jwks' }],
 *   clockSkewSeconds: 30,
 * }
 * ```
 */
export interface IdentityConfig {
  /** The trusted issuers; a token from any other issuer is rejected. */
  issuers: IssuerConfig[]
  /** Tolerance for `exp`, `nbf` and `iat`. Default 60. */
  clockSkewSeconds?: number
  /** Longest token accepted, in bytes, checked before anything is decoded. Default 16384. */
  maxTokenBytes?: number
  /** Timeout of one JWKS fetch. Default 5000. */
  jwksTimeoutMs?: number
  /** Least time between two JWKS refetches triggered by unknown key ids. Default 30000. */
  jwksCooldownMs?: number
  /** Most verified tokens kept in the cache (least recently used evicted first). Default 10000. */
  cacheMaxEntries?: number
  /**
   * The issuer whose introspection endpoint receives opaque (non-JWT) tokens. Needed only when
   * more than one issuer configures introspection: a token is never sent to an issuer that may
   * not have issued it. Default: the one issuer with introspection.
   */
  opaqueTokenIssuer?: string
}

/**
 * The longest token lifetime accepted when an issuer sets no `maxTokenLifetime`: two hours. It
 * covers the access tokens of Okta, Google, Cognito (1 h), Keycloak (5 min) and Entra ID (60–90
 * min, randomized), and refuses day-long ones (Auth0's API default is 24 h: shorten it at the
 * IdP, or raise `maxTokenLifetime` for that issuer knowingly).
 *
 * @example
 * ```ts
 * durationSeconds(defaultMaxTokenLifetime, 'maxTokenLifetime') // 7200
 * ```
 */
export const defaultMaxTokenLifetime = '2h'

/**
 * The algorithms an issuer accepts when its configuration lists none: one of each asymmetric family.
 *
 * @example
 * ```ts
 * const config: IssuerConfig = { issuer, jwksUri, algorithms: [...defaultAlgorithms, 'RS512'] }
 * ```
 */
export const defaultAlgorithms: readonly string[] = Object.freeze(['RS256', 'PS256', 'ES256', 'EdDSA'])

/**
 * Every algorithm an issuer may list: asymmetric signatures only.
 *
 * @example
 * ```ts
 * supportedAlgorithms.includes('HS256') // false
 * ```
 */
export const supportedAlgorithms: readonly string[] = Object.freeze([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
])
