import { McpPolicyError } from '../errors.js'

/**
 * The body member `Mcp-Name` mirrors, by method (MCP 2026-07-28, SEP-2243; the resource methods of
 * earlier revisions that name a URI too, so a client that sends the header for them is held to it).
 */
const NAME_SOURCE: Readonly<Record<string, 'name' | 'uri' | 'taskId'>> = Object.assign(Object.create(null), {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'resources/subscribe': 'uri',
  'resources/unsubscribe': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
})

const BASE64_PREFIX = '=?base64?'
const BASE64_SUFFIX = '?='
const BASE64_CANONICAL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Holds the routing headers of MCP 2026-07-28 to the body they describe: `Mcp-Method` must name
 * the body's method, and `Mcp-Name` (decoded when it is sent as `=?base64?…?=`) the tool or prompt
 * name, resource URI or task id the body names for that method. A proxy, load balancer or WAF in
 * front of the server may route or filter by these headers while the policy judges the body: a
 * disagreement would let one message be judged and another acted on. An absent header is no
 * disagreement (stdio and earlier revisions send none); a present one must agree exactly.
 *
 * Messages say which header disagrees, never its value or the body's (either may carry a
 * credential in a resource URI, and both reach the log).
 *
 * @throws McpPolicyError `ERR_NORMALIZE_MCP_HEADER_MISMATCH`.
 * @example
 * ```ts
 * checkRoutingHeaders({ method: 'tools/call', params: { name: 'search' } }, { mcpMethod: 'tools/call', mcpName: 'search' }) // passes
 * checkRoutingHeaders({ method: 'tools/call', params: { name: 'delete' } }, { mcpMethod: 'tools/call', mcpName: 'search' }) // throws
 * ```
 */
export function checkRoutingHeaders(
  message: { method?: unknown; params?: unknown },
  headers: { mcpMethod?: string; mcpName?: string },
): void {
  const { mcpMethod, mcpName } = headers
  if (mcpMethod === undefined && mcpName === undefined) return
  const method = typeof message.method === 'string' ? message.method : undefined
  if (mcpMethod !== undefined) {
    if (method === undefined) mismatch('Mcp-Method is sent with a JSON-RPC response, which names no method')
    if (mcpMethod !== method) mismatch('Mcp-Method names another method than the body')
  }
  if (mcpName === undefined) return
  if (method === undefined) mismatch('Mcp-Name is sent with a JSON-RPC response, which names nothing')
  const field = NAME_SOURCE[method]
  if (field === undefined)
    mismatch(`Mcp-Name is sent with ${safeMethod(method)}, which names no tool, prompt, resource or task`)
  const params = message.params
  const value =
    params !== null && typeof params === 'object' && !Array.isArray(params)
      ? (params as Record<string, unknown>)[field]
      : undefined
  if (typeof value !== 'string')
    mismatch(`Mcp-Name is sent but ${safeMethod(method)} carries no params.${field}`)
  const decoded = decodeHeaderValue(mcpName)
  if (decoded === undefined) mismatch('Mcp-Name carries an invalid =?base64?…?= value')
  if (decoded !== value)
    mismatch(
      `Mcp-Name names another ${field === 'uri' ? 'resource' : field === 'taskId' ? 'task' : method === 'tools/call' ? 'tool' : 'prompt'} than params.${field} of the body`,
    )
}

/**
 * The body member `Mcp-Name` mirrors for a method (`name`, `uri` or `taskId`), or `undefined` for a
 * method that names nothing.
 */
export function mcpNameField(method: string): 'name' | 'uri' | 'taskId' | undefined {
  return NAME_SOURCE[method]
}

/**
 * An MCP header value as the MCP SDK's 2026-07-28 client sends it: printable ASCII (and tabs) as
 * it is; an empty value, one with surrounding whitespace, any other character, or text shaped
 * like the Base64 form as `=?base64?<Base64 of UTF-8>?=`.
 */
export function encodeHeaderValue(value: string): string {
  const plain =
    value !== '' &&
    value === value.trim() &&
    !(value.startsWith(BASE64_PREFIX) && value.endsWith(BASE64_SUFFIX)) &&
    /^[\t\x20-\x7e]*$/.test(value)
  return plain ? value : `${BASE64_PREFIX}${Buffer.from(value, 'utf8').toString('base64')}${BASE64_SUFFIX}`
}

/**
 * Decodes an MCP header value: one sent as `=?base64?<Base64 of UTF-8>?=` (non-ASCII names) is
 * decoded, any other is returned as it is. `undefined` when the Base64 is not canonical or not UTF-8.
 */
export function decodeHeaderValue(value: string): string | undefined {
  if (!(value.startsWith(BASE64_PREFIX) && value.endsWith(BASE64_SUFFIX)) || value.length < 11) return value
  const encoded = value.slice(BASE64_PREFIX.length, value.length - BASE64_SUFFIX.length)
  if (!BASE64_CANONICAL.test(encoded)) return undefined
  try {
    return utf8.decode(Buffer.from(encoded, 'base64'))
  } catch {
    return undefined
  }
}

// The method reaches the message only when it is short and plain: it comes from the body.
function safeMethod(method: string): string {
  return /^[\w/.-]{1,64}$/.test(method) ? method : 'this method'
}

function mismatch(message: string): never {
  throw new McpPolicyError('ERR_NORMALIZE_MCP_HEADER_MISMATCH', message)
}
