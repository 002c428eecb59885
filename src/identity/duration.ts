import { McpPolicyError, type McpPolicyErrorCode } from '../errors.js'

/**
 * A span of time in configuration: a number of seconds, or a string such as `'90s'`, `'15m'`,
 * `'1h'`, `'7d'`.
 */
export type Duration = number | string

/** The pattern a duration string matches (also used by the configuration schema). */
export const durationPattern = '^[0-9]{1,9}(s|m|h|d)$'

/**
 * The JSON Schema (draft 2020-12) of a {@link Duration}, shared by every configuration schema that
 * takes one so they accept exactly the same spellings.
 */
export const durationSchema = {
  oneOf: [
    { type: 'number', minimum: 0 },
    { type: 'string', pattern: durationPattern },
  ],
} as const

/** How {@link durationSeconds} reports a bad value: the error code and the message's prefix. */
export interface DurationErrorOptions {
  /** Default `ERR_IDENTITY_CONFIG_INVALID`. */
  code?: McpPolicyErrorCode
  /** Put before the message; default `'identity: '`. */
  prefix?: string
}

const unitSeconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

/**
 * A {@link Duration} in whole seconds.
 *
 * @throws McpPolicyError `ERR_IDENTITY_CONFIG_INVALID` (or `options.code`) naming `name` when the
 *   value is neither a non-negative number of seconds nor a span like `15m`.
 * @example
 * ```ts
 * durationSeconds('1h', 'maxTokenLifetime') // 3600
 * durationSeconds(90, 'maxAuthAge') // 90
 * ```
 */
export function durationSeconds(value: Duration, name: string, options: DurationErrorOptions = {}): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.floor(value)
  const match = typeof value === 'string' ? new RegExp(durationPattern).exec(value) : null
  if (!match)
    throw new McpPolicyError(
      options.code ?? 'ERR_IDENTITY_CONFIG_INVALID',
      `${options.prefix ?? 'identity: '}${name} must be a number of seconds or a span like 90s, 15m, 1h, 7d (got ${JSON.stringify(value)})`,
    )
  return Number.parseInt(value as string, 10) * unitSeconds[match[1]!]!
}
