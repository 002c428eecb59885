import type { DecisionLog } from '../audit/decision-log.js'
import { McpPolicyError, toMcpPolicyError } from '../errors.js'
import { durationSeconds } from '../identity/duration.js'
import { defaultAlgorithms, type IdentityConfig } from '../identity/identity-config.js'
import { issuerKeys } from '../identity/issuer-keys.js'
import type { Revocation, RevocationList } from '../identity/revocation-list.js'
import type { BackchannelLogoutConfig } from './backchannel-logout-config.js'
import { BACKCHANNEL_LOGOUT_EVENT, type LogoutTokenIssuer, verifyLogoutToken } from './logout-token.js'
import { ReplayGuard } from './replay-guard.js'
import { recordRevocationSignal, revocationForLog } from './revocation-record.js'
import type { SignalObserver } from './ssf-receiver.js'

/** What a back-channel logout revoked. */
export interface LogoutReceipt {
  issuer: string
  jti: string
  revocation: Revocation
}

const EVENT = 'oidc:backchannel-logout'
/** Logout tokens are a few hundred bytes; a form body may hold little else. */
export const MAX_LOGOUT_TOKEN_BYTES = 16 * 1024

/**
 * The OIDC Back-Channel Logout 1.0 receiver: verifies a logout token (see `verifyLogoutToken`)
 * with the keys and algorithms of its `identity` issuer, refuses a replayed `jti` across every
 * worker and replica, revokes the session it names (`sid`) — or, when it names only a user, every
 * token of that user issued up to the logout — and records it in the decision log
 * (`mcp-policy/revocation`). A failure after the `jti` was claimed releases it, so the IdP's
 * retry (if it makes one) is applied.
 *
 * @throws McpPolicyError `ERR_PDP_CONFIG_INVALID` for an issuer that is not an `identity` issuer
 *   or a bad `maxTokenAge`.
 * @example
 * ```ts
 * const logout = new BackchannelLogoutReceiver(config.backchannelLogout, identity, { revocations, log })
 * await logout.receive(form.get('logout_token'))
 * ```
 */
export class BackchannelLogoutReceiver {
  readonly #issuers = new Map<string, LogoutTokenIssuer>()
  readonly #revocations: RevocationList
  readonly #log: DecisionLog | undefined
  readonly #skew: number
  readonly #maxAge: number
  readonly #guard: ReplayGuard
  readonly #observe: SignalObserver

  constructor(
    config: BackchannelLogoutConfig,
    identity: IdentityConfig,
    options: { revocations: RevocationList; log?: DecisionLog; observe?: SignalObserver },
  ) {
    this.#revocations = options.revocations
    this.#log = options.log
    this.#skew = identity.clockSkewSeconds ?? 60
    this.#observe = options.observe ?? (() => {})
    this.#maxAge = durationSeconds(config.maxTokenAge ?? '5m', 'backchannelLogout.maxTokenAge', {
      code: 'ERR_PDP_CONFIG_INVALID',
      prefix: '',
    })
    this.#guard = new ReplayGuard(options.revocations.store, 'logout-jti')
    const keyOptions = {
      timeoutMs: identity.jwksTimeoutMs ?? 5_000,
      cooldownMs: identity.jwksCooldownMs ?? 30_000,
    }
    for (const entry of config.issuers) {
      const trusted = identity.issuers.find((issuer) => issuer.issuer === entry.issuer)
      if (!trusted)
        throw new McpPolicyError(
          'ERR_PDP_CONFIG_INVALID',
          `backchannelLogout: issuer ${entry.issuer} is not in identity.issuers (its keys verify the logout tokens)`,
        )
      if (this.#issuers.has(entry.issuer))
        throw new McpPolicyError(
          'ERR_PDP_CONFIG_INVALID',
          `backchannelLogout: issuer ${entry.issuer} is listed twice`,
        )
      this.#issuers.set(entry.issuer, {
        keys: issuerKeys(trusted, keyOptions),
        algorithms: [...(trusted.algorithms ?? defaultAlgorithms)],
        clientIds: [...entry.clientIds],
      })
    }
  }

  /**
   * Verifies, applies and records one logout token.
   *
   * @throws McpPolicyError `ERR_LOGOUT_TOKEN_INVALID`, `ERR_LOGOUT_TOKEN_REPLAYED`,
   *   `ERR_IDENTITY_JWKS_UNAVAILABLE`, `ERR_STATE_UNAVAILABLE`, `ERR_LOG_WRITE_FAILED`.
   */
  async receive(token: unknown): Promise<LogoutReceipt> {
    let logout: Awaited<ReturnType<typeof verifyLogoutToken>>
    try {
      logout = await verifyLogoutToken(token, {
        issuers: this.#issuers,
        maxAgeSeconds: this.#maxAge,
        skewSeconds: this.#skew,
        maxBytes: MAX_LOGOUT_TOKEN_BYTES,
      })
    } catch (err) {
      const error = toMcpPolicyError(err, 'ERR_LOGOUT_TOKEN_INVALID')
      this.#observe(
        'oidc-backchannel-logout',
        EVENT,
        error.code === 'ERR_LOGOUT_TOKEN_INVALID' ? 'refused' : 'unavailable',
        error.code,
      )
      throw error
    }
    const ttlMs = (this.#maxAge + 2 * this.#skew) * 1000
    let claim: Awaited<ReturnType<ReplayGuard['claim']>>
    try {
      claim = await this.#guard.claim(logout.issuer, logout.jti, ttlMs)
    } catch (err) {
      const error = toMcpPolicyError(err, 'ERR_STATE_UNAVAILABLE')
      this.#observe('oidc-backchannel-logout', EVENT, 'unavailable', error.code)
      throw error
    }
    if (claim !== 'fresh') {
      this.#observe('oidc-backchannel-logout', EVENT, 'replayed', 'ERR_LOGOUT_TOKEN_REPLAYED')
      throw new McpPolicyError(
        'ERR_LOGOUT_TOKEN_REPLAYED',
        `a logout token with this jti was already received from issuer ${logout.issuer}`,
      )
    }
    try {
      // The session when named: other sessions of the user stay. A token naming only the user
      // logs the user out everywhere: every token issued up to the logout (a later sign-in works).
      const revocation = await this.#revocations.revoke(
        logout.sid !== undefined
          ? { kind: 'session', issuer: logout.issuer, value: logout.sid, event: EVENT }
          : {
              kind: 'subject',
              issuer: logout.issuer,
              value: logout.sub!,
              issuedBefore: Math.min(logout.iat, Math.floor(Date.now() / 1000)) + 1,
              event: EVENT,
            },
      )
      await recordRevocationSignal(
        this.#log,
        {
          schema: 'mcp-policy/revocation/v1',
          receiver: 'oidc-backchannel-logout',
          delivery: 'backchannel',
          issuer: logout.issuer,
          jti: logout.jti,
          iat: logout.iat,
          event: EVENT,
          event_type: BACKCHANNEL_LOGOUT_EVENT,
          subject: {
            ...(logout.sub !== undefined && { sub: logout.sub }),
            ...(logout.sid !== undefined && { sid: logout.sid }),
          },
          occurred_at: Math.min(logout.iat, Math.floor(Date.now() / 1000)),
        },
        { outcome: 'revoked', revocations: [revocationForLog(revocation)] },
      )
      await this.#guard.settle(logout.issuer, logout.jti, ttlMs)
      this.#observe('oidc-backchannel-logout', EVENT, 'revoked', '')
      return { issuer: logout.issuer, jti: logout.jti, revocation }
    } catch (err) {
      await this.#guard.release(logout.issuer, logout.jti)
      const error = toMcpPolicyError(err, 'ERR_STATE_UNAVAILABLE')
      this.#observe('oidc-backchannel-logout', EVENT, 'unavailable', error.code)
      throw error
    }
  }
}
