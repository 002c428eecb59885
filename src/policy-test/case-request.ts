import { DEFAULT_SERVER, defaultServerResource } from '../defaults.js'
import { type DevKey, mintDevToken } from '../identity/dev-token.js'
import type { RequestEnvelope } from '../normalize/request-normalizer.js'
import type { CaseIdentity, DecisionCase } from './decision-cases.js'

/**
 * The request time of a case that names none: a Monday inside business hours, so runs agree.
 *
 * @internal
 */
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
 * @param where.serversLine The line of the file's `servers:` key, when it has one (for the message).
 * @throws Error saying which key to add, and where, when the case's server has no resource: its
 *   identity cannot be signed for an audience, and the normalizer would refuse the request (unless
 *   the case expects exactly that, `ERR_NORMALIZE_SERVER_UNKNOWN`).
 */
export async function caseRequest(
  testCase: DecisionCase,
  servers: Record<string, { resource: string }>,
  keys: CaseKeys,
  where: { serversLine?: number } = {},
): Promise<RequestEnvelope> {
  const now = new Date(testCase.now ?? DEFAULT_CASE_TIME)
  const headers: Record<string, string | string[]> = { ...testCase.headers }
  const resource =
    testCase.server !== undefined && Object.hasOwn(servers, testCase.server)
      ? servers[testCase.server]?.resource
      : undefined
  const unknownExpected = testCase.expect.reasons?.includes('ERR_NORMALIZE_SERVER_UNKNOWN') === true
  if (!resource && (testCase.identity || !unknownExpected))
    throw new Error(missingResource(testCase, servers, where.serversLine))
  if (testCase.identity && resource) {
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

// What to add, where, as YAML to paste: the fix, not only the fault.
function missingResource(
  testCase: DecisionCase,
  servers: Record<string, { resource: string }>,
  serversLine: number | undefined,
): string {
  const known = Object.keys(servers)
  const knownText = known.length > 0 ? known.join(', ') : 'none'
  if (testCase.server === undefined)
    return [
      `case "${testCase.name}" names no server, so its request has no resource (token audience) to go to.`,
      `Add \`server: <id>\` to the case, or to \`defaults:\` for every case in ${testCase.file} (servers here: ${knownText}), e.g.`,
      `    defaults:`,
      `      server: ${known[0] ?? DEFAULT_SERVER}`,
    ].join('\n')
  const entry = `      ${yamlKey(testCase.server)}: { resource: ${defaultServerResource(testCase.server)} }`
  const head = `case "${testCase.name}" names server "${testCase.server}", which has no resource (the token audience its request is for).`
  if (serversLine !== undefined)
    return [
      head,
      `Add it to the \`servers:\` map of ${testCase.file} (line ${serversLine}; it has ${knownText}):`,
      '    servers:',
      entry,
    ].join('\n')
  return [
    head,
    `The default servers are ${knownText}. Add a \`servers:\` map at the top of ${testCase.file}; it replaces the defaults, so list every server its cases name:`,
    '    servers:',
    entry,
    ...known.map((id) => `      ${yamlKey(id)}: { resource: ${servers[id]!.resource} }`),
  ].join('\n')
}

// A server id as a YAML key: plain when it reads back as the same string, else quoted.
function yamlKey(id: string): string {
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(id) && !/^(true|false|null|yes|no|on|off|~)$/i.test(id)
    ? id
    : JSON.stringify(id)
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
