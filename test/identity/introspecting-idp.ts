import { createServer } from 'node:http'
import { exportJWK, exportPKCS8, generateKeyPair, type JWK } from 'jose'
import Provider from 'oidc-provider'
import { request } from 'undici'
import { closeServer, listen } from './jwks-server.js'

/** A real oidc-provider issuing opaque access tokens, with introspection and revocation on. */
export interface IntrospectingIdp {
  issuer: string
  introspectionEndpoint: string
  /** The PDP's client with `client_secret_basic`. */
  pdpClient: { id: string; secret: string }
  /** The PDP's client with `private_key_jwt`: its PKCS#8 PEM private key. */
  pdpJwtClient: { id: string; privateKeyPem: string }
  /** An opaque access token for `resource` issued to the agent client (client credentials). */
  token: (resource: string) => Promise<string>
  /** Revokes a token at the IdP (RFC 7009), as the agent's own client. */
  revoke: (token: string) => Promise<void>
  /** Introspection requests the IdP has answered. */
  introspections: () => number
  close: () => Promise<void>
}

const agent = { id: 'support-agent', secret: 'agent-secret-of-sufficient-length' }
const pdp = { id: 'mcp-pdp', secret: 'pdp-secret-of-sufficient-length' }

/**
 * Starts panva/oidc-provider on 127.0.0.1: the client credentials grant for an agent, RFC 8707
 * resource indicators with opaque access tokens for `resources`, RFC 7662 introspection and RFC
 * 7009 revocation. The token's extra claims give it `sub` (the agent's client id, as IdPs do for
 * client credentials) and `roles`, which the introspection answer carries.
 */
export async function startIntrospectingIdp(resources: string[], roles: string[]): Promise<IntrospectingIdp> {
  const server = createServer()
  const port = await listen(server)
  const issuer = `http://127.0.0.1:${port}`
  const signing = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)
  const pdpKey = await generateKeyPair('ES256', { extractable: true })
  const pdpPublicJwk: JWK = { ...(await exportJWK(pdpKey.publicKey)), kid: 'pdp-1', alg: 'ES256', use: 'sig' }
  const confidential = {
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    id_token_signed_response_alg: 'ES256',
  }
  const provider = new Provider(issuer, {
    jwks: { keys: [{ ...signing, kid: 'idp-ec', alg: 'ES256', use: 'sig' }] },
    clients: [
      { ...confidential, client_id: agent.id, client_secret: agent.secret, scope: 'tools:call' },
      { ...confidential, client_id: pdp.id, client_secret: pdp.secret },
      {
        ...confidential,
        client_id: 'mcp-pdp-jwt',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [pdpPublicJwk] },
      },
    ],
    scopes: ['tools:call'],
    ttl: { ClientCredentials: 600 },
    extraTokenClaims: async (_ctx: unknown, token: { clientId: string }) => ({ sub: token.clientId, roles }),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (!resources.includes(resource)) throw new Provider.errors.InvalidTarget()
          return { scope: 'tools:call', audience: resource, accessTokenFormat: 'opaque' }
        },
      },
    },
  })
  let introspections = 0
  const callback = provider.callback()
  server.on('request', (req, res) => {
    if (req.method === 'POST' && req.url?.startsWith('/token/introspection')) introspections++
    callback(req, res)
  })
  const discovery = (await (await request(`${issuer}/.well-known/openid-configuration`)).body.json()) as {
    token_endpoint: string
    introspection_endpoint: string
    revocation_endpoint: string
  }
  const basic = `Basic ${Buffer.from(`${agent.id}:${agent.secret}`).toString('base64')}`
  return {
    issuer,
    introspectionEndpoint: discovery.introspection_endpoint,
    pdpClient: pdp,
    pdpJwtClient: { id: 'mcp-pdp-jwt', privateKeyPem: await exportPKCS8(pdpKey.privateKey) },
    token: async (resource) => {
      const response = await request(discovery.token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          resource,
          scope: 'tools:call',
        }).toString(),
      })
      const body = (await response.body.json()) as { access_token?: string }
      if (response.statusCode !== 200 || !body.access_token)
        throw new Error(`token request failed: ${response.statusCode} ${JSON.stringify(body)}`)
      return body.access_token
    },
    revoke: async (token) => {
      const response = await request(discovery.revocation_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
      })
      await response.body.dump()
      if (response.statusCode !== 200) throw new Error(`revocation failed: ${response.statusCode}`)
    },
    introspections: () => introspections,
    close: () => closeServer(server),
  }
}
