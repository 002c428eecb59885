import { McpPolicyError } from '../errors.js'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Parses an untrusted JSON-RPC body: valid UTF-8, at most `maxBytes`, nested at most `maxDepth`
 * deep. A large body has its depth checked on the text before parsing, so a hostile one is refused
 * before the parser builds it; a small one (the common case) is parsed first and its nodes walked,
 * which costs less than scanning every character. Neither path recurses.
 *
 * @throws McpPolicyError `ERR_NORMALIZE_JSON_INVALID`, `ERR_NORMALIZE_TOO_LARGE`, `ERR_NORMALIZE_TOO_DEEP`.
 * @example
 * ```ts
 * const message = parseMessageBody('{"jsonrpc":"2.0","id":1,"method":"ping"}', { maxBytes: 1 << 20, maxDepth: 64 })
 * ```
 */
export function parseMessageBody(
  body: string | Uint8Array,
  limits: { maxBytes: number; maxDepth: number },
): unknown {
  let text: string
  if (typeof body === 'string') {
    if (body.length * 3 > limits.maxBytes && Buffer.byteLength(body, 'utf8') > limits.maxBytes)
      tooLarge(limits.maxBytes)
    if (!body.isWellFormed()) {
      throw new McpPolicyError('ERR_NORMALIZE_JSON_INVALID', 'body holds unpaired UTF-16 surrogates')
    }
    text = body
  } else {
    if (body.byteLength > limits.maxBytes) tooLarge(limits.maxBytes)
    try {
      text = utf8.decode(body)
    } catch (err) {
      throw new McpPolicyError('ERR_NORMALIZE_JSON_INVALID', 'body is not valid UTF-8', { cause: err })
    }
  }
  const scanned = text.length > SCAN_TEXT_FROM_CHARS
  if (scanned) checkTextDepth(text, limits.maxDepth)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new McpPolicyError('ERR_NORMALIZE_JSON_INVALID', `body is not JSON: ${(err as Error).message}`, {
      cause: err,
    })
  }
  if (!scanned) checkValueDepth(value, limits.maxDepth)
  return value
}

// Below this many characters nesting is at most ~2,000 deep: V8's JSON.parse is iterative and
// builds that in microseconds, so the cheaper walk over the parsed nodes is safe.
const SCAN_TEXT_FROM_CHARS = 4096

/**
 * Checks the nesting depth of an already-parsed value without recursion.
 *
 * @throws McpPolicyError `ERR_NORMALIZE_TOO_DEEP`.
 */
export function checkValueDepth(value: unknown, maxDepth: number): void {
  if (value === null || typeof value !== 'object') return
  // Two parallel stacks (no tuple per node); only containers are pushed.
  const nodes: object[] = [value]
  const depths: number[] = [1]
  while (nodes.length > 0) {
    const node = nodes.pop()!
    const depth = depths.pop()!
    if (depth > maxDepth) tooDeep(maxDepth)
    const children: unknown[] = Array.isArray(node) ? node : Object.values(node)
    for (let i = 0; i < children.length; i++) {
      const child = children[i]
      if (child !== null && typeof child === 'object') {
        nodes.push(child)
        depths.push(depth + 1)
      }
    }
  }
}

// One pass over the text counting brackets outside strings: O(n), no recursion.
function checkTextDepth(text: string, maxDepth: number): void {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) tooDeep(maxDepth)
    } else if (c === 0x7d || c === 0x5d) depth--
  }
}

function tooLarge(maxBytes: number): never {
  throw new McpPolicyError('ERR_NORMALIZE_TOO_LARGE', `body exceeds ${maxBytes} bytes`)
}

function tooDeep(maxDepth: number): never {
  throw new McpPolicyError('ERR_NORMALIZE_TOO_DEEP', `body nests deeper than ${maxDepth} levels`)
}
