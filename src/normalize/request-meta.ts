import { McpPolicyError } from '../errors.js'

/** `_meta` key of the protocol version governing one request (MCP 2026-07-28). */
export const PROTOCOL_VERSION_META_KEY = 'io.modelcontextprotocol/protocolVersion'
/** `_meta` key of the client's self-description, sent on every request (MCP 2026-07-28). */
export const CLIENT_INFO_META_KEY = 'io.modelcontextprotocol/clientInfo'
/** `_meta` key of the client's capabilities, declared per request (MCP 2026-07-28). */
export const CLIENT_CAPABILITIES_META_KEY = 'io.modelcontextprotocol/clientCapabilities'
/** `_meta` keys of W3C Trace Context (SEP-414). */
export const TRACEPARENT_META_KEY = 'traceparent'
export const TRACESTATE_META_KEY = 'tracestate'

/**
 * The first stateless MCP revision: no `initialize`, no `Mcp-Session-Id`, the envelope in every
 * request's `_meta`. Revisions are ISO dates, so a later one (known or not) compares greater.
 */
export const FIRST_STATELESS_REVISION = '2026-07-28'

/** What a request's `_meta` says about its revision and its client. */
export interface RequestMeta {
  protocolVersion?: string
  clientInfo?: { name?: string; version?: string; title?: string }
  clientCapabilities?: Record<string, unknown>
  traceparent?: unknown
  tracestate?: unknown
  /** Whether `_meta` holds any of the envelope's members (version, client info, capabilities). */
  envelope?: boolean
}

const ENVELOPE_KEYS = [PROTOCOL_VERSION_META_KEY, CLIENT_INFO_META_KEY, CLIENT_CAPABILITIES_META_KEY]

// A revision identifier is an ISO date today (drafts say DRAFT-…): visible ASCII, short. Anything
// else is not a version a policy could compare, and would reach the log as given.
const VERSION = /^[\x21-\x7e]{1,64}$/

/**
 * Whether a protocol version belongs to a stateless revision (2026-07-28 or later, a future one
 * included), by the rule the MCP SDK uses: revisions compare as text.
 *
 * @example
 * ```ts
 * isStatelessRevision('2026-07-28') // true
 * isStatelessRevision('2025-11-25') // false
 * ```
 */
export function isStatelessRevision(version: string): boolean {
  return version >= FIRST_STATELESS_REVISION
}

/**
 * Reads the reserved members of a request's `params._meta`: the protocol version (the claim that
 * makes it a 2026-07-28 request), the client's info and capabilities, and the trace context. Other
 * members are not read (they stay in `params`). A reserved member of the wrong type is refused
 * rather than ignored: the server reads the same members, and a policy must not judge a request
 * whose revision or client it cannot tell while the server can. Trace members are left to
 * {@link readTraceContext}, which ignores a bad one.
 *
 * @throws McpPolicyError `ERR_NORMALIZE_META_INVALID`.
 * @example
 * ```ts
 * readRequestMeta({ _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } })
 * // { protocolVersion: '2026-07-28' }
 * ```
 */
export function readRequestMeta(params: Record<string, unknown> | undefined): RequestMeta {
  const meta = params?._meta
  if (meta === undefined) return {}
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    // `_meta` is an object in every revision; the SDK's schemas refuse anything else too.
    invalid('params._meta is not an object')
  }
  const record = meta as Record<string, unknown>
  const found: RequestMeta = {}
  if (Object.hasOwn(record, PROTOCOL_VERSION_META_KEY)) {
    const version = record[PROTOCOL_VERSION_META_KEY]
    if (typeof version !== 'string') invalid(`${PROTOCOL_VERSION_META_KEY} is not a string`)
    if (!VERSION.test(version))
      invalid(`${PROTOCOL_VERSION_META_KEY} is not a revision identifier (1 to 64 visible ASCII characters)`)
    found.protocolVersion = version
  }
  if (Object.hasOwn(record, CLIENT_INFO_META_KEY)) {
    const info = record[CLIENT_INFO_META_KEY]
    if (info === null || typeof info !== 'object' || Array.isArray(info))
      invalid(`${CLIENT_INFO_META_KEY} is not an object`)
    found.clientInfo = clientInfo(info as Record<string, unknown>, CLIENT_INFO_META_KEY)
  }
  if (Object.hasOwn(record, CLIENT_CAPABILITIES_META_KEY)) {
    const capabilities = record[CLIENT_CAPABILITIES_META_KEY]
    if (capabilities === null || typeof capabilities !== 'object' || Array.isArray(capabilities))
      invalid(`${CLIENT_CAPABILITIES_META_KEY} is not an object`)
    found.clientCapabilities = capabilities as Record<string, unknown>
  }
  if (
    found.protocolVersion !== undefined ||
    found.clientInfo !== undefined ||
    found.clientCapabilities !== undefined
  )
    found.envelope = true
  if (Object.hasOwn(record, TRACEPARENT_META_KEY)) found.traceparent = record[TRACEPARENT_META_KEY]
  if (Object.hasOwn(record, TRACESTATE_META_KEY)) found.tracestate = record[TRACESTATE_META_KEY]
  return found
}

/**
 * Params without the envelope's members in `_meta` (the protocol version, client info and
 * capabilities), and without `_meta` when nothing else is in it: a new object, the given one is
 * left as it is. Other `_meta` members (progress token, trace context, extensions) stay.
 *
 * @example
 * ```ts
 * withoutEnvelope({ name: 't', _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', progressToken: 1 } })
 * // { name: 't', _meta: { progressToken: 1 } }
 * ```
 */
export function withoutEnvelope(params: Record<string, unknown>): Record<string, unknown> {
  const meta = params._meta
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) return params
  const rest: Record<string, unknown> = {}
  let kept = false
  for (const key of Object.keys(meta)) {
    if (ENVELOPE_KEYS.includes(key)) continue
    rest[key] = (meta as Record<string, unknown>)[key]
    kept = true
  }
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(params)) if (key !== '_meta') out[key] = params[key]
  if (kept) out._meta = rest
  return out
}

/**
 * The `name`, `version` and `title` of an MCP `Implementation` (initialize's `clientInfo`, or the
 * `_meta` client info): each a string when present.
 *
 * @throws McpPolicyError `ERR_NORMALIZE_META_INVALID` when one of them is present but not a string.
 */
export function clientInfo(
  info: Record<string, unknown>,
  where: string,
): { name?: string; version?: string; title?: string } {
  const out: { name?: string; version?: string; title?: string } = {}
  for (const field of ['name', 'version', 'title'] as const) {
    if (!Object.hasOwn(info, field)) continue
    const value = info[field]
    if (typeof value !== 'string') invalid(`${where}.${field} is not a string`)
    out[field] = value
  }
  return out
}

function invalid(message: string): never {
  throw new McpPolicyError('ERR_NORMALIZE_META_INVALID', message)
}
