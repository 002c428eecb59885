import type { JWK } from 'jose'

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
}

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
