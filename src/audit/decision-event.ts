import type { CanonicalText } from '../canonical-json.js'
import type { NdBuiltinCache } from '../engine/nd-builtin-cache.js'

/** What a caller logs for one decision; {@link DecisionLog.append} adds the chain fields. */
export interface DecisionRecord {
  /** Default: a random UUID. */
  decision_id?: string
  /** Entrypoint, e.g. `mcp/decision`. */
  path: string
  /** The input document as evaluated (masked before it is written). */
  input: unknown
  /**
   * The canonical JSON of `input`, when the caller already made it (the PDP makes it once per
   * request and evaluates that text): the log then does not canonicalize the input again. Used
   * only when it was made from this very `input` object and nothing is erased from it.
   */
  canonicalInput?: CanonicalText
  /** The decision as returned. */
  result: unknown
  /** Bundles the decision was made with: name → revision and `sha256:` digest (the bundle store key). */
  bundles: Record<string, { revision: string; digest: string }>
  metrics?: Record<string, number>
  nd_builtin_cache?: NdBuiltinCache
  /** JSON pointers into `input` to erase before writing (the decision's `redact` obligation, log-mask rules). */
  redact?: readonly string[]
  /** Default: now. */
  timestamp?: Date
}

/**
 * One line of the decision log: OPA's decision-log event fields plus the hash chain.
 * `hash` is the SHA-256 (hex) of the RFC 8785 canonical JSON of the event without `hash`.
 */
export interface DecisionEvent {
  decision_id: string
  timestamp: string
  path: string
  input: unknown
  result: unknown
  bundles: Record<string, { revision: string; digest: string }>
  labels: Record<string, string>
  metrics: Record<string, number>
  nd_builtin_cache: NdBuiltinCache
  /** JSON pointers erased from `input` before writing. */
  erased: string[]
  /** 1-based position in the chain. */
  seq: number
  /** `hash` of the previous event (for seq 1, the chain's genesis hash). */
  prev: string
  hash: string
}

/** A signed statement of the chain's head: `{chain, seq, hash, timestamp}` as an Ed25519 JWS. */
export interface CheckpointPayload {
  chain: string
  seq: number
  hash: string
  timestamp: string
}

/**
 * The `path` of an event recording a request refused before any policy ran (it could not be
 * normalized: malformed JSON-RPC, a batch, an unknown server…). Its outcome does not depend on
 * the policy, so replay counts such events apart instead of re-evaluating them.
 */
export const REJECTED_PATH = 'mcp-policy/rejected'

/**
 * The `path` of an event recording a revocation signal the PDP received (a Shared Signals SET, an
 * OIDC back-channel logout token): who sent it, what it named, what was revoked. No policy
 * decided it, so replay counts such events apart instead of re-evaluating them; the decisions it
 * affected recorded the revocation in their own input (`subject.reason`).
 */
export const REVOCATION_PATH = 'mcp-policy/revocation'
