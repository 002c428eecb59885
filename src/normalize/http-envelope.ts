import { McpPolicyError } from '../errors.js'

/** HTTP headers as Node and most gateways hand them over. */
export type HeaderBag = Record<string, string | string[] | undefined>

/** What the normalizer reads from HTTP headers. */
export interface HttpFacts {
  /** The bearer token, if an `Authorization: Bearer` header was sent (never logged, never in the input). */
  bearerToken?: string
  /** True when an Authorization header was present but not a well-formed Bearer credential. */
  malformedAuthorization: boolean
  sessionId?: string
  protocolVersion?: string
  sourceIp?: string
  host?: string
  path?: string
  userAgent?: string
  requestId?: string
  traceId?: string
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/

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
  const lower = new Map<string, string[]>()
  let count = 0
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue
    const values = Array.isArray(value) ? value : [value]
    count += values.length
    if (count > limits.maxHeaders) invalid(`more than ${limits.maxHeaders} headers`)
    for (const v of values) {
      if (typeof v !== 'string') invalid(`header ${name} is not text`)
      if (v.length > limits.maxHeaderBytes) invalid(`header ${name} exceeds ${limits.maxHeaderBytes} bytes`)
    }
    const key = name.toLowerCase()
    lower.set(key, [...(lower.get(key) ?? []), ...values])
  }
  const single = (name: string): string | undefined => {
    const values = lower.get(name)
    if (!values || values.length === 0) return undefined
    if (values.length > 1) invalid(`header ${name} sent more than once`)
    return values[0]!.trim()
  }

  const authorization = single('authorization')
  const bearer = authorization ? /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization)?.[1] : undefined
  const facts: HttpFacts = {
    bearerToken: bearer,
    malformedAuthorization: authorization !== undefined && bearer === undefined,
    sessionId: single('mcp-session-id'),
    protocolVersion: single('mcp-protocol-version'),
    userAgent: single('user-agent'),
    requestId: single('x-request-id'),
    host: single('host')?.replace(/:\d+$/, ''),
  }
  const traceparent = single('traceparent')
  const trace = traceparent ? TRACEPARENT.exec(traceparent.toLowerCase()) : null
  if (trace) facts.traceId = trace[1]
  if (limits.trustForwarded) {
    // The left-most X-Forwarded-For entry is the original client, as appended by the first proxy.
    const forwardedFor = lower.get('x-forwarded-for')?.join(',').split(',')[0]?.trim()
    if (forwardedFor) facts.sourceIp = forwardedFor
    const forwardedHost = single('x-forwarded-host')
    if (forwardedHost) facts.host = forwardedHost.replace(/:\d+$/, '')
    const forwardedUri = single('x-forwarded-uri')
    if (forwardedUri) facts.path = forwardedUri.split('?')[0]
  }
  return facts
}

function invalid(message: string): never {
  throw new McpPolicyError('ERR_NORMALIZE_HEADERS_INVALID', message)
}
