import { McpPolicyError } from '../errors.js'
import type { Actor } from './subject.js'

/**
 * Longest RFC 8693 delegation chain accepted; real chains are one or two links long.
 *
 * @example
 * ```ts
 * actorChain(deeplyNestedAct) // throws ERR_IDENTITY_CLAIMS_INVALID beyond maxActorDepth links
 * ```
 */
export const maxActorDepth = 8

/**
 * Reads the RFC 8693 `act` claim of a verified token into a chain of {@link Actor}s: `act.sub` is
 * the actor's id, `act.client_id` its OAuth client, a nested `act` the actor acting for it.
 * Other members of `act` stay visible in `subject.claims`.
 *
 * @throws McpPolicyError `ERR_IDENTITY_CLAIMS_INVALID` when `act` (or a nested one) is not an
 *   object, `sub`/`client_id` are not strings, or the chain is deeper than {@link maxActorDepth}:
 *   a delegation that cannot be read exactly must not be read partly.
 * @example
 * ```ts
 * actorChain({ sub: 'agent-7', act: { sub: 'orchestrator' } })
 * // { id: 'agent-7', actor: { id: 'orchestrator', actor: null } }
 * ```
 */
export function actorChain(act: unknown, depth = 0): Actor | null {
  if (act === undefined) return null
  if (act === null || typeof act !== 'object' || Array.isArray(act)) invalid('"act" claim must be an object')
  if (depth >= maxActorDepth) invalid(`"act" delegation chain is deeper than ${maxActorDepth}`)
  const link = act as Record<string, unknown>
  if (link.sub !== undefined && typeof link.sub !== 'string') invalid('"act.sub" claim must be a string')
  if (link.client_id !== undefined && typeof link.client_id !== 'string')
    invalid('"act.client_id" claim must be a string')
  return {
    ...(link.sub !== undefined && { id: link.sub as string }),
    ...(link.client_id !== undefined && { client_id: link.client_id as string }),
    actor: actorChain(link.act, depth + 1),
  }
}

function invalid(message: string): never {
  throw new McpPolicyError('ERR_IDENTITY_CLAIMS_INVALID', message)
}
