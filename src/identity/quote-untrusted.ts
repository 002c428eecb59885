/**
 * Quotes a value taken from an unverified token (a header's `kid`, `alg`, `typ`, the `iss` claim)
 * for a reason message: JSON-quoted so control characters cannot forge log lines, and cut at 64
 * characters so a token cannot smuggle its own bulk into the log.
 *
 * @example
 * ```ts
 * quoteUntrusted('kid\n2') // '"kid\\n2"'
 * ```
 */
export function quoteUntrusted(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value)
}
