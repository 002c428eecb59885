import { type DevKey, mintDevToken } from '../identity/dev-token.js'
import type { McpRequestFacts } from '../pdp/decision-service.js'
import type { CaseIdentity, DecisionCase } from './decision-cases.js'

/** The request time of a case that names none: a Monday inside business hours, so runs agree. */
export const DEFAULT_CASE_TIME = '2025-11-24T10:00:00Z'

/** The keys a run signs case identities with: the trusted one, and one for `token: forged`. */
export interface CaseKeys {
  signingKey: DevKey
  forgingKey: DevKey
}

/**
 * The request a decision case describes, as production would see it: its identity signed into a
 * real token for the server's resource, its headers, time and direction. `mcp-policy test` decides
 * it; `init` records it as the sample log. Internal: not exported from the package.
 *
 * @throws Error naming the case when it has an identity but its server has no resource.
 */
export async function caseRequest(
  testCase: DecisionCase,
  servers: Record<string, { resource: string }>,
  keys: CaseKeys,
): Promise<McpRequestFacts> {
  const now = new Date(testCase.now ?? DEFAULT_CASE_TIME)
  const headers: Record<string, string> = { ...testCase.headers }
  if (testCase.identity) {
    const resource = testCase.server ? servers[testCase.server]?.resource : undefined
    if (!resource)
      throw new Error(
        `case "${testCase.name}" names server ${String(testCase.server)}, which has no resource`,
      )
    headers.authorization = `Bearer ${await signIdentity(testCase.identity, resource, now, keys)}`
  }
  return {
    message: testCase.message,
    headers,
    server: testCase.server,
    attributes: testCase.attributes,
    now,
    direction: testCase.direction,
  }
}

async function signIdentity(
  identity: CaseIdentity,
  resource: string,
  now: Date,
  keys: CaseKeys,
): Promise<string> {
  const claims: Record<string, unknown> = { ...identity.claims }
  if (identity.auth_age_s !== undefined)
    claims.auth_time = Math.floor(now.getTime() / 1000) - identity.auth_age_s
  if (identity.acr !== undefined) claims.acr = identity.acr
  if (identity.amr !== undefined) claims.amr = identity.amr
  const kind = identity.token ?? 'valid'
  return mintDevToken(
    kind === 'forged' ? { ...keys.forgingKey, kid: keys.signingKey.kid } : keys.signingKey,
    {
      sub: identity.sub ?? 'alice',
      aud: kind === 'wrong_audience' ? 'https://elsewhere.example/mcp' : resource,
      roles: identity.roles,
      groups: identity.groups,
      scopes: identity.scopes,
      act: identity.act as never,
      clientId: identity.client_id,
      claims,
      now,
      expiresIn: kind === 'expired' ? -3600 : 3600,
    },
  )
}
