import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'

// canonicalize (the RFC 8785 authors' implementation) is CommonJS whose types declare an ES default
// export; loading it with require gives the function its types promise.
const canonicalize = createRequire(import.meta.url)('canonicalize') as (input: unknown) => string | undefined

/**
 * The chain hash of an event: SHA-256 (hex) of the RFC 8785 (JCS) canonical JSON of the event
 * without its `hash` field, so any edit to any field, or to the order of events, breaks the chain.
 *
 * @example
 * ```ts
 * const hash = eventHash({ ...event, hash: undefined })
 * ```
 */
export function eventHash(eventWithoutHash: Record<string, unknown>): string {
  const { hash: _ignored, ...rest } = eventWithoutHash
  const canonical = canonicalize(rest)
  if (canonical === undefined) throw new TypeError('event cannot be canonicalized')
  return createHash('sha256').update(canonical).digest('hex')
}

/** The `prev` of a chain's first event: bound to the chain id, so chains cannot be spliced together. */
export function genesisHash(chain: string): string {
  return createHash('sha256').update(`mcp-policy/decision-log/v1/genesis:${chain}`).digest('hex')
}
