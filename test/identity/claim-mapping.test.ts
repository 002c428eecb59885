import { beforeAll, describe, expect, it } from 'vitest'
import type { ClaimMapping } from '../../src/identity/identity-config.js'
import type { Subject } from '../../src/identity/subject.js'
import { TokenVerifier } from '../../src/identity/token-verifier.js'
import { epochSeconds, signToken, type TestKey, testKey } from './test-keys.js'

const iss = 'https://idp.claims.test'
const aud = 'https://mcp.example.com/github'

describe('claim mapping, delegation and client identity', () => {
  let key: TestKey
  beforeAll(async () => {
    key = await testKey('ES256', 'claims-1')
  })

  async function subjectOf(extra: Record<string, unknown>, claims?: ClaimMapping): Promise<Subject> {
    const now = epochSeconds()
    const token = await signToken(key, { iss, sub: 'user-1', aud, iat: now, exp: now + 300, ...extra })
    const verifier = new TokenVerifier({
      issuers: [{ issuer: iss, jwks: { keys: [key.publicJwk] }, claims }],
    })
    return verifier.verify(token, aud)
  }

  it('Keycloak: realm roles under realm_access.roles', async () => {
    const subject = await subjectOf(
      {
        realm_access: { roles: ['support', 'offline_access'] },
        resource_access: { github: { roles: ['repo-admin'] } },
        scope: 'openid tools:call',
        azp: 'mcp-gateway',
      },
      { roles: ['realm_access.roles', 'resource_access.github.roles'] },
    )
    expect(subject).toMatchObject({
      authenticated: true,
      roles: ['support', 'offline_access', 'repo-admin'],
      scopes: ['openid', 'tools:call'],
      client_id: 'mcp-gateway',
    })
  })

  it('Entra ID: app roles in roles, oid as the subject, scp as a space-separated string', async () => {
    const subject = await subjectOf(
      {
        oid: '0f3c-oid',
        roles: ['Tools.Call', 'Tools.Read'],
        scp: 'Files.Read  User.Read',
        azp: 'entra-app',
      },
      { subject: 'oid', roles: ['roles'], scopes: ['scp'] },
    )
    expect(subject).toMatchObject({
      id: '0f3c-oid',
      roles: ['Tools.Call', 'Tools.Read'],
      scopes: ['Files.Read', 'User.Read'],
      client_id: 'entra-app',
    })
    expect(subject.claims.sub).toBe('user-1')
  })

  it('Okta: groups, and scp as an array', async () => {
    const subject = await subjectOf(
      { groups: ['Everyone', 'Platform Engineering'], scp: ['tools:read', 'tools:call'], cid: 'okta-client' },
      { groups: ['groups'], scopes: ['scp'] },
    )
    expect(subject).toMatchObject({
      groups: ['Everyone', 'Platform Engineering'],
      scopes: ['tools:read', 'tools:call'],
    })
    // Okta names its client claim cid: neither azp nor client_id, so no client is claimed.
    expect(subject.client_id).toBeUndefined()
  })

  it('default mapping: groups, roles, scope and scp merged and deduplicated', async () => {
    const subject = await subjectOf({
      groups: ['a', 'b', 'a'],
      roles: 'single-role',
      scope: ' tools:read tools:call\ttools:read ',
      scp: ['tools:call', 'admin'],
      email: 'user@example.com',
    })
    expect(subject).toMatchObject({
      groups: ['a', 'b'],
      roles: ['single-role'],
      scopes: ['tools:read', 'tools:call', 'admin'],
      email: 'user@example.com',
    })
  })

  it('namespaced claim names containing dots, and non-string values dropped', async () => {
    const subject = await subjectOf(
      {
        'https://example.com/roles': ['auditor', 7, null, { role: 'x' }, ''],
        nested: { deep: { groups: ['g1'] } },
      },
      { roles: ['https://example.com/roles'], groups: ['nested.deep.groups', 'missing.path', 'nested.deep'] },
    )
    expect(subject).toMatchObject({ roles: ['auditor'], groups: ['g1'] })
  })

  it('paths only follow own properties (no prototype lookups)', async () => {
    const subject = await subjectOf(
      { groups: ['g'] },
      { groups: ['__proto__.groups', 'constructor.name', 'groups.length', 'toString'], email: 'constructor' },
    )
    expect(subject.groups).toEqual([])
    expect(subject.email).toBeUndefined()
  })

  it('azp wins over client_id; client_id alone is used; a non-string azp is rejected', async () => {
    expect((await subjectOf({ azp: 'from-azp', client_id: 'from-client-id' })).client_id).toBe('from-azp')
    expect((await subjectOf({ client_id: 'from-client-id' })).client_id).toBe('from-client-id')
    expect((await subjectOf({})).client_id).toBeUndefined()
    const bad = await subjectOf({ azp: ['a'], client_id: 'from-client-id' })
    expect(bad).toMatchObject({ authenticated: false, reason: { code: 'ERR_IDENTITY_CLAIMS_INVALID' } })
  })

  it('the RFC 8693 act chain becomes subject.actor, nested', async () => {
    const subject = await subjectOf({
      act: { sub: 'claude-agent', client_id: 'agent-app', act: { sub: 'orchestrator', extra: true } },
    })
    expect(subject.actor).toStrictEqual({
      id: 'claude-agent',
      client_id: 'agent-app',
      actor: { id: 'orchestrator', actor: null },
    })
    expect((await subjectOf({})).actor).toBeNull()
  })

  it('a malformed or runaway act chain is rejected, not read partly', async () => {
    let chain: Record<string, unknown> = { sub: 'a0' }
    for (let depth = 1; depth < 9; depth++) chain = { sub: `a${depth}`, act: chain }
    for (const act of [
      chain,
      'agent',
      ['agent'],
      null,
      { sub: 5 },
      { sub: 'ok', act: { client_id: false } },
    ]) {
      const subject = await subjectOf({ act })
      expect(subject, JSON.stringify(act)).toMatchObject({
        authenticated: false,
        reason: { code: 'ERR_IDENTITY_CLAIMS_INVALID' },
      })
    }
    // Eight links is the bound, and accepted.
    const eight = chain.act as Record<string, unknown>
    const accepted = await subjectOf({ act: eight })
    expect(accepted.authenticated).toBe(true)
    let depth = 0
    for (let actor = accepted.actor; actor; actor = actor.actor) depth++
    expect(depth).toBe(8)
  })

  it('token facts: audience as an array, times, acr, amr, jti; claims are the verified payload', async () => {
    const now = epochSeconds()
    const subject = await subjectOf({
      aud: [aud, 'https://other.example'],
      iat: now - 42,
      auth_time: now - 100,
      acr: 'urn:mace:incommon:iap:silver',
      amr: ['pwd', 'otp', 3],
      jti: 'token-id-1',
    })
    expect(subject.token).toStrictEqual({
      audience: [aud, 'https://other.example'],
      issued_at: now - 42,
      expires_at: now + 300,
      age_s: expect.any(Number),
      auth_time: now - 100,
      acr: 'urn:mace:incommon:iap:silver',
      amr: ['pwd', 'otp'],
      jti: 'token-id-1',
    })
    expect(subject.token?.age_s).toBeGreaterThanOrEqual(42)
    expect(subject.token?.age_s).toBeLessThan(45)
    expect(subject.claims).toMatchObject({ iss, sub: 'user-1', acr: 'urn:mace:incommon:iap:silver' })
  })

  it('a subject mapped to a missing claim is rejected', async () => {
    const subject = await subjectOf({}, { subject: 'oid' })
    expect(subject.reason?.code).toBe('ERR_IDENTITY_CLAIMS_INVALID')
  })
})
