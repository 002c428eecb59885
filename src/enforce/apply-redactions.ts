/**
 * Returns a copy of `value` with each redaction's JSON pointer (RFC 6901) replaced by its
 * `replacement` (default `"[REDACTED]"`), or `undefined` when a pointer names nothing: a redaction
 * that cannot be applied must block the result rather than let the original through. The pointer
 * `""` names the whole value (a tool result that is a bare string).
 *
 * @internal
 *
 * @example
 * ```ts
 * applyRedactions({ content: [{ type: 'text', text: 'key AKIA…' }] }, [{ path: '/content/0/text', replacement: 'key [REDACTED]' }])
 * ```
 */
export function applyRedactions(
  value: unknown,
  redactions: readonly { path: string; replacement?: unknown }[],
): unknown {
  if (redactions.length === 0) return value
  let copy = structuredClone(value)
  for (const { path, replacement } of redactions) {
    const replaced = replacement === undefined ? '[REDACTED]' : replacement
    if (path === '') copy = replaced
    else if (!setAt(copy, path, replaced)) return undefined
  }
  return copy
}

function setAt(root: unknown, pointer: string, replacement: unknown): boolean {
  if (!pointer.startsWith('/')) return false
  const tokens = pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
  let node = root
  for (const [i, token] of tokens.entries()) {
    if (node === null || typeof node !== 'object') return false
    const last = i === tokens.length - 1
    if (Array.isArray(node)) {
      const index = /^(0|[1-9]\d*)$/.test(token) ? Number(token) : -1
      if (index < 0 || index >= node.length) return false
      if (last) node[index] = replacement
      else node = node[index]
      continue
    }
    const record = node as Record<string, unknown>
    if (!Object.hasOwn(record, token)) return false
    if (last) record[token] = replacement
    else node = record[token]
  }
  return true
}
