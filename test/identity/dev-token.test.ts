import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeProtectedHeader } from 'jose'
import { describe, expect, it } from 'vitest'
import {
  createDevKey,
  devIssuer,
  devIssuerConfig,
  loadOrCreateDevKey,
  mintDevToken,
} from '../../src/identity/dev-token.js'
import { TokenVerifier } from '../../src/identity/token-verifier.js'

const aud = 'https://mcp.example.com/github'

describe('dev tokens', () => {
  it('round-trip through TokenVerifier with every option', async () => {
    const key = await createDevKey()
    const token = await mintDevToken(key, {
      sub: 'alice',
      aud,
      groups: ['engineering'],
      roles: ['support', 'reader'],
      scopes: ['tools:read', 'tools:call'],
      act: { sub: 'claude-agent', client_id: 'agent-app', act: { sub: 'orchestrator' } },
      clientId: 'agent-app',
      expiresIn: '15m',
      claims: { email: 'alice@example.com', sub: 'ignored' },
    })
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: key.kid })
    const subject = await new TokenVerifier({ issuers: [devIssuerConfig(key)] }).verify(token, aud)
    expect(subject).toMatchObject({
      authenticated: true,
      id: 'alice',
      issuer: devIssuer,
      email: 'alice@example.com',
      groups: ['engineering'],
      roles: ['support', 'reader'],
      scopes: ['tools:read', 'tools:call'],
      client_id: 'agent-app',
      actor: { id: 'claude-agent', client_id: 'agent-app', actor: { id: 'orchestrator', actor: null } },
      token: { audience: [aud], age_s: 0 },
    })
    expect((subject.token?.expires_at ?? 0) - (subject.token?.issued_at ?? 0)).toBe(900)
  })

  it('an agent id for act, several audiences, a custom issuer, seconds and a negative lifetime', async () => {
    const key = await createDevKey()
    const verifier = new TokenVerifier({ issuers: [devIssuerConfig(key, 'https://dev.example')] })
    const token = await mintDevToken(key, {
      sub: 'bob',
      aud: [aud, 'https://mcp.example.com/jira'],
      act: 'claude-agent',
      iss: 'https://dev.example',
      expiresIn: 120,
    })
    const subject = await verifier.verify(token, 'https://mcp.example.com/jira')
    expect(subject).toMatchObject({
      authenticated: true,
      client_id: 'mcp-policy-dev',
      actor: { id: 'claude-agent' },
    })
    expect((subject.token?.expires_at ?? 0) - (subject.token?.issued_at ?? 0)).toBe(120)
    const expired = await mintDevToken(key, { sub: 'bob', aud, iss: 'https://dev.example', expiresIn: '-5m' })
    expect((await verifier.verify(expired, aud)).reason?.code).toBe('ERR_IDENTITY_TOKEN_EXPIRED')
    await expect(mintDevToken(key, { sub: 'bob', aud, expiresIn: 'soon' })).rejects.toMatchObject({
      code: 'ERR_IDENTITY_CONFIG_INVALID',
    })
  })

  it('loadOrCreateDevKey persists one key (mode 0600) that later loads reuse', async () => {
    const dir = join(await mkdtemp(join(tmpdir(), 'mcp-policy-dev-key-')), '.dev-keys')
    const [first, racing] = await Promise.all([loadOrCreateDevKey(dir), loadOrCreateDevKey(dir)])
    expect(racing.kid).toBe(first.kid)
    const again = await loadOrCreateDevKey(dir)
    expect(again).toEqual(first)
    const file = join(dir, 'dev-signing-key.json')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({
      kty: 'EC',
      crv: 'P-256',
      d: expect.any(String),
    })
    expect(first.publicJwk).not.toHaveProperty('d')
    const token = await mintDevToken(first, { sub: 'carol', aud })
    expect(
      (await new TokenVerifier({ issuers: [devIssuerConfig(again)] }).verify(token, aud)).authenticated,
    ).toBe(true)
  })

  it("another dev key's token is not accepted; a corrupt key file is an error", async () => {
    const [mine, theirs] = await Promise.all([createDevKey(), createDevKey()])
    const token = await mintDevToken(theirs, { sub: 'mallory', aud })
    const subject = await new TokenVerifier({ issuers: [devIssuerConfig(mine)] }).verify(token, aud)
    expect(subject.reason?.code).toBe('ERR_IDENTITY_KEY_UNKNOWN')
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-dev-key-'))
    await writeFile(join(dir, 'dev-signing-key.json'), JSON.stringify({ kty: 'RSA', n: 'x', e: 'AQAB' }))
    await expect(loadOrCreateDevKey(dir)).rejects.toThrow(/P-256 private JWK/)
  })
})
