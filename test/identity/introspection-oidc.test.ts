import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IntrospectionConfig, IssuerConfig } from '../../src/identity/identity-config.js'
import type { IntrospectionOutcome } from '../../src/identity/identity-events.js'
import { TokenVerifier } from '../../src/identity/token-verifier.js'
import { defaultServerResource } from '../../src/index.js'
import { buildReferenceBundle, startTestPdp, type TestPdp, toolCall } from '../helpers/pdp.js'
import { type IntrospectingIdp, startIntrospectingIdp } from './introspecting-idp.js'

// RFC 7662 against a real IdP (panva/oidc-provider): opaque access tokens, introspected by the
// verifier over HTTP with client_secret_basic or private_key_jwt, and revoked at the IdP (RFC 7009).
const github = defaultServerResource('github')
const jira = 'https://mcp.example.com/jira'

let idp: IntrospectingIdp
let keyFile: string

beforeAll(async () => {
  idp = await startIntrospectingIdp([github, jira], ['developer'])
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-introspection-'))
  keyFile = join(dir, 'pdp-key.pem')
  await writeFile(keyFile, idp.pdpJwtClient.privateKeyPem)
})

afterAll(async () => {
  await idp?.close()
})

function issuerWith(introspection: Partial<IntrospectionConfig> = {}): IssuerConfig {
  return {
    issuer: idp.issuer,
    // Opaque tokens need no keys, but every issuer names a key source: an inline empty set.
    jwks: { keys: [] },
    introspection: {
      endpoint: idp.introspectionEndpoint,
      clientId: idp.pdpClient.id,
      clientSecret: idp.pdpClient.secret,
      ...introspection,
    },
  }
}

function verifier(introspection: Partial<IntrospectionConfig> = {}) {
  const outcomes: IntrospectionOutcome[] = []
  const v = new TokenVerifier(
    { issuers: [issuerWith(introspection)] },
    { events: { introspection: (_issuer, outcome) => outcomes.push(outcome) } },
  )
  return Object.assign(v, { outcomes })
}

describe('opaque tokens introspected at a real IdP (oidc-provider)', () => {
  it('verifies an opaque token from its introspection answer, then serves it from the cache', async () => {
    const v = verifier()
    const token = await idp.token(github)
    expect(token).not.toContain('.')
    const before = idp.introspections()
    const subject = await v.verify(token, github)
    expect(subject).toMatchObject({
      authenticated: true,
      id: 'support-agent',
      issuer: idp.issuer,
      client_id: 'support-agent',
      roles: ['developer'],
      scopes: ['tools:call'],
      token: { audience: [github] },
    })
    expect(subject.claims).not.toHaveProperty('active')
    expect(JSON.stringify(subject)).not.toContain(token)
    expect(await v.verify(token, github)).toMatchObject({ authenticated: true })
    expect(v.cached(token, github)?.authenticated).toBe(true)
    expect(idp.introspections() - before).toBe(1)
    expect(v.outcomes).toEqual(['active'])
  })

  it('a token revoked at the IdP is refused on the next request (cache TTL 0)', async () => {
    const v = verifier({ cacheTtlSeconds: 0 })
    const token = await idp.token(github)
    expect((await v.verify(token, github)).authenticated).toBe(true)
    await idp.revoke(token)
    const refused = await v.verify(token, github)
    expect(refused.reason?.code).toBe('ERR_IDENTITY_TOKEN_REVOKED')
    expect(v.outcomes).toEqual(['active', 'inactive'])
  })

  it('with a cache TTL, a revocation at the IdP is refused once the cached answer ends (at most the TTL)', async () => {
    const v = verifier({ cacheTtlSeconds: 1 })
    const token = await idp.token(github)
    expect((await v.verify(token, github)).authenticated).toBe(true)
    await idp.revoke(token)
    const revokedAt = Date.now()
    let refusedAt: number | undefined
    while (Date.now() - revokedAt < 3_000) {
      const subject = await v.verify(token, github)
      if (!subject.authenticated) {
        expect(subject.reason?.code).toBe('ERR_IDENTITY_TOKEN_REVOKED')
        refusedAt = Date.now()
        break
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    expect(refusedAt).toBeDefined()
    expect(refusedAt! - revokedAt).toBeLessThanOrEqual(1_100)
  })

  it('authenticates to the IdP with private_key_jwt (RFC 7523) as well', async () => {
    const v = verifier({ clientSecret: undefined, clientId: idp.pdpJwtClient.id, privateKeyJwt: { keyFile } })
    expect((await v.verify(await idp.token(github), github)).authenticated).toBe(true)
  })

  it('a wrong client secret: the IdP refuses to answer, and the token is refused as unavailable (fail closed)', async () => {
    const v = verifier({ clientSecret: 'not-the-secret' })
    const subject = await v.verify(await idp.token(github), github)
    expect(subject.reason?.code).toBe('ERR_IDENTITY_INTROSPECTION_UNAVAILABLE')
    expect(subject.reason?.message).toContain('HTTP 401')
    expect(v.outcomes).toEqual(['unavailable_denied'])
  })

  it("a token for another server's resource is refused (aud from the answer)", async () => {
    const subject = await verifier().verify(await idp.token(jira), github)
    expect(subject.reason?.code).toBe('ERR_IDENTITY_AUDIENCE_MISMATCH')
  })

  it('a token the IdP never issued is inactive', async () => {
    const subject = await verifier().verify('made-up-opaque-token-of-decent-length-0123456789', github)
    expect(subject.reason?.code).toBe('ERR_IDENTITY_TOKEN_REVOKED')
  })

  it('a burst of calls with a new token makes one introspection request', async () => {
    const v = verifier()
    const token = await idp.token(github)
    const before = idp.introspections()
    const subjects = await Promise.all(Array.from({ length: 20 }, () => v.verify(token, github)))
    expect(subjects.every((s) => s.authenticated)).toBe(true)
    expect(idp.introspections() - before).toBe(1)
  })
})

describe('a PDP whose issuer introspects: the decision and the metrics', () => {
  let pdp: TestPdp
  beforeAll(async () => {
    const bundle = await buildReferenceBundle()
    pdp = await startTestPdp(bundle.path, {
      identity: { issuers: [{ ...issuerWith({ cacheTtlSeconds: 0 }), claims: { roles: ['roles'] } }] },
    })
  }, 120_000)
  afterAll(async () => {
    await pdp?.close()
  })

  async function decide(bearer: string) {
    const response = await request(`${pdp.url}/v1/mcp/decide`, {
      method: 'POST',
      body: JSON.stringify({
        message: toolCall('get_issue'),
        headers: { authorization: `Bearer ${bearer}` },
        server: 'github',
      }),
    })
    return (await response.body.json()) as { allow: boolean; status: number; reasons: { code: string }[] }
  }

  it('allows with a live opaque token, refuses it with 401 ERR_IDENTITY_TOKEN_REVOKED once revoked at the IdP, and counts both', async () => {
    const token = await idp.token(github)
    expect(await decide(token)).toMatchObject({ allow: true })
    await idp.revoke(token)
    const refused = await decide(token)
    // The reference policy's reason is `unauthenticated`, its message the subject's reason.
    expect(refused).toMatchObject({ allow: false, status: 401, reasons: [{ code: 'unauthenticated' }] })
    expect(JSON.stringify(refused.reasons)).toContain('inactive')
    const metrics = await (await request(`${pdp.url}/metrics`)).body.text()
    expect(metrics).toMatch(
      /mcp_policy_introspection_requests_total\{issuer="[^"]+",outcome="active"[^}]*\} 1/,
    )
    expect(metrics).toMatch(
      /mcp_policy_introspection_requests_total\{issuer="[^"]+",outcome="inactive"[^}]*\} 1/,
    )
    expect(metrics).toMatch(/mcp_policy_state_store_available\{backend="memory"[^}]*\} 1/)
    // The decision log holds the identity reason code the policy saw, and never the token.
    await pdp.close()
    const files = (await readdir(pdp.logDir)).filter((name) => name.endsWith('.jsonl'))
    const lines = (await Promise.all(files.map((name) => readFile(join(pdp.logDir, name), 'utf8')))).join('')
    expect(lines).not.toContain(token)
    const codes = lines
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { input?: { subject?: { reason?: { code?: string } } } })
      .map((event) => event.input?.subject?.reason?.code)
    expect(codes).toContain('ERR_IDENTITY_TOKEN_REVOKED')
  })
})
