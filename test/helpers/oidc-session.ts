import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { request } from 'undici'
import type { IdpCredentials, IdpSignIn, TestIdp } from './oidc-idp.js'

const redirect = 'http://127.0.0.1:53682/callback'

interface Discovery {
  registration_endpoint: string
  authorization_endpoint: string
  token_endpoint: string
}

async function discover(idp: TestIdp): Promise<Discovery> {
  return (await (await request(`${idp.issuer}/.well-known/openid-configuration`)).body.json()) as Discovery
}

/**
 * Registers an agent application at the IdP (RFC 7591) as a public native client whose
 * `backchannel_logout_uri` is `logoutUri` (session required): the IdP tells that URI of every
 * sign-out of the client's users. Needs `startTestIdp(…, { users, backchannelLogout: true })`.
 */
export async function registerLogoutClient(idp: TestIdp, logoutUri: string): Promise<string> {
  const response = await request((await discover(idp)).registration_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'agent with back-channel logout',
      redirect_uris: [redirect],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      application_type: 'native',
      id_token_signed_response_alg: 'ES256',
      backchannel_logout_uri: logoutUri,
      backchannel_logout_session_required: true,
    }),
  })
  const body = (await response.body.json()) as { client_id?: string; error_description?: string }
  if (response.statusCode !== 201 || !body.client_id)
    throw new Error(`client registration failed (${response.statusCode}): ${body.error_description}`)
  return body.client_id
}

/**
 * A user signs in for `clientId` (authorization code + PKCE, resource indicator `resource`) in a
 * user agent of their own; the access token (a JWT carrying the session's `sid`) and the sign-in
 * (its cookies sign the user out again with `idp.signOut`).
 */
export async function signInSession(
  idp: TestIdp,
  clientId: string,
  resource: string,
  credentials: IdpCredentials,
): Promise<{ accessToken: string; signIn: IdpSignIn }> {
  const discovery = await discover(idp)
  const verifier = randomBytes(32).toString('base64url')
  const authorize = new URL(discovery.authorization_endpoint)
  authorize.search = new URLSearchParams({
    client_id: clientId,
    response_type: 'code',
    redirect_uri: redirect,
    scope: 'openid tools:call',
    resource,
    state: randomUUID(),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString()
  const signIn = await idp.signIn(authorize, credentials)
  const response = await request(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: signIn.code,
      redirect_uri: redirect,
      client_id: clientId,
      code_verifier: verifier,
      resource,
    }).toString(),
  })
  const body = (await response.body.json()) as { access_token?: string; error_description?: string }
  if (response.statusCode !== 200 || !body.access_token)
    throw new Error(`token request failed (${response.statusCode}): ${body.error_description}`)
  return { accessToken: body.access_token, signIn }
}
