import { createServer } from 'node:http'
import { decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose'
import Provider from 'oidc-provider'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IssuerConfig } from '../../src/identity/identity-config.js'
import { TokenVerifier } from '../../src/identity/token-verifier.js'
import { closeServer, listen } from './jwks-server.js'
import { epochSeconds, signToken, testKey } from './test-keys.js'

// A real OpenID provider (panva/oidc-provider) on loopback issues RFC 9068 JWT access tokens for
// RFC 8707 resource indicators through the client credentials grant; the verifier fetches its
// JWKS over HTTP from the discovery document's jwks_uri.
const github = 'https://mcp.example.com/github'
const jira = 'https://mcp.example.com/jira'
const client = { id: 'support-agent', secret: 'a-test-secret-of-sufficient-length' }

describe('tokens from a real identity provider (oidc-provider)', () => {
  const server = createServer()
  let issuer = ''
  let jwksUri = ''
  let tokenEndpoint = ''
  let jwksRequests = 0

  beforeAll(async () => {
    const port = await listen(server)
    issuer = `http://127.0.0.1:${port}`
    const rsa = await exportJWK((await generateKeyPair('RS256', { extractable: true })).privateKey)
    const ec = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)
    const provider = new Provider(issuer, {
      jwks: {
        keys: [
          { ...rsa, kid: 'idp-rsa', alg: 'RS256', use: 'sig' },
          { ...ec, kid: 'idp-ec', alg: 'ES256', use: 'sig' },
        ],
      },
      clients: [
        {
          client_id: client.id,
          client_secret: client.secret,
          grant_types: ['client_credentials'],
          redirect_uris: [],
          response_types: [],
          scope: 'tools:read tools:call',
        },
      ],
      scopes: ['tools:read', 'tools:call'],
      ttl: { ClientCredentials: 600 },
      features: {
        devInteractions: { enabled: false },
        clientCredentials: { enabled: true },
        resourceIndicators: {
          enabled: true,
          // Two MCP servers: github's tokens signed ES256, jira's RS256, so both first-time
          // verification paths run against the same IdP.
          getResourceServerInfo: (_ctx: unknown, resource: string) => {
            if (resource !== github && resource !== jira) throw new Provider.errors.InvalidTarget()
            return {
              scope: 'tools:read tools:call',
              audience: resource,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: resource === github ? 'ES256' : 'RS256' } },
            }
          },
        },
      },
      // Claims a gateway IdP adds: Keycloak-style realm roles and the RFC 8693 actor.
      extraTokenClaims: async () => ({
        realm_access: { roles: ['support', 'reader'] },
        act: { sub: 'claude-desktop', client_id: client.id },
      }),
    })
    const callback = provider.callback()
    server.on('request', (req, res) => {
      if (req.url === '/jwks') jwksRequests++
      callback(req, res)
    })
    const discovery = (await (await request(`${issuer}/.well-known/openid-configuration`)).body.json()) as {
      jwks_uri: string
      token_endpoint: string
    }
    jwksUri = discovery.jwks_uri
    tokenEndpoint = discovery.token_endpoint
  })

  afterAll(() => (server.listening ? closeServer(server) : undefined))

  async function accessToken(resource: string, scope = 'tools:read tools:call'): Promise<string> {
    const response = await request(tokenEndpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource, scope }).toString(),
    })
    const body = (await response.body.json()) as { access_token?: string }
    expect(response.statusCode, JSON.stringify(body)).toBe(200)
    return body.access_token as string
  }

  const issuerConfig = (): IssuerConfig => ({
    issuer,
    jwksUri,
    requireAtJwt: true,
    claims: { roles: ['realm_access.roles'] },
  })

  it('discovery points at the JWKS the verifier fetches', () => {
    expect(jwksUri).toBe(`${issuer}/jwks`)
  })

  it('verifies an ES256 access token on first sight, fetching the JWKS over HTTP', async () => {
    const token = await accessToken(github)
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid: 'idp-ec' })
    const verifier = new TokenVerifier({ issuers: [issuerConfig()] })
    const before = jwksRequests
    const subject = await verifier.verify(token, github)
    expect(subject.reason).toBeUndefined()
    expect(subject).toMatchObject({
      authenticated: true,
      id: client.id,
      issuer,
      client_id: client.id,
      scopes: ['tools:read', 'tools:call'],
      roles: ['support', 'reader'],
      groups: [],
      actor: { id: 'claude-desktop', client_id: client.id, actor: null },
      token: { audience: [github], amr: [] },
    })
    expect((subject.token?.expires_at ?? 0) - (subject.token?.issued_at ?? 0)).toBe(600)
    expect(subject.token?.jti).toEqual(expect.any(String))
    expect(subject.claims).toMatchObject({ iss: issuer, aud: github, client_id: client.id })
    expect(jwksRequests - before).toBe(1)
    expect(verifier.cacheStats()).toEqual({ entries: 1, hits: 0, misses: 1 })
  })

  it('verifies an RS256 access token on first sight', async () => {
    const token = await accessToken(jira, 'tools:read')
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'RS256', typ: 'at+jwt', kid: 'idp-rsa' })
    const verifier = new TokenVerifier({ issuers: [issuerConfig()] })
    const subject = await verifier.verify(token, jira)
    expect(subject).toMatchObject({
      authenticated: true,
      scopes: ['tools:read'],
      token: { audience: [jira] },
    })
    expect(verifier.cacheStats()).toEqual({ entries: 1, hits: 0, misses: 1 })
  })

  it("rejects a token issued for another MCP server's resource", async () => {
    const verifier = new TokenVerifier({ issuers: [issuerConfig()] })
    const subject = await verifier.verify(await accessToken(jira), github)
    expect(subject).toMatchObject({ authenticated: false, claims: {} })
    expect(subject.reason?.code).toBe('ERR_IDENTITY_AUDIENCE_MISMATCH')
  })

  it('rejects an RS256 token when the issuer allows only ES256', async () => {
    const verifier = new TokenVerifier({ issuers: [{ ...issuerConfig(), algorithms: ['ES256'] }] })
    const subject = await verifier.verify(await accessToken(jira), jira)
    expect(subject.reason?.code).toBe('ERR_IDENTITY_ALGORITHM_REJECTED')
  })

  it('serves a verified token from the cache after the IdP is gone; a new key id is still denied', async () => {
    const token = await accessToken(github)
    const cooling = new TokenVerifier({ issuers: [issuerConfig()] })
    const eager = new TokenVerifier({ issuers: [issuerConfig()], jwksCooldownMs: 0 })
    expect((await cooling.verify(token, github)).authenticated).toBe(true)
    expect((await eager.verify(token, github)).authenticated).toBe(true)
    const requestsBeforeRepeat = jwksRequests
    expect((await cooling.verify(token, github)).authenticated).toBe(true)
    expect(cooling.cacheStats()).toMatchObject({ hits: 1, misses: 1 })
    expect(jwksRequests).toBe(requestsBeforeRepeat)

    await closeServer(server)
    const again = await cooling.verify(token, github)
    expect(again).toMatchObject({ authenticated: true, id: client.id })
    expect(cooling.cacheStats()).toMatchObject({ hits: 2 })

    // A token under a key id the IdP never published, with the issuer's iss and the right aud.
    const rogue = await testKey('ES256', 'rotated-key')
    const now = epochSeconds()
    const forged = await signToken(rogue, {
      iss: issuer,
      sub: 'admin',
      aud: github,
      iat: now,
      exp: now + 600,
    })
    // Within the refetch cooldown the verifier does not go back to the JWKS: the key is unknown.
    expect((await cooling.verify(forged, github)).reason?.code).toBe('ERR_IDENTITY_KEY_UNKNOWN')
    // Without a cooldown it tries, cannot fetch, and no cached key matches.
    expect((await eager.verify(forged, github)).reason?.code).toBe('ERR_IDENTITY_JWKS_UNAVAILABLE')
    // A verifier that never fetched the keys cannot verify even the genuine token.
    const cold = await new TokenVerifier({ issuers: [issuerConfig()], jwksTimeoutMs: 1000 }).verify(
      token,
      github,
    )
    expect(cold.reason?.code).toBe('ERR_IDENTITY_JWKS_UNAVAILABLE')
  })
})
