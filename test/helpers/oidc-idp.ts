import { createServer } from 'node:http'
import { exportJWK, generateKeyPair } from 'jose'
import Provider from 'oidc-provider'
import { request } from 'undici'
import type { IssuerConfig } from '../../src/index.js'
import { closeServer, listen } from '../identity/jwks-server.js'

/** Who an IdP client stands for: a user's own app, or an agent acting on a user's behalf. */
export interface IdpPrincipal {
  /** OAuth client id (also the token's `client_id`). */
  client: string
  /** The user the token is about (`sub`). */
  user: string
  roles: string[]
  groups: string[]
  /** RFC 8693: the agent acting for the user (`act` claim). */
  actor?: { sub: string; client_id: string }
}

/** A running oidc-provider on loopback. */
export interface TestIdp {
  issuer: string
  /** Verifier configuration trusting this IdP (JWKS fetched from its discovery document). */
  issuerConfig: IssuerConfig
  /** An RFC 9068 JWT access token for `resource` (RFC 8707) issued to the principal's client. */
  token: (client: string, resource: string) => Promise<string>
  close: () => Promise<void>
}

const secret = 'a-test-secret-of-sufficient-length'

/**
 * Starts a real OpenID provider (panva/oidc-provider) on 127.0.0.1 that issues JWT access tokens
 * for RFC 8707 resource indicators to one registered client per principal (client credentials
 * grant). The provider's JWT customizer sets `sub` to the principal's user and adds `roles`,
 * `groups` and `act` — what an authorization-code or token-exchange flow at a corporate IdP puts in
 * the token, without a browser in the test.
 */
export async function startTestIdp(principals: IdpPrincipal[], resources: string[]): Promise<TestIdp> {
  const server = createServer()
  const port = await listen(server)
  const issuer = `http://127.0.0.1:${port}`
  const ec = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)
  const byClient = new Map(principals.map((p) => [p.client, p]))
  const provider = new Provider(issuer, {
    jwks: { keys: [{ ...ec, kid: 'idp-ec', alg: 'ES256', use: 'sig' }] },
    clients: principals.map((p) => ({
      client_id: p.client,
      client_secret: secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      scope: 'tools:call',
      id_token_signed_response_alg: 'ES256',
    })),
    scopes: ['tools:call'],
    ttl: { ClientCredentials: 600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (!resources.includes(resource)) throw new Provider.errors.InvalidTarget()
          return {
            scope: 'tools:call',
            audience: resource,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          }
        },
      },
    },
    formats: {
      customizers: {
        jwt: (_ctx: unknown, token: { clientId: string }, jwt: { payload: Record<string, unknown> }) => {
          const principal = byClient.get(token.clientId)
          if (!principal) return
          jwt.payload.sub = principal.user
          jwt.payload.roles = principal.roles
          jwt.payload.groups = principal.groups
          if (principal.actor) jwt.payload.act = principal.actor
        },
      },
    },
  })
  server.on('request', provider.callback())
  const discovery = (await (await request(`${issuer}/.well-known/openid-configuration`)).body.json()) as {
    jwks_uri: string
    token_endpoint: string
  }
  return {
    issuer,
    issuerConfig: { issuer, jwksUri: discovery.jwks_uri, requireAtJwt: true },
    token: async (client, resource) => {
      const response = await request(discovery.token_endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${client}:${secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          resource,
          scope: 'tools:call',
        }).toString(),
      })
      const body = (await response.body.json()) as { access_token?: string; error?: string }
      if (response.statusCode !== 200 || !body.access_token)
        throw new Error(`token request for ${client} failed: ${JSON.stringify(body)}`)
      return body.access_token
    },
    close: () => closeServer(server),
  }
}
