import { McpPolicyError } from '../errors.js'
import { isCredentialName } from './credential-mask.js'

/** HTTP headers as Node and most gateways hand them over. */
export type HeaderBag = Record<string, string | string[] | undefined>

/** What the normalizer reads from HTTP headers. */
export interface HttpFacts {
  /**
   * The credential of an `Authorization: Bearer` header, as sent (never logged, never in the
   * input); whether it is a well-formed token is the verifier's call.
   */
  bearerToken?: string
  /** True when an Authorization header was present but is not `Bearer <credential>`. */
  malformedAuthorization: boolean
  sessionId?: string
  protocolVersion?: string
  sourceIp?: string
  host?: string
  path?: string
  userAgent?: string
  requestId?: string
  /** `Mcp-Method` (MCP 2026-07-28): the method the body must name. */
  mcpMethod?: string
  /** `Mcp-Name` (MCP 2026-07-28), as sent: the tool, prompt, resource or task the body must name. */
  mcpName?: string
  /** W3C `traceparent` and `tracestate`, as sent (read by `readTraceContext`). */
  traceparent?: string
  tracestate?: string
}

// MCP's own headers: each names one fact of the one message, so a second copy is refused with its
// own code (a proxy may read the first, a server the last). Node joins unknown headers sent twice
// into one `a, b` string: enforcement points hand these over from `headersDistinct`
// (`withDistinctMcpHeaders`) so a copy is seen as one.
const MCP_HEADERS = new Set(['mcp-method', 'mcp-name', 'mcp-protocol-version', 'mcp-session-id'])

/**
 * Reads the MCP-relevant HTTP headers: `Authorization`, `Mcp-Session-Id`, `MCP-Protocol-Version`,
 * `X-Forwarded-For/Host/Uri`, `traceparent`, `User-Agent`, `X-Request-Id`. Header names are
 * case-insensitive; a header sent twice where only one makes sense is rejected.
 *
 * @throws McpPolicyError `ERR_NORMALIZE_HEADERS_INVALID` on too many or too large headers.
 * @example
 * ```ts
 * readHttpFacts({ authorization: 'Bearer eyJ…', 'mcp-session-id': 'abc' }, { maxHeaders: 100, maxHeaderBytes: 16384, trustForwarded: true })
 * ```
 */
export function readHttpFacts(
  headers: HeaderBag,
  limits: { maxHeaders: number; maxHeaderBytes: number; trustForwarded: boolean },
): HttpFacts {
  // One pass on every request: bound every header, keep only the ones read below (names folded
  // to lower case; Node already hands them so). A header sent more than once keeps every value.
  const wanted: (string | string[] | undefined)[] = new Array(WANTED.size).fill(undefined)
  let count = 0
  for (const name of Object.keys(headers)) {
    const value = headers[name]
    if (value === undefined) continue
    if (typeof value === 'string') {
      count++
      if (value.length > limits.maxHeaderBytes)
        invalid(`header ${name} exceeds ${limits.maxHeaderBytes} bytes`)
    } else {
      if (!Array.isArray(value)) invalid(`header ${name} is not text`)
      count += value.length
      for (const v of value) {
        if (typeof v !== 'string') invalid(`header ${name} is not text`)
        if (v.length > limits.maxHeaderBytes) invalid(`header ${name} exceeds ${limits.maxHeaderBytes} bytes`)
      }
    }
    if (count > limits.maxHeaders) invalid(`more than ${limits.maxHeaders} headers`)
    const slot = WANTED.get(name) ?? WANTED.get(name.toLowerCase())
    if (slot === undefined) continue
    const seen = wanted[slot]
    wanted[slot] = seen === undefined ? value : [seen, value].flat()
  }
  const single = (name: string): string | undefined => {
    const value = wanted[WANTED.get(name)!]
    if (value === undefined) return undefined
    if (typeof value === 'string') return value.trim()
    if (value.length > 1) {
      if (MCP_HEADERS.has(name))
        throw new McpPolicyError('ERR_NORMALIZE_MCP_HEADER_DUPLICATE', `header ${name} sent more than once`)
      invalid(`header ${name} sent more than once`)
    }
    return value[0]?.trim()
  }

  const authorization = single('authorization')
  // Only the scheme is checked here: the verifier checks the credential itself (a compact JWS),
  // and a token it has already verified is matched exactly, so the hot path does not scan it twice.
  const bearer = authorization !== undefined ? bearerCredential(authorization) : undefined
  const facts: HttpFacts = {
    bearerToken: bearer,
    malformedAuthorization: authorization !== undefined && bearer === undefined,
    sessionId: single('mcp-session-id'),
    protocolVersion: single('mcp-protocol-version'),
    userAgent: single('user-agent'),
    requestId: single('x-request-id'),
    host: single('host')?.replace(/:\d+$/, ''),
  }
  const mcpMethod = single('mcp-method')
  if (mcpMethod !== undefined) facts.mcpMethod = mcpMethod
  const mcpName = single('mcp-name')
  if (mcpName !== undefined) facts.mcpName = mcpName
  // A trace names the request, it grants nothing: a second copy makes it unreadable, not refused.
  const traceparent = wanted[WANTED.get('traceparent')!]
  if (typeof traceparent === 'string') facts.traceparent = traceparent
  else if (traceparent?.length === 1) facts.traceparent = traceparent[0]
  const tracestate = wanted[WANTED.get('tracestate')!]
  // W3C: several tracestate headers are one list.
  if (tracestate !== undefined)
    facts.tracestate = typeof tracestate === 'string' ? tracestate : tracestate.join(',')
  if (limits.trustForwarded) {
    // The left-most X-Forwarded-For entry is the original client, as appended by the first proxy.
    const forwardedFor = firstListEntry(wanted[WANTED.get('x-forwarded-for')!])
    if (forwardedFor) facts.sourceIp = forwardedFor
    const forwardedHost = single('x-forwarded-host')
    if (forwardedHost) facts.host = forwardedHost.replace(/:\d+$/, '')
    const forwardedUri = single('x-forwarded-uri')
    if (forwardedUri) facts.path = forwardedUri.split('?')[0]
  }
  return facts
}

// The headers read, each with its slot in the per-request array.
const WANTED: ReadonlyMap<string, number> = new Map(
  [
    'authorization',
    'mcp-session-id',
    'mcp-protocol-version',
    'user-agent',
    'x-request-id',
    'host',
    'traceparent',
    'tracestate',
    'mcp-method',
    'mcp-name',
    'x-forwarded-for',
    'x-forwarded-host',
    'x-forwarded-uri',
  ].map((name, slot) => [name, slot]),
)

/**
 * The headers of a Node request with MCP's own headers (`Mcp-Method`, `Mcp-Name`,
 * `MCP-Protocol-Version`, `Mcp-Session-Id`) taken from `headersDistinct` when one was sent more
 * than once: Node joins such copies into one `a, b` value, which would read as a disagreement
 * with the body, not as the duplicate it is. The same object when nothing was sent twice.
 *
 * @example
 * ```ts
 * const headers = withDistinctMcpHeaders(req.headers, req.headersDistinct)
 * ```
 */
export function withDistinctMcpHeaders(
  headers: HeaderBag,
  distinct: Record<string, string[] | undefined>,
): HeaderBag {
  let out: HeaderBag | undefined
  for (const name of MCP_HEADERS) {
    const values = distinct[name]
    if (values !== undefined && values.length > 1) {
      out ??= { ...headers }
      out[name] = values
    }
  }
  return out ?? headers
}

function firstListEntry(value: string | string[] | undefined): string | undefined {
  const first = typeof value === 'string' ? value : value?.[0]
  if (first === undefined) return undefined
  const comma = first.indexOf(',')
  return (comma < 0 ? first : first.slice(0, comma)).trim()
}

function bearerCredential(authorization: string): string | undefined {
  if (authorization.length < 8 || authorization.slice(0, 7).toLowerCase() !== 'bearer ') return undefined
  const credential = authorization.slice(7).trimStart()
  // One credential, not a list or a second parameter (native searches, not a scan in JS).
  if (credential === '' || credential.includes(' ') || credential.includes('\t') || credential.includes(','))
    return undefined
  return credential
}

function invalid(message: string): never {
  throw new McpPolicyError('ERR_NORMALIZE_HEADERS_INVALID', message)
}

// Shorter values are not masked by presence: a 2-character cookie value would mask every "ab".
const MIN_PRESENTED_CHARS = 8
const MAX_PRESENTED = 32

/**
 * The credentials a request presents in its headers, to be masked wherever else they appear in its
 * metadata: the credential of every header named like one (`Authorization` and
 * `Proxy-Authorization` without their scheme, each `Cookie` value, `X-Api-Key`, …), 8 characters
 * or more, longest first (so a credential containing another is masked whole). Never throws, on any
 * shape of header bag.
 *
 * @example
 * ```ts
 * presentedCredentials({ authorization: 'Bearer abcdefgh123', cookie: 'sid=0123456789; theme=dark' })
 * // ['abcdefgh123', '0123456789']
 * ```
 */
export function presentedCredentials(headers: unknown): readonly string[] {
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) return []
  let found: string[] | undefined
  const add = (text: string) => {
    const trimmed = text.trim()
    if (trimmed.length < MIN_PRESENTED_CHARS) return
    found ??= []
    if (found.length < MAX_PRESENTED && !found.includes(trimmed)) found.push(trimmed)
  }
  for (const name in headers) {
    if (!Object.hasOwn(headers, name) || !isCredentialName(name)) continue
    const value = (headers as Record<string, unknown>)[name]
    const values = typeof value === 'string' ? [value] : Array.isArray(value) ? value : []
    for (const v of values) {
      if (typeof v !== 'string') continue
      const whole = v.trim()
      add(whole)
      // `<scheme> <credential>`: the credential alone.
      const space = whole.indexOf(' ')
      if (space > 0) add(whole.slice(space + 1))
      if (name.length >= 6 && name.toLowerCase().includes('cookie'))
        for (const pair of whole.split(';')) {
          const eq = pair.indexOf('=')
          if (eq >= 0) add(pair.slice(eq + 1))
        }
    }
  }
  // Longest first, so a credential containing another is masked whole.
  return found === undefined ? NONE : found.length === 1 ? found : found.sort((a, b) => b.length - a.length)
}

const NONE: readonly string[] = Object.freeze([])
