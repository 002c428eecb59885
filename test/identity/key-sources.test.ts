import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import type { IdentityConfig, IssuerConfig } from '../../src/identity/identity-config.js'
import { TokenVerifier } from '../../src/identity/token-verifier.js'
import { type JwksServer, startJwksServer } from './jwks-server.js'
import { epochSeconds, signToken, type TestKey, testKey } from './test-keys.js'

const iss = 'https://idp.keys.test'
const aud = 'https://mcp.example.com/github'

describe('issuer key sources and configuration', () => {
  let first: TestKey
  let second: TestKey
  let jwks: JwksServer
  beforeAll(async () => {
    ;[first, second] = await Promise.all([testKey('ES256', 'k1'), testKey('EdDSA', 'k2')])
    jwks = await startJwksServer([first.publicJwk])
  })
  afterAll(() => jwks?.close())
  afterEach(() => {
    vi.useRealTimers()
    jwks.setMode('ok')
    jwks.setKeys([first.publicJwk])
  })

  const token = (key: TestKey, extra: Record<string, unknown> = {}) => {
    const now = epochSeconds()
    return signToken(key, { iss, sub: 'alice', aud, iat: now, exp: now + 600, ...extra })
  }
  const verifier = (issuer: Partial<IssuerConfig>, extra: Partial<IdentityConfig> = {}) =>
    new TokenVerifier({ issuers: [{ issuer: iss, ...issuer }], ...extra })

  it('a JWKS file: read on first use, re-read for an unknown kid once the cooldown has passed', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'mcp-policy-jwks-')), 'jwks.json')
    await writeFile(file, JSON.stringify({ keys: [first.publicJwk] }))
    const cooling = verifier({ jwksFile: file })
    const eager = verifier({ jwksFile: file }, { jwksCooldownMs: 0 })
    expect((await cooling.verify(await token(first), aud)).authenticated).toBe(true)
    expect((await eager.verify(await token(first), aud)).authenticated).toBe(true)
    // The IdP rotates: the new key is written to the file.
    await writeFile(file, JSON.stringify({ keys: [first.publicJwk, second.publicJwk] }))
    const rotated = await token(second)
    expect((await cooling.verify(rotated, aud)).reason?.code).toBe('ERR_IDENTITY_KEY_UNKNOWN')
    expect((await eager.verify(rotated, aud)).authenticated).toBe(true)
  })

  it('a missing or broken JWKS file is unavailable, not a crash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-jwks-'))
    const missing = await verifier({ jwksFile: join(dir, 'absent.json') }).verify(await token(first), aud)
    expect(missing.reason?.code).toBe('ERR_IDENTITY_JWKS_UNAVAILABLE')
    await writeFile(join(dir, 'broken.json'), '{"keys": 5}')
    const broken = await verifier({ jwksFile: join(dir, 'broken.json') }).verify(await token(first), aud)
    expect(broken.reason?.code).toBe('ERR_IDENTITY_JWKS_UNAVAILABLE')
  })

  it('an inline JWKS, with an EdDSA key', async () => {
    const v = verifier({ jwks: { keys: [first.publicJwk, second.publicJwk] } })
    expect(await v.verify(await token(second), aud)).toMatchObject({ authenticated: true, id: 'alice' })
  })

  it('a token without kid is verified when one key fits, and refused when several do', async () => {
    const other = await testKey('ES256', 'k3')
    const noKid = await signToken(
      first,
      { iss, sub: 'alice', aud, exp: epochSeconds() + 60 },
      { kid: undefined },
    )
    expect((await verifier({ jwks: { keys: [first.publicJwk] } }).verify(noKid, aud)).authenticated).toBe(
      true,
    )
    const ambiguous = await verifier({ jwks: { keys: [first.publicJwk, other.publicJwk] } }).verify(
      noKid,
      aud,
    )
    expect(ambiguous.reason?.code).toBe('ERR_IDENTITY_KEY_UNKNOWN')
  })

  it('a remote JWKS outage after the keys went stale: the last keys keep verifying, without a fetch per call', async () => {
    const v = verifier({ jwksUri: jwks.url })
    expect((await v.verify(await token(first), aud)).authenticated).toBe(true)
    const fetched = jwks.requests()
    jwks.setMode('error')
    // jose refetches a JWKS older than ten minutes; move the clock past that.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 11 * 60_000 })
    const later = () => token(first, { iat: epochSeconds(), exp: epochSeconds() + 600 })
    expect((await v.verify(await later(), aud, new Date())).authenticated).toBe(true)
    expect(jwks.requests()).toBe(fetched + 1)
    expect((await v.verify(await later(), aud, new Date())).authenticated).toBe(true)
    expect(jwks.requests()).toBe(fetched + 1)
    // A key the stale set does not hold cannot be checked while the JWKS is down.
    expect((await v.verify(await token(second), aud, new Date())).reason?.code).toBe(
      'ERR_IDENTITY_JWKS_UNAVAILABLE',
    )
  })

  it('a rotated key published at the JWKS URI is picked up on an unknown kid', async () => {
    const v = verifier({ jwksUri: jwks.url }, { jwksCooldownMs: 0 })
    expect((await v.verify(await token(first), aud)).authenticated).toBe(true)
    jwks.setKeys([first.publicJwk, second.publicJwk])
    expect((await v.verify(await token(second), aud)).authenticated).toBe(true)
  })

  it.each([
    ['no key source', { issuer: iss }, /exactly one of jwksUri, jwksFile or jwks/],
    [
      'two key sources',
      { issuer: iss, jwksUri: 'https://idp.example/jwks', jwksFile: 'x.json' },
      /exactly one/,
    ],
    [
      'an HS algorithm',
      { issuer: iss, jwksUri: 'https://idp.example/jwks', algorithms: ['HS256'] },
      /HS256 is not supported/,
    ],
    [
      'alg none',
      { issuer: iss, jwksUri: 'https://idp.example/jwks', algorithms: ['none'] },
      /none is not supported/,
    ],
    [
      'no algorithms',
      { issuer: iss, jwksUri: 'https://idp.example/jwks', algorithms: [] },
      /algorithms is empty/,
    ],
    ['a plain-http JWKS off loopback', { issuer: iss, jwksUri: 'http://idp.example/jwks' }, /must be https/],
    ['a JWKS URI that is not a URL', { issuer: iss, jwksUri: 'idp/jwks' }, /not a URL/],
    [
      'a private key in the inline JWKS',
      { issuer: iss, jwks: { keys: [{ kty: 'EC', d: 'x' }] } },
      /public keys only/,
    ],
    [
      'a symmetric key in the inline JWKS',
      { issuer: iss, jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } },
      /public keys only/,
    ],
    ['an empty issuer', { issuer: '', jwks: { keys: [] } }, /non-empty issuer/],
  ] as [string, IssuerConfig, RegExp][])('the constructor refuses %s', (_name, issuer, message) => {
    expect(() => new TokenVerifier({ issuers: [issuer] })).toThrow(message)
  })

  it('the constructor refuses a duplicate issuer and negative bounds', () => {
    const one = { issuer: iss, jwks: { keys: [first.publicJwk] } }
    expect(() => new TokenVerifier({ issuers: [one, one] })).toThrow(/listed twice/)
    expect(() => new TokenVerifier({ issuers: [one], clockSkewSeconds: -1 })).toThrow(/clockSkewSeconds/)
    expect(() => new TokenVerifier({ issuers: [one], maxTokenBytes: Number.NaN })).toThrow(/maxTokenBytes/)
  })

  it('several issuers: each token is checked against its own issuer keys', async () => {
    const v = new TokenVerifier({
      issuers: [
        { issuer: iss, jwks: { keys: [first.publicJwk] } },
        { issuer: 'https://other.idp', jwks: { keys: [second.publicJwk] } },
      ],
    })
    expect((await v.verify(await token(second, { iss: 'https://other.idp' }), aud)).authenticated).toBe(true)
    // The first issuer's key id, claimed under the second issuer: not in that issuer's keys.
    const crossed = await signToken(
      { ...first, kid: 'k2' },
      { iss: 'https://other.idp', sub: 'x', aud, exp: epochSeconds() + 60 },
    )
    expect((await v.verify(crossed, aud)).reason?.code).toBe('ERR_IDENTITY_KEY_UNKNOWN')
  })
})
