/** A W3C Trace Context (`traceparent`, `tracestate`) as input document v1 holds it in `context.trace`. */
export interface TraceContext {
  /** 32 lower-case hex digits. */
  trace_id: string
  /** The caller's span: 16 lower-case hex digits. */
  parent_id: string
  /** The `sampled` trace flag. */
  sampled: boolean
  /** Vendor trace state, as sent, when it is well formed. */
  tracestate?: string
  /** Where it was read: the HTTP headers, or the request's `_meta` (MCP 2026-07-28, SEP-414). */
  source: 'header' | 'meta'
}

// version-traceid-parentid-flags; a later version may append fields after another dash.
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^\s]*)?$/i
const ZERO_TRACE = '0'.repeat(32)
const ZERO_PARENT = '0'.repeat(16)
// W3C tracestate: at most 32 list members, 512 characters; each `key=value` of printable ASCII.
const TRACESTATE_MAX_CHARS = 512
const TRACESTATE_MAX_MEMBERS = 32
const TRACESTATE_MEMBER =
  /^[a-z0-9][a-z0-9_\-*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/

/**
 * Reads a W3C `traceparent` (and its `tracestate`). An invalid one is ignored, as the W3C
 * specification tells a receiver to do: a trace names a request, it grants nothing, so a caller
 * gains nothing by sending a bad one. Hex digits are folded to lower case. Never throws, on any
 * value.
 *
 * @example
 * ```ts
 * readTraceContext('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'congo=t61rcWkgMzE', 'header')
 * // { trace_id: '4bf9…4736', parent_id: '00f067aa0ba902b7', sampled: true, tracestate: 'congo=t61rcWkgMzE', source: 'header' }
 * ```
 */
export function readTraceContext(
  traceparent: unknown,
  tracestate: unknown,
  source: TraceContext['source'],
): TraceContext | undefined {
  if (typeof traceparent !== 'string' || traceparent.length > 256) return undefined
  const match = TRACEPARENT.exec(traceparent.trim())
  if (!match) return undefined
  const version = match[1]!.toLowerCase()
  // Version ff is invalid; version 00 has exactly four fields.
  if (version === 'ff' || (version === '00' && match[5] !== undefined)) return undefined
  const traceId = match[2]!.toLowerCase()
  const parentId = match[3]!.toLowerCase()
  if (traceId === ZERO_TRACE || parentId === ZERO_PARENT) return undefined
  const context: TraceContext = {
    trace_id: traceId,
    parent_id: parentId,
    sampled: (Number.parseInt(match[4]!, 16) & 1) === 1,
    source,
  }
  const state = wellFormedTracestate(tracestate)
  if (state !== undefined) context.tracestate = state
  return context
}

function wellFormedTracestate(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined
  const text = value.trim()
  if (text === '' || text.length > TRACESTATE_MAX_CHARS) return undefined
  const members = text.split(',')
  if (members.length > TRACESTATE_MAX_MEMBERS) return undefined
  for (const member of members) {
    const trimmed = member.trim()
    // Empty list members are allowed and ignored.
    if (trimmed !== '' && !TRACESTATE_MEMBER.test(trimmed)) return undefined
  }
  return text
}
