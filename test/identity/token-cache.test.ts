import { beforeAll, describe, expect, it } from 'vitest'
import type { IdentityConfig } from '../../src/identity/identity-config.js'
import { TokenVerifier } from '../../src/identity/token-verifier.js'
import { epochSeconds, signToken, type TestKey, testKey } from './test-keys.js'

const iss = 'https://idp.cache.test'
const aud = 'https://mcp.example.com/github'

describe('verified-subject cache and clock skew', () => {
  let key: TestKey
  beforeAll(async () => {
    key = await testKey('ES256', 'cache-1')
  })

  const verifier = (extra: Partial<IdentityConfig> = {}) =>
    new TokenVerifier({ issuers: [{ issuer: iss, jwks: { keys: [key.publicJwk] } }], ...extra })
  const token = (extra: Record<string, unknown> = {}) => {
    const now = epochSeconds()
    return signToken(key, { iss, sub: 'alice', aud, iat: now, exp: now + 300, ...extra })
  }
  const at = (seconds: number) => new Date(seconds * 1000)

  it('a second verification is a cache hit with age_s recomputed; the subject is otherwise the same', async () => {
    const v = verifier()
    const now = epochSeconds()
    const t = await token({ iat: now, exp: now + 300 })
    const first = await v.verify(t, aud, at(now))
    const later = await v.verify(t, aud, at(now + 10))
    expect(v.cacheStats()).toEqual({ entries: 1, hits: 1, misses: 1 })
    expect(first.token?.age_s).toBe(0)
    expect(later.token?.age_s).toBe(10)
    expect({ ...later, token: { ...later.token, age_s: 0 } }).toStrictEqual(first)
  })

  it('cached subjects are frozen, so no caller can change what the next call sees', async () => {
    const v = verifier()
    const t = await token({ groups: ['staff'] })
    const first = await v.verify(t, aud)
    expect(Object.isFrozen(first)).toBe(true)
    expect(Object.isFrozen(first.groups)).toBe(true)
    expect(Object.isFrozen(first.claims)).toBe(true)
    expect(() => first.groups.push('admin')).toThrow(TypeError)
    expect(() => {
      first.authenticated = false
    }).toThrow(TypeError)
    expect(() => {
      first.groups = ['admin']
    }).toThrow(TypeError)
    const second = await v.verify(t, aud)
    expect(second).toMatchObject({ authenticated: true, groups: ['staff'] })
  })

  it('a hit must be the whole token: a cached signature under another payload is verified, and refused', async () => {
    const v = verifier()
    const t = await token({ groups: ['staff'] })
    expect((await v.verify(t, aud)).authenticated).toBe(true)
    const [header, payload, signature] = t.split('.') as [string, string, string]
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
    const raised = Buffer.from(JSON.stringify({ ...claims, groups: ['admin'] })).toString('base64url')
    const forged = `${header}.${raised}.${signature}`
    const before = v.cacheStats()
    expect(v.cached(forged, aud)).toBeUndefined()
    const refused = await v.verify(forged, aud)
    // Neither look counted as a hit; the probe before verify() did not count a second miss.
    expect(v.cacheStats()).toEqual({ ...before, misses: before.misses + 1 })
    expect(refused).toMatchObject({ authenticated: false, groups: [] })
    expect(refused.reason?.code).toBe('ERR_IDENTITY_SIGNATURE_INVALID')
    // The genuine entry is untouched.
    expect(v.cached(t, aud)).toMatchObject({ authenticated: true, groups: ['staff'] })
  })

  it('cached() answers without a promise only for a token verified before, for that audience', async () => {
    const v = verifier()
    const t = await token()
    expect(v.cached(t, aud)).toBeUndefined()
    expect(v.cached(undefined, aud)).toBeUndefined()
    expect(v.cached('not.a.jwt', aud)).toBeUndefined()
    const verified = await v.verify(t, aud)
    expect(v.cached(t, aud)).toStrictEqual(verified)
    expect(v.cached(t, 'https://mcp.example.com/jira')).toBeUndefined()
    expect(v.cached(t, aud, new Date(Date.now() + 3600_000))).toBeUndefined()
  })

  it('an entry is not served once the token expires (beyond skew), nor before it is valid', async () => {
    const v = verifier()
    const now = epochSeconds()
    const t = await token({ iat: now, exp: now + 300 })
    expect((await v.verify(t, aud, at(now))).authenticated).toBe(true)
    expect((await v.verify(t, aud, at(now + 300 + 59))).authenticated).toBe(true)
    const expired = await v.verify(t, aud, at(now + 300 + 61))
    expect(expired.reason?.code).toBe('ERR_IDENTITY_TOKEN_EXPIRED')
    expect(v.cacheStats().entries).toBe(0)
    const fresh = verifier()
    expect((await fresh.verify(t, aud, at(now))).authenticated).toBe(true)
    expect((await fresh.verify(t, aud, at(now - 3600))).reason?.code).toBe('ERR_IDENTITY_TOKEN_NOT_YET_VALID')
  })

  it('the audience is part of the cache key', async () => {
    const v = verifier()
    const t = await token()
    expect((await v.verify(t, aud)).authenticated).toBe(true)
    const other = await v.verify(t, 'https://mcp.example.com/jira')
    expect(other.reason?.code).toBe('ERR_IDENTITY_AUDIENCE_MISMATCH')
  })

  it('the cache is a bounded LRU, and cacheMaxEntries 0 turns it off', async () => {
    const v = verifier({ cacheMaxEntries: 2 })
    const [a, b, c] = await Promise.all([token({ sub: 'a' }), token({ sub: 'b' }), token({ sub: 'c' })])
    await v.verify(a, aud)
    await v.verify(b, aud)
    await v.verify(a, aud) // a is now the most recently used
    await v.verify(c, aud) // evicts b
    expect(v.cacheStats()).toEqual({ entries: 2, hits: 1, misses: 3 })
    await v.verify(a, aud)
    expect(v.cacheStats().hits).toBe(2)
    await v.verify(b, aud)
    expect(v.cacheStats()).toEqual({ entries: 2, hits: 2, misses: 4 })

    const off = verifier({ cacheMaxEntries: 0 })
    await off.verify(a, aud)
    await off.verify(a, aud)
    expect(off.cacheStats()).toEqual({ entries: 0, hits: 0, misses: 2 })
  })

  it('failures are not cached', async () => {
    const v = verifier()
    const t = await token({ aud: 'https://elsewhere.example' })
    await v.verify(t, aud)
    await v.verify(t, aud)
    expect(v.cacheStats().entries).toBe(0)
  })

  it('skew: expired 30 s ago passes with the default 60 s and fails with 0; a near-future nbf likewise', async () => {
    const now = epochSeconds()
    const expired = await token({ iat: now - 330, exp: now - 30 })
    expect((await verifier().verify(expired, aud, at(now))).authenticated).toBe(true)
    expect((await verifier({ clockSkewSeconds: 0 }).verify(expired, aud, at(now))).reason?.code).toBe(
      'ERR_IDENTITY_TOKEN_EXPIRED',
    )
    const early = await token({ iat: now + 30, nbf: now + 30, exp: now + 330 })
    expect((await verifier().verify(early, aud, at(now))).authenticated).toBe(true)
    expect((await verifier({ clockSkewSeconds: 0 }).verify(early, aud, at(now))).reason?.code).toBe(
      'ERR_IDENTITY_TOKEN_NOT_YET_VALID',
    )
  })

  it('the size bound is configurable', async () => {
    const t = await token()
    expect((await verifier({ maxTokenBytes: t.length }).verify(t, aud)).authenticated).toBe(true)
    expect((await verifier({ maxTokenBytes: t.length - 1 }).verify(t, aud)).reason?.code).toBe(
      'ERR_IDENTITY_TOKEN_TOO_LARGE',
    )
  })

  it('an invalid verification time fails closed, even for a cached token', async () => {
    const v = verifier()
    const t = await token()
    expect((await v.verify(t, aud)).authenticated).toBe(true)
    const invalid = await v.verify(t, aud, new Date(Number.NaN))
    expect(invalid).toMatchObject({ authenticated: false, reason: { code: 'ERR_IDENTITY_CLAIMS_INVALID' } })
  })
})
