import { type Duration, durationSchema } from '../identity/duration.js'

/**
 * OIDC Back-Channel Logout 1.0 at `POST /oidc/backchannel-logout`: the IdP posts a signed
 * `logout_token` when a user's session ends, and the PDP revokes that session (`sid`), or every
 * token of the user (`sub`) when the token names no session.
 *
 * Register `https://<pdp>/oidc/backchannel-logout` as the `backchannel_logout_uri` of each OIDC
 * client (agent application) whose tokens the PDP sees, with `backchannel_logout_session_required`
 * true, and make the IdP put `sid` in its access tokens.
 *
 * @example
 * ```ts
 * const logout: BackchannelLogoutConfig = {
 *   issuers: [{ issuer: 'https://idp.example.com', clientIds: ['support-agent', 'ide-assistant'] }],
 * }
 * ```
 */
export interface BackchannelLogoutConfig {
  /**
   * The issuers whose logout tokens are accepted. Each must also be an `identity.issuers` entry:
   * its key source and algorithms verify the logout token.
   */
  issuers: { issuer: string; clientIds: string[] }[]
  /**
   * Logout tokens issued (`iat`) longer ago are refused; each accepted `jti` is remembered this
   * long (plus twice the clock skew). Default `5m`.
   */
  maxTokenAge?: Duration
}

/** JSON Schema (draft 2020-12) of {@link BackchannelLogoutConfig}, for the PDP's configuration schema. */
export const backchannelLogoutConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['issuers'],
  properties: {
    issuers: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['issuer', 'clientIds'],
        properties: {
          issuer: { type: 'string', minLength: 1 },
          clientIds: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
        },
      },
    },
    maxTokenAge: durationSchema,
  },
} as const
