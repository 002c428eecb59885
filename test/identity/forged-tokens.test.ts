import { KeyObject } from 'node:crypto'
import { exportSPKI, SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorCodes, type McpPolicyErrorCode } from '../../src/errors.js'
import type { IdentityConfig } from '../../src/identity/identity-config.js'
import { RevocationList } from '../../src/identity/revocation-list.js'
import type { Subject } from '../../src/identity/subject.js'
import { TokenVerifier, type TokenVerifierOptions } from '../../src/identity/token-verifier.js'
import { MemoryStateStore } from '../../src/state/memory-state-store.js'
import { closedLoopbackUrl, type JwksServer, startJwksServer } from './jwks-server.js'
import { b64json, epochSeconds, signToken, type TestKey, testKey } from './test-keys.js'

const iss = 'https://idp.forge.test'
const aud = 'https://mcp.example.com/github'

interface ForgeCase {
  name: string
  token: () => Promise<string | undefined>
  code: McpPolicyErrorCode
  config?: () => Promise<Partial<IdentityConfig>>
  options?: () => Promise<TokenVerifierOptions>
}

describe('forged and broken tokens: each rejected with its own reason code', () => {
  let rsa: TestKey
  let ec: TestKey
  let attacker: TestKey
  let jwks: JwksServer
  const produced = new Set<McpPolicyErrorCode>()

  beforeAll(async () => {
    rsa = await testKey('RS256', 'rsa-1')
    ec = await testKey('ES256', 'ec-1')
    attacker = await testKey('RS256', 'rsa-1')
    jwks = await startJwksServer([rsa.publicJwk, ec.publicJwk])
  })
  afterAll(() => jwks?.close())

  const claims = (extra: Record<string, unknown> = {}) => {
    const now = epochSeconds()
    return { iss, sub: 'alice', aud, client_id: 'agent', iat: now - 10, exp: now + 300, ...extra }
  }
  const without = (name: string) => {
    const all: Record<string, unknown> = claims()
    delete all[name]
    return all
  }
  const verifier = (extra: Partial<IdentityConfig> = {}, options: TokenVerifierOptions = {}) =>
    new TokenVerifier(
      { issuers: [{ issuer: iss, jwksUri: jwks.url, requireAtJwt: true }], ...extra },
      options,
    )
  // A revocation list on a real (in-memory) store, holding one revoked session; `closed` makes the
  // store unavailable, as a Redis outage does.
  const revocations = async (closed = false) => {
    const store = new MemoryStateStore()
    const list = new RevocationList(store, { maxTokenLifetime: () => 7200 })
    await list.start()
    await list.revoke({ kind: 'session', issuer: iss, value: 'session-1', event: 'test:logout' })
    if (closed) await store.close()
    return { revocations: list }
  }

  const valid = () => signToken(rsa, claims())

  const cases: ForgeCase[] = [
    { name: 'no token', token: async () => undefined, code: 'ERR_IDENTITY_TOKEN_MISSING' },
    { name: 'empty token', token: async () => '', code: 'ERR_IDENTITY_TOKEN_MISSING' },
    { name: 'not a JWT', token: async () => 'definitely-not-a-jwt', code: 'ERR_IDENTITY_TOKEN_MALFORMED' },
    {
      name: 'two segments',
      token: async () => `${b64json({ alg: 'RS256' })}.${b64json(claims())}`,
      code: 'ERR_IDENTITY_TOKEN_MALFORMED',
    },
    {
      name: 'five segments (a JWE)',
      token: async () => `${b64json({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a.b.c.d`,
      code: 'ERR_IDENTITY_TOKEN_MALFORMED',
    },
    {
      name: 'characters outside base64url',
      token: async () => `${(await valid()).slice(0, -4)}+/==`,
      code: 'ERR_IDENTITY_TOKEN_MALFORMED',
    },
    {
      name: 'header not JSON',
      token: async () => `${Buffer.from('{alg').toString('base64url')}.${b64json(claims())}.c2ln`,
      code: 'ERR_IDENTITY_TOKEN_MALFORMED',
    },
    {
      name: 'payload not JSON',
      token: async () => `${b64json({ alg: 'RS256' })}.${Buffer.from('[1,').toString('base64url')}.c2ln`,
      code: 'ERR_IDENTITY_TOKEN_MALFORMED',
    },
    {
      name: 'oversize token (valid signature)',
      token: () => signToken(rsa, claims({ padding: 'x'.repeat(20_000) })),
      code: 'ERR_IDENTITY_TOKEN_TOO_LARGE',
    },
    {
      name: 'alg none (unsigned)',
      token: async () => `${b64json({ alg: 'none', typ: 'at+jwt' })}.${b64json(claims())}.`,
      code: 'ERR_IDENTITY_ALGORITHM_REJECTED',
    },
    {
      name: 'alg NoNe with a signature',
      token: async () => `${b64json({ alg: 'NoNe', typ: 'at+jwt' })}.${b64json(claims())}.c2lnbmF0dXJl`,
      code: 'ERR_IDENTITY_ALGORITHM_REJECTED',
    },
    {
      name: 'HS256 signed with the RSA public key (key confusion)',
      token: async () => {
        // The classic attack: the verifier's own public key, as PEM text, used as the HMAC secret.
        const pem = await exportSPKI(rsa.publicKey)
        return new SignJWT(claims())
          .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: rsa.kid })
          .sign(new TextEncoder().encode(pem))
      },
      code: 'ERR_IDENTITY_ALGORITHM_REJECTED',
    },
    {
      name: 'RS512 with the genuine key (not on the allowlist)',
      // The same RSA key, re-imported for SHA-512: only the algorithm differs.
      token: () =>
        signToken(
          { ...rsa, alg: 'RS512', privateKey: KeyObject.from(rsa.privateKey as CryptoKey) },
          claims(),
        ),
      code: 'ERR_IDENTITY_ALGORITHM_REJECTED',
    },
    {
      name: 'unknown kid',
      token: async () => signToken({ ...attacker, kid: 'rsa-2' }, claims()),
      code: 'ERR_IDENTITY_KEY_UNKNOWN',
    },
    {
      name: 'known kid, signed with another key',
      token: () => signToken(attacker, claims()),
      code: 'ERR_IDENTITY_SIGNATURE_INVALID',
    },
    {
      name: 'tampered payload (sub flipped, signature kept)',
      token: async () => {
        const [header, , signature] = (await valid()).split('.')
        return `${header}.${b64json(claims({ sub: 'admin' }))}.${signature}`
      },
      code: 'ERR_IDENTITY_SIGNATURE_INVALID',
    },
    {
      name: 'ES256 token with its signature truncated',
      token: async () => (await signToken(ec, claims())).slice(0, -8),
      code: 'ERR_IDENTITY_SIGNATURE_INVALID',
    },
    {
      name: 'expired an hour ago',
      token: () => signToken(rsa, claims({ iat: epochSeconds() - 7200, exp: epochSeconds() - 3600 })),
      code: 'ERR_IDENTITY_TOKEN_EXPIRED',
    },
    {
      name: 'nbf an hour ahead',
      token: () => signToken(rsa, claims({ nbf: epochSeconds() + 3600 })),
      code: 'ERR_IDENTITY_TOKEN_NOT_YET_VALID',
    },
    {
      name: 'iat an hour ahead',
      token: () => signToken(rsa, claims({ iat: epochSeconds() + 3600, exp: epochSeconds() + 7200 })),
      code: 'ERR_IDENTITY_TOKEN_NOT_YET_VALID',
    },
    {
      name: 'aud names another server',
      token: () => signToken(rsa, claims({ aud: 'https://mcp.example.com/jira' })),
      code: 'ERR_IDENTITY_AUDIENCE_MISMATCH',
    },
    {
      name: 'aud is the IdP client, as in an ID token',
      token: () => signToken(rsa, claims({ aud: 'agent' })),
      code: 'ERR_IDENTITY_AUDIENCE_MISMATCH',
    },
    { name: 'no aud', token: () => signToken(rsa, without('aud')), code: 'ERR_IDENTITY_AUDIENCE_MISMATCH' },
    {
      name: 'iss not configured (signed with the genuine key)',
      token: () => signToken(rsa, claims({ iss: 'https://evil.example' })),
      code: 'ERR_IDENTITY_ISSUER_UNKNOWN',
    },
    {
      name: 'iss differs by a trailing slash',
      token: () => signToken(rsa, claims({ iss: `${iss}/` })),
      code: 'ERR_IDENTITY_ISSUER_UNKNOWN',
    },
    { name: 'no iss', token: () => signToken(rsa, without('iss')), code: 'ERR_IDENTITY_ISSUER_UNKNOWN' },
    {
      name: 'typ JWT where at+jwt is required',
      token: () => signToken(rsa, claims(), { typ: 'JWT' }),
      code: 'ERR_IDENTITY_TYPE_INVALID',
    },
    {
      name: 'no typ',
      token: () => signToken(rsa, claims(), { typ: undefined }),
      code: 'ERR_IDENTITY_TYPE_INVALID',
    },
    { name: 'no sub', token: () => signToken(rsa, without('sub')), code: 'ERR_IDENTITY_CLAIMS_INVALID' },
    {
      name: 'sub not a string',
      token: () => signToken(rsa, claims({ sub: 42 })),
      code: 'ERR_IDENTITY_CLAIMS_INVALID',
    },
    { name: 'no exp', token: () => signToken(rsa, without('exp')), code: 'ERR_IDENTITY_CLAIMS_INVALID' },
    {
      name: 'lifetime longer than the default maxTokenLifetime (2 h)',
      token: () => signToken(rsa, claims({ exp: epochSeconds() + 3 * 3600 })),
      code: 'ERR_IDENTITY_TOKEN_LIFETIME_EXCEEDED',
    },
    {
      name: 'sign-in older than maxAuthAge',
      token: () => signToken(rsa, claims({ auth_time: epochSeconds() - 3600 })),
      code: 'ERR_IDENTITY_AUTH_AGE_EXCEEDED',
      config: async () => ({ issuers: [{ issuer: iss, jwksUri: jwks.url, maxAuthAge: '15m' }] }),
    },
    {
      name: 'no auth_time where maxAuthAge is set',
      token: valid,
      code: 'ERR_IDENTITY_CLAIMS_INVALID',
      config: async () => ({ issuers: [{ issuer: iss, jwksUri: jwks.url, maxAuthAge: '15m' }] }),
    },
    {
      name: 'no jti where requireJti is set',
      token: valid,
      code: 'ERR_IDENTITY_CLAIMS_INVALID',
      config: async () => ({ issuers: [{ issuer: iss, jwksUri: jwks.url, requireJti: true }] }),
    },
    {
      name: 'its session was revoked',
      token: () => signToken(rsa, claims({ sid: 'session-1' })),
      code: 'ERR_IDENTITY_TOKEN_REVOKED',
      options: () => revocations(),
    },
    {
      name: 'the revocation state cannot be read (revocation: required by default)',
      token: valid,
      code: 'ERR_IDENTITY_REVOCATION_UNAVAILABLE',
      options: () => revocations(true),
    },
    {
      name: 'introspection endpoint unreachable (mode always, no fallback)',
      token: valid,
      code: 'ERR_IDENTITY_INTROSPECTION_UNAVAILABLE',
      config: async () => ({
        issuers: [
          {
            issuer: iss,
            jwksUri: jwks.url,
            introspection: {
              endpoint: await closedLoopbackUrl(),
              clientId: 'pdp',
              clientSecret: 's',
              mode: 'always',
            },
          },
        ],
      }),
    },
    {
      name: 'exp not a number',
      token: () => signToken(rsa, claims({ exp: 'tomorrow' })),
      code: 'ERR_IDENTITY_CLAIMS_INVALID',
    },
    {
      name: 'JWKS unreachable (closed loopback port)',
      token: valid,
      code: 'ERR_IDENTITY_JWKS_UNAVAILABLE',
      config: async () => ({ issuers: [{ issuer: iss, jwksUri: await closedLoopbackUrl() }] }),
    },
  ]

  it.each(cases)('$name → $code', async ({ token, code, config, options }) => {
    const presented = await token()
    const subject = await verifier(config ? await config() : {}, options ? await options() : {}).verify(
      presented,
      aud,
    )
    expect(subject.reason?.code).toBe(code)
    expect(subject).toStrictEqual({
      authenticated: false,
      groups: [],
      roles: [],
      scopes: [],
      actor: null,
      claims: {},
      reason: { code, message: expect.any(String) },
    } satisfies Subject)
    expect(subject.reason?.message).not.toBe('')
    if (presented) expect(JSON.stringify(subject)).not.toContain(presented)
    produced.add(code)
  })

  it('the genuine RS256 and ES256 tokens the forgeries derive from do verify', async () => {
    const v = verifier()
    for (const token of [await valid(), await signToken(ec, claims())]) {
      expect(await v.verify(token, aud)).toMatchObject({
        authenticated: true,
        id: 'alice',
        client_id: 'agent',
      })
    }
  })

  it('a JWKS answering 500, or not answering within the timeout, is unavailable; failures are not cached', async () => {
    const token = await valid()
    jwks.setMode('error')
    const failing = verifier()
    expect((await failing.verify(token, aud)).reason?.code).toBe('ERR_IDENTITY_JWKS_UNAVAILABLE')
    jwks.setMode('hang')
    const started = Date.now()
    const timedOut = await verifier({ jwksTimeoutMs: 200 }).verify(token, aud)
    expect(timedOut.reason?.code).toBe('ERR_IDENTITY_JWKS_UNAVAILABLE')
    expect(Date.now() - started).toBeLessThan(2000)
    jwks.setMode('ok')
    // The same verifier recovers as soon as the JWKS answers: the failure was not remembered.
    expect((await failing.verify(token, aud)).authenticated).toBe(true)
    expect(failing.cacheStats().entries).toBe(1)
  })

  it('every ERR_IDENTITY_* code is produced by some case above', () => {
    // Configuration errors come from the constructor, not from a token (key-sources.test.ts).
    const identityCodes = errorCodes.filter(
      (code) => code.startsWith('ERR_IDENTITY_') && code !== 'ERR_IDENTITY_CONFIG_INVALID',
    )
    expect(identityCodes.length).toBeGreaterThan(10)
    expect([...produced].sort()).toEqual([...identityCodes].sort())
  })
})
