import type { McpPolicyErrorCode } from '../errors.js'

/** One link of an RFC 8693 `act` delegation chain: who acts on behalf of the subject. */
export interface Actor {
  id?: string
  client_id?: string
  /** The next actor up the chain (an actor acting for this actor), or null. */
  actor: Actor | null
}

/** Facts about the verified token itself (never the token). */
export interface TokenFacts {
  audience: string[]
  issued_at?: number
  expires_at?: number
  /** Seconds since `iat` at verification time. */
  age_s?: number
  auth_time?: number
  acr?: string
  amr: string[]
  jti?: string
  /**
   * `"unchecked"` when the shared revocation state could not be read and the issuer has
   * `revocation: optional`: the token was verified locally only. Absent when it was checked.
   */
  revocation?: 'unchecked'
}

/**
 * `input.subject` of input document v1: who is calling, from a verified token only. A token that
 * fails verification gives `authenticated: false` with the reason, and no claims at all.
 */
export interface Subject {
  authenticated: boolean
  id?: string
  issuer?: string
  email?: string
  groups: string[]
  roles: string[]
  scopes: string[]
  /** The OAuth client (the agent application): `azp`, else `client_id`. */
  client_id?: string
  /** The IdP session the token belongs to (OIDC `sid`): what a logout or a CAEP session-revoked event names. */
  session_id?: string
  actor: Actor | null
  token?: TokenFacts
  /** Every verified claim. Empty when not authenticated. */
  claims: Record<string, unknown>
  /** Why the subject is not authenticated. */
  reason?: { code: McpPolicyErrorCode; message: string }
}
