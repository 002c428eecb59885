import { readFile } from 'node:fs/promises'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { parse as parseYaml } from 'yaml'
import { McpPolicyError } from '../errors.js'
import { identityConfigSchema } from '../identity/identity-config-schema.js'
import { backchannelLogoutConfigSchema } from '../signals/backchannel-logout-config.js'
import { ssfConfigSchema } from '../signals/ssf-config.js'
import { stateConfigSchema } from '../state/state-config.js'
import { defaultPdpConfig, type PdpConfig } from './pdp-config.js'

const positiveInt = { type: 'integer', minimum: 1 } as const

/** JSON Schema (draft 2020-12) of the `mcp-policy serve --config` file; every member optional. */
export const pdpConfigSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  properties: {
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    workers: positiveInt,
    bundle: {
      type: 'object',
      additionalProperties: false,
      properties: {
        file: { type: 'string', minLength: 1 },
        url: { type: 'string', pattern: '^https?://' },
        pollIntervalSeconds: { type: 'number', exclusiveMinimum: 0 },
        token: { type: 'string' },
        allowPlainHttp: { type: 'boolean' },
        verificationKeys: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['keyId', 'file'],
            properties: {
              keyId: { type: 'string' },
              file: { type: 'string' },
              algorithm: { enum: ['RS256', 'ES256'] },
            },
          },
        },
      },
    },
    identity: identityConfigSchema,
    devKeyDir: { type: 'string' },
    normalize: { type: 'object' },
    log: {
      oneOf: [
        { const: false },
        {
          type: 'object',
          additionalProperties: false,
          properties: {
            dir: { type: 'string', minLength: 1 },
            durability: { enum: ['sync', 'batch', 'async'] },
            signingKeyFile: { type: 'string' },
            checkpoints: { type: 'boolean' },
            rotateBytes: positiveInt,
            ship: {
              type: 'object',
              additionalProperties: false,
              required: ['url'],
              properties: {
                url: { type: 'string', pattern: '^https?://' },
                token: { type: 'string' },
                pollIntervalMs: positiveInt,
                maxBatchEvents: positiveInt,
              },
            },
          },
        },
      ],
    },
    callerAuth: {
      type: 'object',
      additionalProperties: false,
      properties: {
        bearerTokens: { type: 'array', items: { type: 'string', minLength: 16 } },
        clientCertificates: { type: 'boolean' },
      },
    },
    tls: {
      type: 'object',
      additionalProperties: false,
      required: ['cert', 'key'],
      properties: { cert: { type: 'string' }, key: { type: 'string' }, ca: { type: 'string' } },
    },
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxBodyBytes: positiveInt,
        maxDepth: positiveInt,
        maxHeaders: positiveInt,
        maxHeaderBytes: positiveInt,
        requestTimeoutMs: positiveInt,
        headersTimeoutMs: positiveInt,
        keepAliveTimeoutMs: positiveInt,
        maxRequestsPerSocket: positiveInt,
        evaluationDeadlineMs: { type: 'integer', minimum: 0, maximum: 3_600_000 },
      },
    },
    bundleStore: { type: 'string' },
    state: stateConfigSchema,
    ssf: ssfConfigSchema,
    backchannelLogout: backchannelLogoutConfigSchema,
  },
} as const

const validate = new Ajv2020({ allErrors: true, strict: false }).compile(pdpConfigSchema)

/**
 * Checks a parsed configuration object and fills every omitted member from {@link defaultPdpConfig}.
 *
 * @throws McpPolicyError `ERR_PDP_CONFIG_INVALID` naming each schema violation.
 */
export function resolvePdpConfig(raw: unknown): PdpConfig {
  if (!validate(raw)) {
    const problems = (validate.errors ?? [])
      .map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`)
      .join('; ')
    throw new McpPolicyError('ERR_PDP_CONFIG_INVALID', `invalid PDP configuration: ${problems}`)
  }
  const given = raw as Partial<PdpConfig>
  if (given.log && given.log.checkpoints === false && given.log.signingKeyFile !== undefined)
    throw new McpPolicyError(
      'ERR_PDP_CONFIG_INVALID',
      'invalid PDP configuration: log.checkpoints is false but log.signingKeyFile is set: remove one of them',
    )
  const defaults = defaultPdpConfig()
  const log: PdpConfig['log'] =
    given.log === false ? false : { ...(defaults.log as Exclude<PdpConfig['log'], false>), ...given.log }
  const config: PdpConfig = {
    ...defaults,
    ...given,
    // A configured URL replaces the default file rather than adding to it.
    bundle: given.bundle ? { pollIntervalSeconds: 30, ...given.bundle } : defaults.bundle,
    normalize: given.normalize ?? defaults.normalize,
    log,
    callerAuth: { ...defaults.callerAuth, ...given.callerAuth },
    limits: { ...defaults.limits, ...given.limits },
  }
  if (!config.bundle.file && !config.bundle.url)
    throw new McpPolicyError('ERR_PDP_CONFIG_INVALID', 'bundle needs a file or a url')
  if (config.bundle.file && config.bundle.url)
    throw new McpPolicyError('ERR_PDP_CONFIG_INVALID', 'bundle takes a file or a url, not both')
  if (config.bundle.allowPlainHttp && !config.bundle.verificationKeys?.length)
    throw new McpPolicyError(
      'ERR_PDP_CONFIG_INVALID',
      'bundle.allowPlainHttp needs bundle.verificationKeys: unsigned bundles over clear text could be swapped in transit',
    )
  if (config.callerAuth.clientCertificates && !config.tls?.ca)
    throw new McpPolicyError('ERR_PDP_CONFIG_INVALID', 'callerAuth.clientCertificates needs tls.ca')
  return config
}

/**
 * Reads a JSON or YAML configuration file (YAML is a superset of JSON, so one parser reads both).
 *
 * @throws McpPolicyError `ERR_PDP_CONFIG_INVALID` when unreadable, unparsable or invalid.
 */
export async function loadPdpConfig(path: string): Promise<PdpConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new McpPolicyError('ERR_PDP_CONFIG_INVALID', `cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    })
  }
  let raw: unknown
  try {
    raw = parseYaml(text, { maxAliasCount: 100 })
  } catch (err) {
    throw new McpPolicyError('ERR_PDP_CONFIG_INVALID', `${path}: ${(err as Error).message}`, { cause: err })
  }
  return resolvePdpConfig(raw ?? {})
}

/**
 * True for addresses that only this machine can reach.
 *
 * @internal
 */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host)
}

/**
 * Refuses a configuration that would expose the PDP beyond this machine without caller authentication.
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_PDP_INSECURE_BIND`.
 */
export function assertSafeBind(config: PdpConfig): void {
  const authenticated =
    (config.callerAuth.bearerTokens?.length ?? 0) > 0 || config.callerAuth.clientCertificates === true
  if (!isLoopbackHost(config.host) && !authenticated) {
    throw new McpPolicyError(
      'ERR_PDP_INSECURE_BIND',
      `refusing to listen on ${config.host} without caller authentication: set callerAuth.bearerTokens or callerAuth.clientCertificates, or bind 127.0.0.1`,
    )
  }
}
