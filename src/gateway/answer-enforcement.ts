import type { RequestId } from '@modelcontextprotocol/sdk/types.js'
import { policyDenial } from '../enforce/policy-denial.js'
import { filterToolList, judgeToolResult } from '../enforce/result-enforcement.js'
import type { McpMessage } from '../normalize/mcp-message.js'
import type { AdmittedRequest, DecisionPort } from '../pdp/decision-port.js'

/**
 * What the gateway sends the client for the upstream's answer to an admitted request: a
 * `tools/list` result filtered by `visible_tools`, a `tools/call` result (or its error, judged as
 * text: a tool's error can carry what its result would) judged at `mcp/response` — redacted, or
 * replaced by the policy's error — and any other answer as it came. Throws when judging fails:
 * the caller answers with an error instead, never with the answer unjudged.
 *
 * @example
 * ```ts
 * const toClient = await enforceAnswer(decisions, { method: 'tools/list', input, decision }, answer)
 * ```
 */
export async function enforceAnswer(
  decisions: Pick<DecisionPort, 'judgeResponse'>,
  admitted: AdmittedRequest | undefined,
  message: McpMessage,
  destination?: string,
): Promise<McpMessage> {
  const id = message.id as RequestId
  if (!admitted) return message
  if (!('result' in message)) {
    if (admitted.method !== 'tools/call') return message
    const error = (message.error ?? {}) as { message?: unknown; data?: unknown }
    const text = `${String(error.message ?? '')} ${error.data === undefined ? '' : JSON.stringify(error.data)}`
    const judged = await judgeToolResult(decisions, {
      request: admitted.input,
      decision: admitted.decision,
      result: { content: [{ type: 'text', text }], isError: true },
      destination,
    })
    const clean =
      judged.allow &&
      JSON.stringify(judged.result) === JSON.stringify({ content: [{ type: 'text', text }], isError: true })
    if (clean) return message
    const reasons = judged.allow
      ? [{ code: 'error_withheld', message: 'the tool failed; its error held data the policy redacts' }]
      : judged.reasons
    return { jsonrpc: '2.0', id, error: policyDenial({ status: 403, reasons }, judged.decisionId) }
  }
  const result = message.result as Record<string, unknown>
  if (admitted.method === 'tools/list')
    return { ...message, result: filterToolList(result, admitted.decision) }
  if (admitted.method !== 'tools/call') return message
  const judged = await judgeToolResult(decisions, {
    request: admitted.input,
    decision: admitted.decision,
    result,
    destination,
  })
  if (!judged.allow) return { jsonrpc: '2.0', id, error: policyDenial(judged, judged.decisionId) }
  return { ...message, result: judged.result }
}
