/** How one introspection ended. */
export type IntrospectionOutcome =
  /** The issuer said `active: true`. */
  | 'active'
  /** The issuer said `active: false`: refused as `ERR_IDENTITY_TOKEN_REVOKED`. */
  | 'inactive'
  /** The endpoint failed and the token was refused (`ERR_IDENTITY_INTROSPECTION_UNAVAILABLE`). */
  | 'unavailable_denied'
  /** The endpoint failed and the issuer's `fallback: local` accepted the JWT on local verification. */
  | 'unavailable_local'

/** What happened when the revocation state could not be read. */
export type RevocationUnavailableAction =
  /** `revocation: required`: refused as `ERR_IDENTITY_REVOCATION_UNAVAILABLE`. */
  | 'denied'
  /** `revocation: optional`: the token was accepted unchecked (`token.revocation: "unchecked"`). */
  | 'verified_locally'

/**
 * Callbacks a `TokenVerifier` makes for what operators must see in metrics: every
 * introspection request's outcome (cache hits are counted in `introspectionCacheStats()`
 * instead, as they happen on every call), every token refused or let through because the
 * revocation state was unavailable, and every token refused as revoked. Must not throw.
 *
 * @example
 * ```ts
 * const events: IdentityEvents = { introspection: (issuer, outcome) => counter.inc({ issuer, outcome }) }
 * ```
 */
export interface IdentityEvents {
  introspection?(issuer: string, outcome: IntrospectionOutcome): void
  revocationUnavailable?(issuer: string, action: RevocationUnavailableAction): void
  /** A token refused because a revocation of its subject, session, `jti` or e-mail address matched. */
  revoked?(issuer: string, kind: 'subject' | 'session' | 'token' | 'email'): void
}
