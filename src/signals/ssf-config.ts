import { type Duration, durationSchema } from '../identity/duration.js'

/**
 * One OpenID Shared Signals Framework transmitter (an IdP, an MDM, an EDR…) whose Security Event
 * Tokens the PDP receives: pushed to `POST /ssf/events` (RFC 8935), polled from the transmitter
 * (RFC 8936), or both.
 *
 * @example
 * ```ts
 * const okta: SsfTransmitterConfig = {
 *   issuer: 'https://example.okta.com',
 *   audience: 'https://pdp.example.com/ssf',
 *   push: { authorizationHeaders: ['Bearer 3f1c…a long random secret'] },
 * }
 * ```
 */
export interface SsfTransmitterConfig {
  /** The transmitter's issuer: its metadata's `issuer` and every SET's `iss`, compared as strings. */
  issuer: string
  /**
   * Where its transmitter metadata is. Default: `/.well-known/ssf-configuration` inserted between
   * the issuer's host and path (SSF 1.0 §6.2). https, or http on a loopback host.
   */
  configurationUrl?: string
  /** Its JWKS, instead of the metadata's `jwks_uri` (then the metadata is read only to poll). */
  jwksUri?: string
  /** What a SET's `aud` must name (one of them): the audience the stream was created with. */
  audience: string | string[]
  /**
   * The token issuers (`identity.issuers[].issuer`) whose subjects, sessions and tokens this
   * transmitter's events may revoke. Default: the transmitter's own issuer. Subjects of any other
   * issuer are ignored (logged), so a transmitter cannot cut the users of an IdP it does not speak for.
   */
  tokenIssuers?: string[]
  /** Accepted JWS algorithms. Default `RS256`, `PS256`, `ES256`, `EdDSA`; `none` and HS* are refused. */
  algorithms?: string[]
  /**
   * Push delivery: the `Authorization` header values the transmitter sends (the stream's
   * `authorization_header`). A push is refused unless it carries one of them: several allow a
   * secret to be rotated. Each at least 16 characters, unique across transmitters.
   */
  push?: { authorizationHeaders: string[] }
  /**
   * Poll delivery: every PDP process polls. The endpoint is `endpoint`, or else the
   * `delivery.endpoint_url` of stream `streamId` read from the metadata's `configuration_endpoint`.
   */
  poll?: SsfPollConfig
}

/** RFC 8936 poll delivery from one transmitter. */
export interface SsfPollConfig {
  /** The poll endpoint (https, or http on a loopback host). */
  endpoint?: string
  /** The stream whose configuration names the poll endpoint, when `endpoint` is omitted. */
  streamId?: string
  /** The `Authorization` header value sent with every poll and stream request. */
  authorizationHeader: string
  /** Most SETs asked for per poll. Default 100. */
  maxEvents?: number
  /**
   * How long a poll may wait for events (`returnImmediately: false`). Default 30. A transmitter
   * that answers an empty poll at once is asked again after `intervalSeconds`.
   */
  waitSeconds?: number
  /** Pause after an empty answer that came at once. Default 5. */
  intervalSeconds?: number
}

/**
 * The Shared Signals receiver of `mcp-policy serve`.
 *
 * @example
 * ```yaml
 * ssf:
 *   transmitters:
 *     - issuer: https://idp.example.com
 *       audience: https://pdp.example.com/ssf
 *       push: { authorizationHeaders: ['Bearer 9c2f…a long random secret'] }
 * ```
 */
export interface SsfConfig {
  transmitters: SsfTransmitterConfig[]
  /**
   * SETs issued (`iat`) longer ago are refused: each accepted `jti` is remembered this long (plus
   * twice the clock skew) to refuse replays. Default `1d`.
   */
  maxEventAge?: Duration
  /** Largest SET accepted, in bytes. Default 65536. */
  maxSetBytes?: number
}

const url = { type: 'string', pattern: '^https?://' } as const

/** JSON Schema (draft 2020-12) of {@link SsfConfig}, for the PDP's configuration schema. */
export const ssfConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['transmitters'],
  properties: {
    transmitters: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['issuer', 'audience'],
        // A transmitter nobody can hear from is a configuration mistake.
        anyOf: [{ required: ['push'] }, { required: ['poll'] }],
        properties: {
          issuer: { type: 'string', minLength: 1 },
          configurationUrl: url,
          jwksUri: url,
          audience: {
            oneOf: [
              { type: 'string', minLength: 1 },
              { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
            ],
          },
          tokenIssuers: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
          algorithms: { type: 'array', minItems: 1, items: { type: 'string' } },
          push: {
            type: 'object',
            additionalProperties: false,
            required: ['authorizationHeaders'],
            properties: {
              authorizationHeaders: {
                type: 'array',
                minItems: 1,
                items: { type: 'string', minLength: 16, maxLength: 4096 },
              },
            },
          },
          poll: {
            type: 'object',
            additionalProperties: false,
            required: ['authorizationHeader'],
            anyOf: [{ required: ['endpoint'] }, { required: ['streamId'] }],
            properties: {
              endpoint: url,
              streamId: { type: 'string', minLength: 1 },
              authorizationHeader: { type: 'string', minLength: 1, maxLength: 4096 },
              maxEvents: { type: 'integer', minimum: 1, maximum: 1000 },
              waitSeconds: { type: 'integer', minimum: 0, maximum: 300 },
              intervalSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 3600 },
            },
          },
        },
      },
    },
    maxEventAge: durationSchema,
    maxSetBytes: { type: 'integer', minimum: 1024, maximum: 1_048_576 },
  },
} as const
