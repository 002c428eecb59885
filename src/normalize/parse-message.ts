import { McpPolicyError } from '../errors.js'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Parses an untrusted JSON-RPC body: valid UTF-8, at most `maxBytes`, nested at most `maxDepth`
 * deep (checked on the text before parsing, so a hostile body never reaches the parser's or any
 * later walker's recursion).
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
  checkDepth(text, limits.maxDepth)
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new McpPolicyError('ERR_NORMALIZE_JSON_INVALID', `body is not JSON: ${(err as Error).message}`, {
      cause: err,
    })
  }
}

/**
 * Checks the nesting depth of an already-parsed value without recursion.
 *
 * @throws McpPolicyError `ERR_NORMALIZE_TOO_DEEP`.
 */
export function checkValueDepth(value: unknown, maxDepth: number): void {
  const stack: [unknown, number][] = [[value, 1]]
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!
    if (node === null || typeof node !== 'object') continue
    if (depth > maxDepth) tooDeep(maxDepth)
    for (const child of Object.values(node)) stack.push([child, depth + 1])
  }
}

// One pass over the text counting brackets outside strings: O(n), no recursion.
function checkDepth(text: string, maxDepth: number): void {
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
