import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import { type PolicyEnforcementOptions, PolicyEnforcingTransport } from './policy-enforcing-transport.js'

/**
 * Makes an MCP SDK server enforce policy on every transport it is ever connected to: its
 * `connect` wraps the transport in a {@link PolicyEnforcingTransport} first. Returns the same
 * server.
 *
 * This is how a server reaches the enforcement point when it does not connect itself: the MCP SDK
 * v2 serving entries (`createMcpHandler`, `serveStdio` of `@modelcontextprotocol/server`) take a
 * factory, build their own transport for each request (2026-07-28: one per HTTP request; earlier
 * revisions: the stateless fallback's) and connect the server to it. Wrapping `connect` puts the
 * wrapper between that transport and the server without copying the entry's classification,
 * header checks and response shaping. It works the same for a v1 `McpServer` or `Server`.
 *
 * What such an entry answers before it connects the server never reaches the policy: its own
 * rejections (unsupported revision, malformed headers, missing client capabilities) — none runs a
 * tool — and v2's `subscriptions/listen`, whose change notifications name no tool or result.
 *
 * @example
 * ```ts
 * import { createMcpHandler, McpServer } from '@modelcontextprotocol/server'
 * const handler = createMcpHandler(() => enforcePolicy(buildServer(), { engine, normalizer, server: 'github', log }))
 * ```
 */
export function enforcePolicy<S extends { connect(transport: never): Promise<void> }>(
  server: S,
  options: PolicyEnforcementOptions,
): S {
  const connect = (server.connect as (transport: Transport) => Promise<void>).bind(server)
  // v2's Transport adds only optional members to v1's, which the wrapper passes on: one class serves both.
  const enforcing = (transport: Transport) => connect(new PolicyEnforcingTransport(transport, options))
  Object.defineProperty(server, 'connect', { value: enforcing, configurable: true, writable: true })
  return server
}
