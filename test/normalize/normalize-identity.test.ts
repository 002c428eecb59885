import { describe, expect, it } from 'vitest'
import {
  createDevKey,
  devIssuerConfig,
  mintDevToken,
  RequestNormalizer,
  TokenVerifier,
} from '../../src/index.js'

describe('normalizer with a real token verifier (jose, ES256 dev issuer)', async () => {
  const key = await createDevKey()
  const github = 'https://mcp.example.com/github'
  const normalizer = new RequestNormalizer(
    {
      servers: { github: { resource: github }, jira: { resource: 'https://mcp.example.com/jira' } },
    },
    new TokenVerifier({
      issuers: [{ ...devIssuerConfig(key), claims: { groups: ['groups'], roles: ['roles'] } }],
    }),
  )
  const message =
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create_issue","arguments":{}}}'

  it('a verified token becomes the subject; the token itself appears nowhere', async () => {
    const token = await mintDevToken(key, {
      sub: 'alice',
      aud: github,
      groups: ['eng'],
      roles: ['developer'],
      act: 'claude-desktop',
    })
    const doc = await normalizer.normalize({
      message,
      headers: { authorization: `Bearer ${token}` },
      server: 'github',
    })
    expect(doc.subject).toMatchObject({
      authenticated: true,
      id: 'alice',
      groups: ['eng'],
      roles: ['developer'],
      actor: { id: 'claude-desktop', actor: null },
      token: { audience: [github] },
    })
    const serialized = JSON.stringify(doc)
    expect(serialized).not.toContain(token)
    expect(serialized).not.toContain(token.split('.')[2]!)
  })

  it('a new token is one cache miss and one verification; the next request with it is one hit', async () => {
    const verifier = new TokenVerifier({ issuers: [devIssuerConfig(key)] })
    const counting = new RequestNormalizer({ servers: { github: { resource: github } } }, verifier)
    const token = await mintDevToken(key, { sub: 'bob', aud: github })
    const envelope = { message, headers: { authorization: `Bearer ${token}` }, server: 'github' }
    expect((await counting.normalize(envelope)).subject.authenticated).toBe(true)
    expect(verifier.cacheStats()).toEqual({ entries: 1, hits: 0, misses: 1 })
    expect((await counting.normalize(envelope)).subject.authenticated).toBe(true)
    expect(verifier.cacheStats()).toEqual({ entries: 1, hits: 1, misses: 1 })
  })

  it("a token for another server's resource is not accepted (RFC 8707 audience)", async () => {
    const token = await mintDevToken(key, { sub: 'alice', aud: github })
    const doc = await normalizer.normalize({
      message,
      headers: { authorization: `Bearer ${token}` },
      server: 'jira',
    })
    expect(doc.subject).toMatchObject({
      authenticated: false,
      claims: {},
      reason: { code: 'ERR_IDENTITY_AUDIENCE_MISMATCH' },
    })
    expect(doc.subject.id).toBeUndefined()
  })
})
