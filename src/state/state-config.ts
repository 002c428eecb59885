/**
 * Which {@link StateStore} holds state shared across decisions: revocations, replay markers.
 *
 * @example
 * ```yaml
 * state:
 *   backend: redis
 *   redis: { url: redis://127.0.0.1:6379/0, keyPrefix: 'mcp-policy:prod:' }
 * ```
 */
export interface StateConfig {
  /**
   * `memory` (default): in this process; `serve` workers share it through the cluster primary,
   * and it is lost when the PDP stops. `redis`: shared by every worker of every replica, and
   * kept across restarts.
   */
  backend: 'memory' | 'redis'
  /** Required with `backend: redis`. */
  redis?: {
    /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). */
    url: string
    /** Prefix of every key and of the change channel. Default `mcp-policy:`. */
    keyPrefix?: string
    /** Default 1000. */
    commandTimeoutMs?: number
    /** Default 2000. */
    connectTimeoutMs?: number
  }
}

/** JSON Schema (draft 2020-12) of {@link StateConfig}, for the PDP's configuration schema. */
export const stateConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['backend'],
  properties: {
    backend: { enum: ['memory', 'redis'] },
    redis: {
      type: 'object',
      additionalProperties: false,
      required: ['url'],
      properties: {
        url: { type: 'string', pattern: '^rediss?://' },
        keyPrefix: { type: 'string', pattern: '^[A-Za-z0-9:_.-]{0,64}$' },
        commandTimeoutMs: { type: 'integer', minimum: 1, maximum: 60_000 },
        connectTimeoutMs: { type: 'integer', minimum: 1, maximum: 60_000 },
      },
    },
  },
  // backend redis needs redis.url.
  anyOf: [{ properties: { backend: { const: 'memory' } } }, { required: ['redis'] }],
} as const
