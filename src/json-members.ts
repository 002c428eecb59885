/**
 * Reading members of JSON data (a bundle's data document, a parsed message) by their own keys
 * only: a `__proto__` or `constructor` key must never reach `Object.prototype`.
 */

/**
 * The own member `key` of a plain JSON object, or undefined (for arrays and non-objects too).
 *
 * @example
 * ```ts
 * member(member(data, 'mcp_data'), 'servers') // the servers map, or undefined
 * ```
 */
export function member(value: unknown, key: string): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined
  return Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined
}

/** The own `[key, value]` pairs of a plain JSON object; none for arrays and non-objects. */
export function members(value: unknown): [string, unknown][] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return []
  return Object.entries(value as Record<string, unknown>)
}
