import type { WireChange, WireEntry } from './entry-table.js'

/**
 * The tag every state message between a cluster primary and its workers carries, so that the
 * relay and the workers ignore the cluster's other messages (and those ignore these).
 */
export const stateMessageTag = 'mcp-policy/state/v1'

/**
 * Set by the primary in each worker's environment when it relays state: a worker that finds it
 * uses the cluster store, and one that does not (a worker of some other program's cluster) uses
 * a store of its own rather than wait for a relay that is not there.
 */
export const stateRelayEnv = 'MCP_POLICY_STATE_RELAY'

/** Worker → primary. */
export type WorkerStateMessage =
  | { tag: typeof stateMessageTag; kind: 'write'; change: WireChange }
  | {
      tag: typeof stateMessageTag
      kind: 'set-if-absent'
      id: number
      namespace: string
      key: string
      json: string
      expiresAt: number
    }
  | { tag: typeof stateMessageTag; kind: 'snapshot-request'; id: number }

/** Primary → worker. */
export type PrimaryStateMessage =
  | { tag: typeof stateMessageTag; kind: 'change'; change: WireChange }
  | { tag: typeof stateMessageTag; kind: 'set-if-absent-result'; id: number; written: boolean }
  | { tag: typeof stateMessageTag; kind: 'snapshot'; id: number; entries: WireEntry[] }

/** True for a message of this protocol (either direction). */
export function isStateMessage(message: unknown): message is { tag: typeof stateMessageTag; kind: string } {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { tag?: unknown }).tag === stateMessageTag &&
    typeof (message as { kind?: unknown }).kind === 'string'
  )
}

/** True for a well-formed change (messages cross a process boundary: checked, not trusted). */
export function isWireChange(change: unknown): change is WireChange {
  if (typeof change !== 'object' || change === null) return false
  const c = change as Record<string, unknown>
  if (typeof c.namespace !== 'string' || typeof c.key !== 'string') return false
  if (c.op === 'delete') return true
  return c.op === 'set' && typeof c.json === 'string' && typeof c.expiresAt === 'number'
}
