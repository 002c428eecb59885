import { REVOCATION_PATH } from '../audit/decision-event.js'
import type { DecisionLog } from '../audit/decision-log.js'
import type { Revocation } from '../identity/revocation-list.js'

/** Which receiver took a signal in. */
export type SignalReceiver = 'ssf' | 'oidc-backchannel-logout'

/** How a signal arrived. */
export type SignalDelivery = 'push' | 'poll' | 'backchannel'

/** The `input` of a {@link REVOCATION_PATH} event: the verified signal, never the token itself. */
export interface RevocationSignal {
  schema: 'mcp-policy/revocation/v1'
  receiver: SignalReceiver
  delivery: SignalDelivery
  /** The transmitter or IdP that signed it (`iss`). */
  issuer: string
  jti: string
  /** Epoch seconds. */
  iat: number
  /** Short event name: `caep:session-revoked`, `oidc:backchannel-logout`, `unknown`… */
  event: string
  /** The event type URI as sent. */
  event_type: string
  /** Whom it named, as sent (`sub_id`; for a logout token `{sub, sid}`). */
  subject: unknown
  /** When it happened (epoch seconds), as the revocations' issued-before time reads it. */
  occurred_at: number
  txn?: string
}

/** The `result` of a {@link REVOCATION_PATH} event. */
export type RevocationOutcome =
  | {
      outcome: 'revoked'
      revocations: { kind: string; issuer: string; value: string; issued_before?: number; at: string }[]
    }
  | { outcome: 'ignored'; reason: string; message: string }

/**
 * Appends a revocation signal to the decision log, in the worker's own chain: no bundle decided
 * it (`bundles` is empty) and replay counts it apart. Resolves once the event is as durable as the
 * log's mode promises.
 *
 * @throws McpPolicyError `ERR_LOG_WRITE_FAILED`.
 */
export async function recordRevocationSignal(
  log: DecisionLog | undefined,
  signal: RevocationSignal,
  outcome: RevocationOutcome,
): Promise<void> {
  if (!log) return
  await log.append({ path: REVOCATION_PATH, input: signal, result: outcome, bundles: {} })
}

/** A stored revocation as the log shows it (times as RFC 3339). */
export function revocationForLog(revocation: Revocation): {
  kind: string
  issuer: string
  value: string
  issued_before?: number
  at: string
} {
  return {
    kind: revocation.kind,
    issuer: revocation.issuer,
    value: revocation.value,
    ...(revocation.issuedBefore !== undefined && { issued_before: revocation.issuedBefore }),
    at: new Date(revocation.at).toISOString(),
  }
}
