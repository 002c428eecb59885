import type { Reason } from '../engine/decision.js'
import { errorTable, type McpPolicyErrorCode } from '../errors.js'
import { POLICY_DENIED_ERROR_CODE } from '../pdp/jsonrpc-denial.js'

/**
 * The JSON-RPC error an enforcement point sends for a denied request or a blocked result.
 *
 * @internal
 */
export interface PolicyDenial {
  code: number
  message: string
  data: { reason: string; reasons: Reason[]; status: number; decision_id?: string }
}

/**
 * Builds the JSON-RPC error for a deny, with code `POLICY_DENIED_ERROR_CODE` (-31001) as the PDP
 * answers gateways. Reasons the policy wrote (lower-case codes) are meant for the
 * caller and pass as they are; engine and normalizer failures (`ERR_*`) keep their stable code but
 * get the error table's generic summary as message, so no trap text, stack or policy internals reach
 * a client.
 *
 * @internal
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
    code: POLICY_DENIED_ERROR_CODE,
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
