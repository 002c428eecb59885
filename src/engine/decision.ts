/** One reason attached to a decision; `code` is stable, `message` is for humans. */
export interface Reason {
  code: string
  message: string
}

/** What the policy asks the enforcement point to do besides allow/deny. */
export interface Obligations {
  /** tools/list: the tools the caller may see. */
  visible_tools?: string[]
  /** JSON pointers into the input masked in the decision log. */
  redact?: string[]
  /** A human must approve before the call proceeds. */
  require_approval?: { reason: string }
  /** Identity headers the gateway forwards upstream. */
  headers?: Record<string, string>
  [key: string]: unknown
}

/** Decision v1: the result of entrypoint `mcp/decision`. A deny always carries a reason. */
export interface Decision {
  allow: boolean
  /** HTTP status for the enforcement point: 2xx when allowed, 401/403 (or 5xx on errors) when denied. */
  status: number
  reasons: Reason[]
  obligations: Obligations
}

/** Response judgement v1: the result of entrypoint `mcp/response`. */
export interface ResponseJudgement {
  allow: boolean
  redactions: { path: string; replacement?: unknown }[]
  reasons: Reason[]
  /**
   * JSON pointers under the judged input (`/result` or below) that the decision log erases: the
   * policy's choice to keep tool results out of the log. The judgement and the request stay; replay
   * counts such an event as withheld. Absent: only what `redactions` replaced (or a blocked result)
   * is erased.
   */
  log_redact?: string[]
}
