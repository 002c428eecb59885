import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import { McpPolicyError } from '../errors.js'
import { durationSchema } from './duration.js'
import type { IdentityConfig } from './identity-config.js'

const nonNegative = { type: 'number', minimum: 0 } as const
const strings = { type: 'array', items: { type: 'string' } } as const

/**
 * JSON Schema (draft 2020-12) of {@link IdentityConfig}: the `identity` member of the PDP's and
 * the gateway's configuration files, and what `TokenVerifier` checks its configuration against.
 * Unknown members are refused, so a misspelt security setting (`maxTokenLifeTime`) fails loudly
 * instead of leaving its default in force.
 */
export const identityConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['issuers'],
  properties: {
    issuers: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['issuer'],
        properties: {
          issuer: { type: 'string', minLength: 1 },
          jwksUri: { type: 'string', minLength: 1 },
          jwksFile: { type: 'string', minLength: 1 },
          jwks: {
            type: 'object',
            required: ['keys'],
            properties: { keys: { type: 'array', items: { type: 'object' } } },
          },
          // Which algorithms are supported is the verifier's check, with a message naming them.
          algorithms: strings,
          requireAtJwt: { type: 'boolean' },
          claims: {
            type: 'object',
            additionalProperties: false,
            properties: {
              subject: { type: 'string', minLength: 1 },
              email: { type: 'string', minLength: 1 },
              groups: strings,
              roles: strings,
              scopes: strings,
            },
          },
          maxTokenLifetime: durationSchema,
          maxAuthAge: durationSchema,
          requireJti: { type: 'boolean' },
          introspection: {
            type: 'object',
            additionalProperties: false,
            required: ['endpoint', 'clientId'],
            properties: {
              endpoint: { type: 'string', pattern: '^https?://' },
              clientId: { type: 'string', minLength: 1 },
              clientSecret: { type: 'string', minLength: 1 },
              privateKeyJwt: {
                type: 'object',
                additionalProperties: false,
                required: ['keyFile'],
                properties: {
                  keyFile: { type: 'string', minLength: 1 },
                  alg: { type: 'string', minLength: 1 },
                  kid: { type: 'string', minLength: 1 },
                },
              },
              mode: { enum: ['opaque-only', 'always'] },
              cacheTtlSeconds: { type: 'number', minimum: 0, maximum: 300 },
              timeoutMs: { type: 'integer', minimum: 1, maximum: 60_000 },
              fallback: { enum: ['deny', 'local'] },
            },
            oneOf: [{ required: ['clientSecret'] }, { required: ['privateKeyJwt'] }],
          },
          revocation: { enum: ['required', 'optional'] },
        },
      },
    },
    clockSkewSeconds: nonNegative,
    maxTokenBytes: nonNegative,
    jwksTimeoutMs: nonNegative,
    jwksCooldownMs: nonNegative,
    cacheMaxEntries: nonNegative,
    opaqueTokenIssuer: { type: 'string', minLength: 1 },
  },
} as const

// Compiled when the module loads, as the PDP's own schema is: compiling takes tens of
// milliseconds, which belong to startup, not to the first verifier someone constructs.
const compiled: ValidateFunction = new Ajv2020({ allErrors: true, strict: false }).compile(
  identityConfigSchema,
)

/**
 * Checks an identity configuration against {@link identityConfigSchema}.
 *
 * @throws McpPolicyError `ERR_IDENTITY_CONFIG_INVALID` naming each violation by its path.
 * @example
 * ```ts
 * assertIdentityConfig({ issuers: [{ issuer, jwksUri, maxTokenLifetime: '1h' }] })
 * ```
 */
export function assertIdentityConfig(config: unknown): asserts config is IdentityConfig {
  if (compiled(config)) return
  const problems = (compiled.errors ?? [])
    .map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`)
    .join('; ')
  throw new McpPolicyError('ERR_IDENTITY_CONFIG_INVALID', `identity: ${problems}`)
}
