import { McpPolicyError, type McpPolicyErrorCode } from '../errors.js'

// `\uD800`–`\uDFFF` written as a JSON escape: the only way well-formed text can parse into a
// string holding a lone surrogate.
const ESCAPED_SURROGATE = /\\u[dD][89a-fA-F]/

/**
 * Whether JSON text may parse into a string (or key) holding an unpaired UTF-16 surrogate: it
 * spells a surrogate as a `\u` escape. Text that does not needs no walk after parsing.
 */
export function mayEscapeSurrogate(text: string): boolean {
  return text.includes('\\u') && ESCAPED_SURROGATE.test(text)
}

/**
 * Refuses a value holding a string or key with an unpaired UTF-16 surrogate (`"\ud800"`): it is
 * not Unicode text, has no UTF-8 form, and the policy engine and the decision log cannot take it
 * (I-JSON, RFC 7493 §2.1, forbids it). Walks without recursion.
 *
 * @throws McpPolicyError `code` (an `ERR_NORMALIZE_*`), naming `what` but never quoting the text.
 * @example
 * ```ts
 * checkWellFormed(JSON.parse('{"q":"\\ud800"}'), 'ERR_NORMALIZE_JSON_INVALID', 'message') // throws
 * ```
 */
export function checkWellFormed(value: unknown, code: McpPolicyErrorCode, what: string): void {
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const node = stack.pop()
    if (typeof node === 'string') {
      if (!node.isWellFormed()) notUnicode(code, what)
    } else if (Array.isArray(node)) {
      for (const item of node) stack.push(item)
    } else if (node !== null && typeof node === 'object') {
      for (const key of Object.keys(node)) {
        if (!key.isWellFormed()) notUnicode(code, what)
        stack.push((node as Record<string, unknown>)[key])
      }
    }
  }
}

function notUnicode(code: McpPolicyErrorCode, what: string): never {
  throw new McpPolicyError(
    code,
    `${what} holds a string with an unpaired UTF-16 surrogate (not Unicode text)`,
  )
}
