import type { Subject } from '../identity/subject.js'

/** The MCP part of input document v1. */
export interface McpFacts {
  kind: 'request' | 'notification' | 'response'
  /** Set only for a message the MCP server sends to the client; absent: the client sent it. */
  direction?: 'server_to_client'
  method?: string
  id?: string | number
  protocol_version?: string
  session_id?: string
  tool?: { name: string; arguments: Record<string, unknown> }
  resource?: { uri: string; scheme?: string; host?: string; path?: string }
  prompt?: { name: string; arguments: Record<string, unknown> }
  client_info?: { name?: string; version?: string }
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
