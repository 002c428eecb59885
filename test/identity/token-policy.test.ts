import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { durationSeconds } from '../../src/identity/duration.js'
import type { IssuerConfig } from '../../src/identity/identity-config.js'
import { checkTokenPolicy, resolveTokenPolicy } from '../../src/identity/token-policy.js'
import { TokenVerifier } from '../../src/identity/token-verifier.js'
import { resolvePdpConfig } from '../../src/pdp/load-pdp-config.js'
import { epochSeconds, signToken, type TestKey, testKey } from './test-keys.js'

const iss = 'https://idp.policy.test'
const aud = 'https://mcp.example.com/github'

let key: TestKey
beforeAll(async () => {
  key = await testKey('ES256', 'policy-1')
})

const verifier = (extra: Partial<IssuerConfig> = {}) =>
  new TokenVerifier({ issuers: [{ issuer: iss, jwks: { keys: [key.publicJwk] }, ...extra }] })
const token = (claims: Record<string, unknown>) => signToken(key, { iss, sub: 'alice', aud, ...claims })
const at = (seconds: number) => new Date(seconds * 1000)

describe('token lifetime (maxTokenLifetime, default 2 h)', () => {
  it('accepts exactly the maximum and refuses one second more', async () => {
    const now = epochSeconds()
    const v = verifier()
    expect((await v.verify(await token({ iat: now, exp: now + 7200 }), aud)).authenticated).toBe(true)
    const long = await v.verify(await token({ iat: now, exp: now + 7201 }), aud)
    expect(long.reason).toEqual({
      code: 'ERR_IDENTITY_TOKEN_LIFETIME_EXCEEDED',
      message: `token lifetime 7201 s (exp - iat) exceeds maxTokenLifetime 7200 s of issuer ${iss}`,
    })
  })

  it('takes seconds or a span; without iat the remaining lifetime counts', async () => {
    const now = epochSeconds()
    const hour = verifier({ maxTokenLifetime: '1h' })
    expect((await hour.verify(await token({ iat: now, exp: now + 5400 }), aud)).reason?.code).toBe(
      'ERR_IDENTITY_TOKEN_LIFETIME_EXCEEDED',
    )
    const seconds = verifier({ maxTokenLifetime: 600 })
    expect((await seconds.verify(await token({ iat: now, exp: now + 600 }), aud)).authenticated).toBe(true)
    expect((await seconds.verify(await token({ exp: now + 900 }), aud)).reason?.message).toContain(
      'exp - now, no iat',
    )
    expect((await seconds.verify(await token({ exp: now + 500 }), aud)).authenticated).toBe(true)
  })

  it('a day-long token is refused before its signature is even checked', async () => {
    const now = epochSeconds()
    const forged = `${(await token({ iat: now, exp: now + 86_400 })).slice(0, -8)}AAAAAAAA`
    expect((await verifier().verify(forged, aud)).reason?.code).toBe('ERR_IDENTITY_TOKEN_LIFETIME_EXCEEDED')
  })

  it('property: refused exactly when exp - iat exceeds the maximum', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 * 86_400 }),
        fc.integer({ min: 0, max: 2_000_000_000 }),
        fc.integer({ min: -86_400, max: 20 * 86_400 }),
        (max, iat, lifetime) => {
          const policy = { maxLifetimeSeconds: max, maxAuthAgeSeconds: undefined, requireJti: false }
          let code: string | undefined
          try {
            checkTokenPolicy(policy, iss, { iat, exp: iat + lifetime }, iat, 60)
          } catch (err) {
            code = (err as { code: string }).code
          }
          expect(code).toBe(lifetime > max ? 'ERR_IDENTITY_TOKEN_LIFETIME_EXCEEDED' : undefined)
        },
      ),
    )
  })
})

describe('auth age (maxAuthAge) and jti (requireJti)', () => {
  it('refuses an old sign-in, and a cached verification stops being served once the sign-in gets too old', async () => {
    const now = epochSeconds()
    const v = verifier({ maxAuthAge: '10m' })
    const t = await token({ iat: now, exp: now + 3600, auth_time: now - 60 })
    expect((await v.verify(t, aud, at(now))).authenticated).toBe(true)
    expect(v.cached(t, aud, at(now + 500))?.authenticated).toBe(true)
    // auth_time + 600 s + 60 s skew has passed: the cache no longer serves it, and it is refused.
    expect(v.cached(t, aud, at(now + 601))).toBeUndefined()
    const later = await v.verify(t, aud, at(now + 601))
    expect(later.reason?.code).toBe('ERR_IDENTITY_AUTH_AGE_EXCEEDED')
    expect(later.reason?.message).toContain('maxAuthAge 600 s')
  })

  it('refuses a token without auth_time when maxAuthAge is set, and without jti when requireJti is', async () => {
    const now = epochSeconds()
    expect(
      (await verifier({ maxAuthAge: 300 }).verify(await token({ iat: now, exp: now + 60 }), aud)).reason
        ?.message,
    ).toContain('"auth_time"')
    const strict = verifier({ requireJti: true })
    expect((await strict.verify(await token({ iat: now, exp: now + 60 }), aud)).reason?.message).toContain(
      '"jti"',
    )
    expect(
      (await strict.verify(await token({ iat: now, exp: now + 60, jti: 'j1' }), aud)).authenticated,
    ).toBe(true)
  })
})

describe('session_id from sid', () => {
  it('puts sid in subject.session_id, refuses a sid that is not a string', async () => {
    const now = epochSeconds()
    const v = verifier()
    expect(await v.verify(await token({ iat: now, exp: now + 60, sid: 'abc', jti: 'j' }), aud)).toMatchObject(
      {
        authenticated: true,
        session_id: 'abc',
        token: { jti: 'j' },
      },
    )
    expect((await v.verify(await token({ iat: now, exp: now + 60, sid: 42 }), aud)).reason?.code).toBe(
      'ERR_IDENTITY_CLAIMS_INVALID',
    )
  })
})

describe('token policy configuration', () => {
  it('resolves the defaults a security engineer expects', () => {
    expect(resolveTokenPolicy({ issuer: iss, jwksUri: 'https://x' })).toEqual({
      maxLifetimeSeconds: 7200,
      maxAuthAgeSeconds: undefined,
      requireJti: false,
    })
    expect(durationSeconds('15m', 'x')).toBe(900)
    expect(durationSeconds('7d', 'x')).toBe(604_800)
  })

  it.each<[string, Partial<IssuerConfig>]>([
    ['a duration that is not one', { maxTokenLifetime: '1 hour' }],
    ['a zero lifetime', { maxTokenLifetime: 0 }],
    ['a negative auth age', { maxAuthAge: -5 }],
    ['a misspelt member', { maxTokenLifeTime: '1h' } as Partial<IssuerConfig>],
    ['requireJti not a boolean', { requireJti: 'yes' as unknown as boolean }],
    ['an unknown revocation setting', { revocation: 'sometimes' as 'required' }],
  ])('the verifier refuses %s', (_name, extra) => {
    expect(() => verifier(extra)).toThrow(expect.objectContaining({ code: 'ERR_IDENTITY_CONFIG_INVALID' }))
  })

  it('the PDP configuration validates identity and state with the same schema (ERR_PDP_CONFIG_INVALID)', () => {
    const identity = (extra: Record<string, unknown>) => ({
      identity: { issuers: [{ issuer: iss, jwksUri: 'https://idp/jwks', ...extra }] },
    })
    expect(() =>
      resolvePdpConfig(identity({ maxTokenLifetime: '1h', maxAuthAge: 900, requireJti: true })),
    ).not.toThrow()
    for (const bad of [
      identity({ maxTokenLifetime: 'forever' }),
      identity({ typo: true }),
      identity({ introspection: { endpoint: 'https://idp/introspect', clientId: 'pdp' } }),
      { state: { backend: 'redis' } },
      { state: { backend: 'disk' } },
      { state: { backend: 'redis', redis: { url: 'http://x' } } },
      { state: { backend: 'redis', redis: { url: 'redis://x', keyPrefix: 'a b' } } },
    ])
      expect(() => resolvePdpConfig(bad)).toThrow(expect.objectContaining({ code: 'ERR_PDP_CONFIG_INVALID' }))
    expect(
      resolvePdpConfig({ state: { backend: 'redis', redis: { url: 'redis://127.0.0.1:6379/0' } } }).state,
    ).toEqual({
      backend: 'redis',
      redis: { url: 'redis://127.0.0.1:6379/0' },
    })
  })
})
