import type { Decision, Reason } from '../engine/decision.js'
import type { InputDocument } from '../normalize/input-document.js'
import type { DecisionPort } from '../pdp/decision-port.js'
import { applyRedactions } from './apply-redactions.js'

/** A tool result after `mcp/response`: the (redacted) result to send, or a refusal with its reasons. */
export interface JudgedResult {
  allow: boolean
  status: number
  reasons: Reason[]
  /** The result to send, redactions applied (only when allowed). */
  result?: unknown
  decisionId: string
}

/**
 * Judges a tool result at `mcp/response` (logged by the decision core) and applies its
 * redactions. A redaction that cannot be applied blocks the result (`redaction_failed`): a secret
 * the policy asked to remove is never sent because its path was odd.
 */
export async function judgeToolResult(
  service: Pick<DecisionPort, 'judgeResponse'>,
  judged: {
    request: InputDocument
    decision: Decision
    result: Record<string, unknown>
    destination?: string
  },
): Promise<JudgedResult> {
  const { destination, result } = judged
  const judgement = await service.judgeResponse({
    request: judged.request,
    result,
    destination: destination === undefined ? undefined : { model: destination },
    // Decided when it was admitted: the log masks the request without deciding it again.
    requestRedact: judged.decision.obligations.redact ?? [],
  })
  const decisionId = judgement.decision_id
  if (!judgement.allow) return { allow: false, status: 403, reasons: judgement.reasons, decisionId }
  const redacted = applyRedactions(result, judgement.redactions)
  if (redacted === undefined) {
    const reasons = [
      { code: 'redaction_failed', message: 'a redaction of the tool result could not be applied' },
    ]
    return { allow: false, status: 500, reasons, decisionId }
  }
  return { allow: true, status: 200, reasons: judgement.reasons, result: redacted, decisionId }
}

/**
 * A `tools/list` result with only the tools in the decision's `obligations.visible_tools`. Fail
 * closed: an allowed `tools/list` without `visible_tools` shows nothing, and a listed tool without
 * a string name is dropped.
 */
export function filterToolList(result: Record<string, unknown>, decision: Decision): Record<string, unknown> {
  const visible = new Set(decision.obligations.visible_tools ?? [])
  const tools = Array.isArray(result.tools) ? result.tools : []
  // Only what a tool list holds passes: anything else an upstream put beside `tools` is dropped.
  const kept: Record<string, unknown> = {}
  if (typeof result.nextCursor === 'string') kept.nextCursor = result.nextCursor
  if (result._meta !== undefined) kept._meta = result._meta
  // MCP 2026-07-28 results say whether they are complete (a 2026 client requires it) and how long
  // they may be cached. The list is filtered for one caller: no cache may share it with another.
  if (typeof result.resultType === 'string') kept.resultType = result.resultType
  if (typeof result.ttlMs === 'number') kept.ttlMs = result.ttlMs
  if (result.cacheScope !== undefined) kept.cacheScope = 'private'
  return {
    ...kept,
    tools: tools.filter(
      (tool: { name?: unknown } | null) => typeof tool?.name === 'string' && visible.has(tool.name),
    ),
  }
}
