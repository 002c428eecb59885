import { McpPolicyError } from '../errors.js'
import { findDuplicateKey, namesMoreMembersThan } from './duplicate-keys.js'
import { checkWellFormed, mayEscapeSurrogate } from './well-formed.js'

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Parses an untrusted JSON-RPC body: valid UTF-8, at most `maxBytes`, nested at most `maxDepth`
 * deep, no object holding a key twice. A large body has its depth checked on the text before
 * parsing, so a hostile one is refused before the parser builds it; a small one (the common case)
 * is parsed first and its nodes walked, which costs less than scanning every character. Neither
 * path recurses.
 *
 * Duplicate keys (`JSON.parse` keeps the last, other parsers the first) are found by counting: the
 * member names in the text (counted by the depth scan of a large body; bounded by its colons for a
 * small one, see `namesMoreMembersThan`) must equal the keys of the parsed objects, which the depth
 * walk counts. Only a body that fails the count is scanned for the duplicate itself, to name it.
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_NORMALIZE_JSON_INVALID`, `ERR_NORMALIZE_TOO_LARGE`, `ERR_NORMALIZE_TOO_DEEP`,
 *   `ERR_NORMALIZE_DUPLICATE_KEY`.
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
  const textNames = scanned ? checkTextDepth(text, limits.maxDepth) : -1
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    // V8 quotes the text around the error: the message names the position only, as it reaches the
    // log and the body may hold a credential.
    const position = /position (\d+)/.exec((err as Error).message)?.[1]
    throw new McpPolicyError(
      'ERR_NORMALIZE_JSON_INVALID',
      position === undefined ? 'body is not JSON' : `body is not JSON (error at position ${position})`,
    )
  }
  if (mayEscapeSurrogate(text)) checkWellFormed(value, 'ERR_NORMALIZE_JSON_INVALID', 'the body')
  const parsedKeys = checkParsedDepth(value, limits.maxDepth)
  if (scanned ? textNames !== parsedKeys : namesMoreMembersThan(text, parsedKeys)) duplicateKey(text)
  return value
}

// Below this many characters nesting is at most ~2,000 deep: V8's JSON.parse is iterative and
// builds that in microseconds, so the cheaper walk over the parsed nodes is safe.
const SCAN_TEXT_FROM_CHARS = 4096

/**
 * Checks the nesting depth of an already-parsed value without recursion.
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_NORMALIZE_TOO_DEEP`.
 */
export function checkValueDepth(value: unknown, maxDepth: number): void {
  walkValue(value, maxDepth)
}

/**
 * {@link checkValueDepth} for a value `JSON.parse` has just built (plain objects and arrays),
 * returning the number of keys of its objects. Walks objects with `for…in`, which allocates
 * nothing: `Object.values` allocates an array per object, and on a large fresh tree the young
 * generation collections that triggers cost more than the walk. `for…in` also lists inherited
 * enumerable properties, so if something has added one to `Object.prototype` it falls back to
 * `Object.values`.
 */
function checkParsedDepth(value: unknown, maxDepth: number): number {
  if (value === null || typeof value !== 'object') return 0
  if (!objectPrototypeIsPlain()) return walkValue(value, maxDepth)
  let keys = 0
  const nodes: object[] = [value]
  const depths: number[] = [1]
  while (nodes.length > 0) {
    const node = nodes.pop()!
    const depth = depths.pop()!
    if (depth > maxDepth) tooDeep(maxDepth)
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const child: unknown = node[i]
        if (child !== null && typeof child === 'object') {
          nodes.push(child)
          depths.push(depth + 1)
        }
      }
    } else {
      for (const key in node) {
        keys++
        const child: unknown = (node as Record<string, unknown>)[key]
        if (child !== null && typeof child === 'object') {
          nodes.push(child)
          depths.push(depth + 1)
        }
      }
    }
  }
  return keys
}

const PLAIN = {}

function objectPrototypeIsPlain(): boolean {
  for (const _ in PLAIN) return false
  return true
}

/** {@link checkValueDepth}, returning the number of object keys in the value (arrays' indexes not counted). */
function walkValue(value: unknown, maxDepth: number): number {
  if (value === null || typeof value !== 'object') return 0
  let keys = 0
  // Two parallel stacks (no tuple per node); only containers are pushed.
  const nodes: object[] = [value]
  const depths: number[] = [1]
  while (nodes.length > 0) {
    const node = nodes.pop()!
    const depth = depths.pop()!
    if (depth > maxDepth) tooDeep(maxDepth)
    let children: unknown[]
    if (Array.isArray(node)) children = node
    else {
      children = Object.values(node)
      keys += children.length
    }
    for (let i = 0; i < children.length; i++) {
      const child = children[i]
      if (child !== null && typeof child === 'object') {
        nodes.push(child)
        depths.push(depth + 1)
      }
    }
  }
  return keys
}

// One pass over the text counting brackets outside strings: O(n), no recursion. Returns the number
// of colons outside strings: the member names, once JSON.parse has accepted the text.
function checkTextDepth(text: string, maxDepth: number): number {
  let depth = 0
  let names = 0
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
    else if (c === 0x3a) names++
  }
  return names
}

function tooLarge(maxBytes: number): never {
  throw new McpPolicyError('ERR_NORMALIZE_TOO_LARGE', `body exceeds ${maxBytes} bytes`)
}

// The message reaches the decision log and the caller: it locates the duplicate by position and
// depth, never by quoting the body (a key, or a key on the way to it, may be a credential).
function duplicateKey(text: string): never {
  const found = findDuplicateKey(text)
  const depth = found === undefined ? 0 : found.pointer.split('/').length
  throw new McpPolicyError(
    'ERR_NORMALIZE_DUPLICATE_KEY',
    found
      ? `body holds a key twice in one object (${depth} level${depth === 1 ? '' : 's'} deep; the second at character ${found.at})`
      : 'body holds a key twice in one object',
  )
}

function tooDeep(maxDepth: number): never {
  throw new McpPolicyError('ERR_NORMALIZE_TOO_DEEP', `body nests deeper than ${maxDepth} levels`)
}
