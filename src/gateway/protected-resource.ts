import type { Decision, Reason } from '../engine/decision.js'

/** Where RFC 9728 puts a resource's metadata: `/.well-known/oauth-protected-resource` + the resource's path. */
export const PROTECTED_RESOURCE_PREFIX = '/.well-known/oauth-protected-resource'

/**
 * The OAuth 2.0 Protected Resource Metadata (RFC 9728) of one server behind the gateway: its
 * resource URI (the `aud` its tokens must carry) and the authorization servers that issue them.
 * MCP clients find it from the `resource_metadata` parameter of a 401 challenge.
 */
export function protectedResourceMetadata(
  resource: string,
  authorizationServers: readonly string[],
  serverId: string,
): Record<string, unknown> {
  return {
    resource,
    authorization_servers: [...authorizationServers],
    bearer_methods_supported: ['header'],
    resource_name: `MCP server ${serverId} (behind mcp-policy gateway)`,
  }
}

/** The metadata URL of a resource: the well-known prefix inserted before the resource's path. */
export function protectedResourceMetadataUrl(resource: string): string {
  const url = new URL(resource)
  const path = url.pathname === '/' ? '' : url.pathname
  return `${url.origin}${PROTECTED_RESOURCE_PREFIX}${path}`
}

/**
 * A reason the policy writes when the caller's token lacks a scope: code `insufficient_scope`
 * and `scope`, the space-separated scopes to ask for (RFC 6750 §3.1). The gateway answers it
 * with 403 and a `WWW-Authenticate` step-up challenge naming them.
 */
export interface InsufficientScopeReason extends Reason {
  code: 'insufficient_scope'
  scope: string
}

/** Reasons a new authorization can cure: a scope to ask for, a stronger or fresher sign-in. */
const REAUTHORIZABLE = new Set(['insufficient_scope', 'step_up_required'])

/**
 * The HTTP challenge a denial maps to, or undefined when it is an ordinary policy deny.
 *
 * A scope challenge is sent only when every reason is one a new authorization cures: a call the
 * policy also refuses for another reason (not granted, an argument) is an ordinary deny, not a
 * consent screen for a call that stays refused.
 */
export function authenticationChallenge(
  decision: Pick<Decision, 'status' | 'reasons'>,
  metadataUrl: string,
  tokenPresented: boolean,
): { status: 401 | 403; header: string } | undefined {
  const metadata = `resource_metadata="${metadataUrl}"`
  const scoped = decision.reasons.filter(
    (r): r is InsufficientScopeReason =>
      r.code === 'insufficient_scope' && typeof (r as { scope?: unknown }).scope === 'string',
  )
  if (scoped.length > 0 && decision.reasons.every((r) => REAUTHORIZABLE.has(r.code))) {
    // Every scope any reason asks for, once. RFC 6750 §3: scope tokens are %x21 / %x23-5B /
    // %x5D-7E; anything else (a quote, a backslash, a control character) would break the header.
    const tokens = scoped.flatMap((r) =>
      r.scope.split(/\s+/).map((t) => t.replace(/[^\x21\x23-\x5B\x5D-\x7E]/g, '')),
    )
    const scope = [...new Set(tokens.filter((t) => t !== ''))].join(' ')
    if (scope !== '')
      return { status: 403, header: `Bearer error="insufficient_scope", scope="${scope}", ${metadata}` }
  }
  if (decision.status !== 401) return undefined
  // RFC 9470: the token is fine but the authentication behind it is not fresh or strong enough.
  if (decision.reasons.some((r) => r.code === 'step_up_required'))
    return { status: 401, header: `Bearer error="insufficient_user_authentication", ${metadata}` }
  return {
    status: 401,
    header: tokenPresented ? `Bearer error="invalid_token", ${metadata}` : `Bearer ${metadata}`,
  }
}
