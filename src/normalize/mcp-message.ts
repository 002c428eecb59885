import type { RequestId } from '@modelcontextprotocol/sdk/types.js'

/**
 * One MCP JSON-RPC message as the normalizer parsed and checked it, and as the enforcement points
 * (the gateway, the in-process transport) hold and forward it: a plain object whose members they
 * read by name. One type for every one of them, so a member read in one place is typed alike in all.
 */
export type McpMessage = Record<string, unknown> & {
  id?: RequestId
  method?: string
  params?: Record<string, unknown>
  result?: unknown
  error?: unknown
}
