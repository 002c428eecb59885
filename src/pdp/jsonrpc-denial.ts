import type { Reason } from '../engine/decision.js'

/**
 * The JSON-RPC error code of a policy denial. Outside the reserved -32768…-32000 range of JSON-RPC
 * 2.0, and distinct from the codes the MCP SDK defines, so clients can tell a policy deny from a
 * protocol or server failure.
 */
export const POLICY_DENIED_ERROR_CODE = -31001

/** The JSON-RPC error answering a denied MCP request. */
export interface JsonRpcDenial {
  jsonrpc: '2.0'
  id: string | number | null
  error: {
    code: number
    message: string
    data: { reason: string; reasons: Reason[]; decision_id?: string; status: number }
  }
}

/**
 * Builds the JSON-RPC error for a deny: the first reason's message as the error message, every
 * reason (code and message, both written by the policy for the caller) in `data` — and nothing
 * internal.
 */
export function jsonRpcDenial(
  id: unknown,
  decision: { status: number; reasons: Reason[] },
  decisionId?: string,
): JsonRpcDenial {
  const first = decision.reasons[0] ?? { code: 'denied', message: 'denied by policy' }
  return {
    jsonrpc: '2.0',
    id: typeof id === 'string' || typeof id === 'number' ? id : null,
    error: {
      code: POLICY_DENIED_ERROR_CODE,
      message: first.message,
      data: {
        reason: first.code,
        reasons: decision.reasons,
        status: decision.status,
        ...(decisionId ? { decision_id: decisionId } : {}),
      },
    },
  }
}
