import type { Subject } from '../identity/subject.js'
import type { ToolArgumentAnalysis } from './argument-analysis/analyze-arguments.js'
import type { ArgumentValidation } from './argument-validation/argument-validation.js'
import type { TraceContext } from './trace-context.js'

/** The MCP part of input document v1. */
export interface McpFacts {
  kind: 'request' | 'notification' | 'response'
  /** Set only for a message the MCP server sends to the client; absent: the client sent it. */
  direction?: 'server_to_client'
  method?: string
  id?: string | number
  protocol_version?: string
  session_id?: string
  /**
   * `analysis`: what the declared analyzers found in the arguments (see `analyzeArguments`);
   * `validation`: whether they match the tool's declared input schema (see `toolInputSchemas`).
   */
  tool?: {
    name: string
    arguments: Record<string, unknown>
    analysis?: ToolArgumentAnalysis
    validation?: ArgumentValidation
  }
  resource?: { uri: string; scheme?: string; host?: string; path?: string }
  prompt?: { name: string; arguments: Record<string, unknown> }
  /** The client's self-description (unverified): initialize's `clientInfo`, or the `_meta` one (2026-07-28). */
  client_info?: { name?: string; version?: string; title?: string }
  /** The client's capabilities: initialize's `capabilities`, or the `_meta` ones (2026-07-28). */
  client_capabilities?: Record<string, unknown>
  error?: { code: number; message: string }
  params?: Record<string, unknown>
}

/** Request context of input document v1. */
export interface RequestContext {
  time: {
    ns: number
    rfc3339: string
    weekday: 'Mon' | 'Tue' | 'Wed' | 'Thu' | 'Fri' | 'Sat' | 'Sun'
    hour_utc: number
  }
  request: { id?: string; source_ip?: string; user_agent?: string; host?: string; path?: string }
  environment?: string
  trace_id?: string
  /** W3C Trace Context of the request (the `traceparent` header, else the `_meta` one). */
  trace?: TraceContext
  attributes: Record<string, unknown>
}

/**
 * Input document v1 (`rego/schemas/input.json`): what every policy judges. Produced by
 * `RequestNormalizer`, validated against the schema before it is returned.
 */
export interface InputDocument {
  schema: 'mcp-policy/input/v1'
  mcp: McpFacts
  subject: Subject
  server: { id: string; resource: string }
  context: RequestContext
}
