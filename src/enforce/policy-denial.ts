import type { Reason } from '../engine/decision.js'
import { errorTable, type McpPolicyErrorCode } from '../errors.js'

/**
 * The JSON-RPC error code of a policy denial: outside JSON-RPC 2.0's reserved -32768…-32000 range
 * and distinct from the codes the MCP SDK defines, so a client can tell a policy deny from a
 * protocol or server failure. The PDP answers gateways with the same code.
 *
 * @example
 * ```ts
 * try { await client.callTool({ name: 'delete_repository', arguments: {} }) } catch (err) {
 *   if (err.code === MCP_POLICY_DENIED) console.log(err.data.reason) // e.g. 'explicitly_denied'
 * }
 * ```
 */
export const MCP_POLICY_DENIED = -31001

/** The JSON-RPC error an enforcement point sends for a denied request or a blocked result. */
export interface PolicyDenial {
  code: number
  message: string
  data: { reason: string; reasons: Reason[]; status: number; decision_id?: string }
}

/**
 * Builds the JSON-RPC error for a deny. Reasons the policy wrote (lower-case codes) are meant for the
 * caller and pass as they are; engine and normalizer failures (`ERR_*`) keep their stable code but
 * get the error table's generic summary as message, so no trap text, stack or policy internals reach
 * a client.
 *
 * @example
 * ```ts
 * const error = policyDenial({ status: 403, reasons: [{ code: 'not_granted', message: '…' }] }, decisionId)
 * ```
 */
export function policyDenial(
  decision: { status: number; reasons: readonly Reason[] },
  decisionId?: string,
): PolicyDenial {
  const reasons = decision.reasons.map(publicReason)
  const first = reasons[0] ?? { code: 'denied', message: 'denied by policy' }
  return {
    code: MCP_POLICY_DENIED,
    message: first.message,
    data: {
      reason: first.code,
      reasons,
      status: decision.status,
      ...(decisionId ? { decision_id: decisionId } : {}),
    },
  }
}

function publicReason(reason: Reason): Reason {
  if (!reason.code.startsWith('ERR_')) return { code: reason.code, message: reason.message }
  const entry = errorTable[reason.code as McpPolicyErrorCode]
  return { code: reason.code, message: entry?.summary ?? 'the request could not be decided' }
}
