import { McpPolicyError } from '../errors.js'

/**
 * A span of time in configuration: a number of seconds, or a string such as `'90s'`, `'15m'`,
 * `'1h'`, `'7d'`.
 */
export type Duration = number | string

/** The pattern a duration string matches (also used by the configuration schema). */
export const durationPattern = '^[0-9]{1,9}(s|m|h|d)$'

const unitSeconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

/**
 * A {@link Duration} in whole seconds.
 *
 * @throws McpPolicyError `ERR_IDENTITY_CONFIG_INVALID` naming `name` when the value is neither a
 *   non-negative number of seconds nor a span like `15m`.
 * @example
 * ```ts
 * durationSeconds('1h', 'maxTokenLifetime') // 3600
 * durationSeconds(90, 'maxAuthAge') // 90
 * ```
 */
export function durationSeconds(value: Duration, name: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.floor(value)
  const match = typeof value === 'string' ? new RegExp(durationPattern).exec(value) : null
  if (!match)
    throw new McpPolicyError(
      'ERR_IDENTITY_CONFIG_INVALID',
      `identity: ${name} must be a number of seconds or a span like 90s, 15m, 1h, 7d (got ${JSON.stringify(value)})`,
    )
  return Number.parseInt(value as string, 10) * unitSeconds[match[1]!]!
}
