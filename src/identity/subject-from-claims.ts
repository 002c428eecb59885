import { McpPolicyError } from '../errors.js'
import { actorChain } from './actor-chain.js'
import type { ClaimMapping } from './identity-config.js'
import type { Subject, TokenFacts } from './subject.js'

const defaultMapping = {
  subject: 'sub',
  email: 'email',
  groups: ['groups'],
  roles: ['roles'],
  scopes: ['scope', 'scp'],
} as const satisfies Required<ClaimMapping>

/**
 * Builds the authenticated {@link Subject} from a token payload that jose has already verified.
 * `token.age_s` is left out: it depends on the time of each call, not on the token.
 *
 * @throws McpPolicyError `ERR_IDENTITY_CLAIMS_INVALID` when an identity-bearing claim (`sub`, the
 *   mapped subject, `azp`, `client_id`, `sid`, `act`) is missing or has the wrong type. Groups, roles and
 *   scopes drop non-string values instead: dropping one can only take a grant away.
 * @example
 * ```ts
 * const { payload } = await jwtVerify(token, keys, { issuer, audience })
 * const subject = subjectFromClaims(payload, { roles: ['realm_access.roles'] })
 * ```
 */
export function subjectFromClaims(payload: Record<string, unknown>, mapping: ClaimMapping = {}): Subject {
  if (typeof payload.sub !== 'string' || payload.sub === '') invalid('"sub" claim must be a non-empty string')
  const subjectPath = mapping.subject ?? defaultMapping.subject
  const id = claimAt(payload, subjectPath)
  if (typeof id !== 'string' || id === '')
    invalid(`subject claim "${subjectPath}" must be a non-empty string`)
  const email = claimAt(payload, mapping.email ?? defaultMapping.email)
  const clientId = optionalString(payload, 'azp') ?? optionalString(payload, 'client_id')
  // A session id that cannot be read could not be matched against a session revocation.
  const sessionId = optionalString(payload, 'sid')
  return {
    authenticated: true,
    id,
    issuer: payload.iss as string,
    ...(typeof email === 'string' && { email }),
    groups: stringsAt(payload, mapping.groups ?? defaultMapping.groups, false),
    roles: stringsAt(payload, mapping.roles ?? defaultMapping.roles, false),
    scopes: stringsAt(payload, mapping.scopes ?? defaultMapping.scopes, true),
    ...(clientId !== undefined && { client_id: clientId }),
    ...(sessionId !== undefined && sessionId !== '' && { session_id: sessionId }),
    actor: actorChain(payload.act),
    token: tokenFacts(payload),
    claims: payload,
  }
}

/**
 * The value at a dot path of a claims object, or undefined. A path that is a top-level claim name
 * wins over its dotted reading, so namespaced claims like `https://example.com/roles` work.
 * Only own properties are followed: `__proto__` in a path finds nothing inherited.
 *
 * @example
 * ```ts
 * claimAt({ realm_access: { roles: ['admin'] } }, 'realm_access.roles') // ['admin']
 * ```
 */
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path]
  let node: unknown = claims
  for (const segment of path.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, segment))
      return undefined
    node = (node as Record<string, unknown>)[segment]
  }
  return node
}

function stringsAt(
  claims: Record<string, unknown>,
  paths: readonly string[],
  splitSpaces: boolean,
): string[] {
  const values = new Set<string>()
  const add = (value: unknown) => {
    if (typeof value !== 'string') return
    if (!splitSpaces) {
      if (value !== '') values.add(value)
      return
    }
    for (const part of value.split(/\s+/)) if (part !== '') values.add(part)
  }
  for (const path of paths) {
    const value = claimAt(claims, path)
    if (Array.isArray(value)) for (const item of value) add(item)
    else add(value)
  }
  return [...values]
}

function tokenFacts(claims: Record<string, unknown>): TokenFacts {
  const aud = claims.aud
  const audience = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud.filter(isString) : []
  const amr = Array.isArray(claims.amr) ? claims.amr.filter(isString) : []
  return {
    audience,
    ...(typeof claims.iat === 'number' && { issued_at: claims.iat }),
    ...(typeof claims.exp === 'number' && { expires_at: claims.exp }),
    ...(typeof claims.auth_time === 'number' && { auth_time: claims.auth_time }),
    ...(typeof claims.acr === 'string' && { acr: claims.acr }),
    amr,
    ...(typeof claims.jti === 'string' && { jti: claims.jti }),
  }
}

function optionalString(claims: Record<string, unknown>, name: string): string | undefined {
  const value = claims[name]
  if (value === undefined) return undefined
  if (typeof value !== 'string') invalid(`"${name}" claim must be a string`)
  return value
}

function isString(value: unknown): value is string {
  return typeof value === 'string'
}

function invalid(message: string): never {
  throw new McpPolicyError('ERR_IDENTITY_CLAIMS_INVALID', message)
}
