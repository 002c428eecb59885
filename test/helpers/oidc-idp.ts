import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
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

/** A person who signs in at the IdP's own pages (authorization code flow). */
export interface IdpUser {
  /** Login name, and the tokens' `sub`. */
  user: string
  password: string
  /** The code the user's authenticator shows: entered with the password, the sign-in is MFA. */
  otp?: string
  roles: string[]
  groups: string[]
}

/** What sets the interactive flow up; without it the IdP is the client-credentials one it always was. */
export interface TestIdpOptions {
  /**
   * People who sign in. Enables the authorization code grant (PKCE, as oidc-provider requires of
   * public clients), open dynamic client registration (RFC 7591) and the IdP's login and consent
   * pages at `/interaction/<uid>`.
   */
  users?: IdpUser[]
  /** Scopes the resource servers offer besides `tools:call`. */
  resourceScopes?: string[]
  /**
   * OIDC Back-Channel Logout: a client that registers a `backchannel_logout_uri` (with
   * `backchannel_logout_session_required`) is sent a logout token when its user signs out
   * ({@link TestIdp.signOut}), and the access tokens of sign-ins carry the session id `sid`.
   */
  backchannelLogout?: boolean
}

/** What a user typed on the IdP's login page. */
export interface IdpCredentials {
  user: string
  password: string
  /** The authenticator's code; omitted, the sign-in is password only (`amr: ["pwd"]`). */
  otp?: string
}

/** Where a sign-in ended: the client's redirect URI with the authorization response. */
export interface IdpSignIn {
  /** The redirect the IdP sent the user agent to (`redirect_uri?code=…&state=…&iss=…`). */
  callback: URL
  code: string
  /** The IdP pages the user agent went through, in order: `login`, `consent`. */
  pages: string[]
  /** The resource scopes the consent page asked the user to approve, per resource. */
  consented: Record<string, string[]>
  /** The user agent's cookies when it left the IdP (its session there): what {@link TestIdp.signOut} presents. */
  cookies: string
}

/** A running oidc-provider on loopback. */
export interface TestIdp {
  issuer: string
  /** Verifier configuration trusting this IdP (JWKS fetched from its discovery document). */
  issuerConfig: IssuerConfig
  /** An RFC 9068 JWT access token for `resource` (RFC 8707) issued to the principal's client. */
  token: (client: string, resource: string) => Promise<string>
  /** Accepts `resource` as a resource indicator from now on (a gateway's, known once it listens). */
  allowResource: (resource: string) => void
  /**
   * A user agent for `authorizationUrl` (what an MCP client hands its browser): it follows the
   * IdP's redirects with its own cookie jar (a fresh one per call, so every sign-in shows the login
   * page), fills in the login page with `credentials`, approves the consent page, and stops at the
   * redirect back to the client. Needs `options.users`.
   */
  signIn: (authorizationUrl: URL, credentials: IdpCredentials) => Promise<IdpSignIn>
  /**
   * The user signs out at the IdP (RP-initiated logout's end_session page, confirmed) in the user
   * agent that signed in: the IdP ends the session and, with `options.backchannelLogout`, posts a
   * logout token to every client of that session before it answers.
   */
  signOut: (signIn: IdpSignIn) => Promise<void>
  close: () => Promise<void>
}

const secret = 'a-test-secret-of-sufficient-length'

/**
 * Starts a real OpenID provider (panva/oidc-provider) on 127.0.0.1 that issues JWT access tokens
 * for RFC 8707 resource indicators to one registered client per principal (client credentials
 * grant). The provider's JWT customizer sets `sub` to the principal's user and adds `roles`,
 * `groups` and `act` — what an authorization-code or token-exchange flow at a corporate IdP puts in
 * the token, without a browser in the test.
 *
 * With `options.users` it is also the IdP a person signs in at: an MCP client registers itself
 * (RFC 7591), sends its user's browser to the authorization endpoint (code + PKCE, `resource`),
 * and {@link TestIdp.signIn} plays that browser through the login and consent pages. Those tokens
 * carry the user's `roles` and `groups` and the sign-in's `auth_time`, `acr` and `amr`.
 */
export async function startTestIdp(
  principals: IdpPrincipal[],
  resources: string[],
  options: TestIdpOptions = {},
): Promise<TestIdp> {
  const server = createServer()
  const port = await listen(server)
  const issuer = `http://127.0.0.1:${port}`
  const ec = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey)
  const byClient = new Map(principals.map((p) => [p.client, p]))
  const users = new Map((options.users ?? []).map((u) => [u.user, u]))
  const interactive = options.users !== undefined
  const allowed = new Set(resources)
  const resourceScope = ['tools:call', ...(options.resourceScopes ?? [])].join(' ')
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
    ttl: { ClientCredentials: 600, AccessToken: 600 },
    ...(interactive && {
      cookies: { keys: [`${secret}-cookies`] },
      // A signed-in account: the user's id and nothing more (the access token carries the rest).
      findAccount: (_ctx: unknown, id: string) =>
        users.has(id) ? { accountId: id, claims: async () => ({ sub: id }) } : undefined,
      interactions: {
        url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
      },
      clientDefaults: { id_token_signed_response_alg: 'ES256' },
    }),
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      ...(interactive && { registration: { enabled: true } }),
      ...(options.backchannelLogout && { backchannelLogout: { enabled: true } }),
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (!allowed.has(resource)) throw new Provider.errors.InvalidTarget()
          return {
            scope: resourceScope,
            audience: resource,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          }
        },
      },
    },
    // oidc-provider refuses outgoing requests to special-use addresses (SSRF protection), loopback
    // included: the clients' back-channel logout URIs are on loopback in tests.
    ...(options.backchannelLogout && {
      fetch: (url: string, init: RequestInit & { dispatcher?: unknown }) => {
        const { dispatcher: _, ...rest } = init
        return fetch(url, rest)
      },
    }),
    formats: {
      customizers: {
        jwt: (
          ctx: IdpContext,
          token: { clientId: string; accountId?: string; sid?: string },
          jwt: { payload: Record<string, unknown> },
        ) => {
          const principal = byClient.get(token.clientId)
          if (principal) {
            jwt.payload.sub = principal.user
            jwt.payload.roles = principal.roles
            jwt.payload.groups = principal.groups
            if (principal.actor) jwt.payload.act = principal.actor
            return
          }
          // A token from a sign-in: the user's roles and groups, and how and when they signed in
          // (RFC 9068 §2.2.1), which step-up policies judge.
          const user = token.accountId === undefined ? undefined : users.get(token.accountId)
          if (!user) return
          jwt.payload.roles = user.roles
          jwt.payload.groups = user.groups
          // The IdP session, as Keycloak and Entra ID put it in access tokens: what a logout names.
          if (options.backchannelLogout && token.sid !== undefined) jwt.payload.sid = token.sid
          const code = ctx.oidc?.entities?.AuthorizationCode
          if (code?.authTime !== undefined) jwt.payload.auth_time = code.authTime
          if (code?.acr !== undefined) jwt.payload.acr = code.acr
          if (code?.amr !== undefined) jwt.payload.amr = code.amr
        },
      },
    },
  })
  const interactions = provider as unknown as InteractionApi
  const callback = provider.callback()
  server.on('request', (req, res) => {
    const page = interactive ? /^\/interaction\/([^/?]+)(\/(login|confirm))?(\?|$)/.exec(req.url ?? '') : null
    if (!page) return callback(req, res)
    interactionPage(interactions, users, req, res, page[3]).catch((err: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(`interaction failed: ${err.message}`)
    })
  })
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
    allowResource: (resource) => {
      allowed.add(resource)
    },
    signIn: (authorizationUrl, credentials) => signIn(issuer, authorizationUrl, credentials),
    signOut: (signedIn) => signOut(issuer, signedIn.cookies),
    close: () => closeServer(server),
  }
}

/** What the JWT customizer reads from oidc-provider's request context. */
interface IdpContext {
  oidc?: { entities?: { AuthorizationCode?: { authTime?: number; acr?: string; amr?: string[] } } }
}

/** The parts of oidc-provider's interaction API the login and consent pages use (untyped package). */
interface InteractionApi {
  interactionDetails(
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<{
    uid: string
    prompt: { name: string; details: Record<string, unknown> }
    params: Record<string, unknown>
    session?: { accountId: string }
    grantId?: string
  }>
  interactionFinished(
    req: IncomingMessage,
    res: ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>
  Grant: GrantClass
}

interface GrantClass {
  new (init: { accountId: string; clientId: string }): Grant
  find(id: string): Promise<Grant | undefined>
}

interface Grant {
  addOIDCScope(scope: string): void
  addOIDCClaims(claims: string[]): void
  addResourceScope(resource: string, scope: string): void
  save(): Promise<string>
}

/**
 * The IdP's login and consent pages. GET shows the page of the pending prompt (a form); POST
 * `/login` checks the password (and the one-time code, which makes the sign-in MFA), POST
 * `/confirm` grants what the client asked for.
 */
async function interactionPage(
  provider: InteractionApi,
  users: Map<string, IdpUser>,
  req: IncomingMessage,
  res: ServerResponse,
  action: string | undefined,
): Promise<void> {
  const details = await provider.interactionDetails(req, res)
  const { uid, prompt, params } = details
  if (req.method === 'GET' && action === undefined) {
    if (prompt.name === 'login') return html(res, 200, loginPage(uid, ''))
    const missing = (prompt.details.missingResourceScopes ?? {}) as Record<string, string[]>
    const asked = Object.entries(missing)
      .map(([resource, scopes]) => `<li data-resource="${resource}">${scopes.join(' ')}</li>`)
      .join('')
    return html(
      res,
      200,
      `<h1>Consent</h1><p>${String(params.client_id)} asks for:</p><ul>${asked}</ul>` +
        `<form method="post" action="/interaction/${uid}/confirm"><button>Allow</button></form>`,
    )
  }
  if (req.method !== 'POST') return html(res, 405, 'method not allowed')
  const form = new URLSearchParams(await readText(req))
  if (action === 'login' && prompt.name === 'login') {
    const user = users.get(form.get('login') ?? '')
    const otp = form.get('otp') ?? ''
    if (!user || form.get('password') !== user.password || (otp !== '' && otp !== user.otp))
      return html(res, 401, loginPage(uid, 'Wrong user name, password or code.'))
    const mfa = otp !== ''
    return provider.interactionFinished(
      req,
      res,
      { login: { accountId: user.user, amr: mfa ? ['pwd', 'otp'] : ['pwd'], acr: mfa ? 'mfa' : 'pwd' } },
      { mergeWithLastSubmission: false },
    )
  }
  if (action === 'confirm' && prompt.name === 'consent') {
    const accountId = details.session?.accountId
    if (!accountId) return html(res, 400, 'no signed-in user')
    const grant =
      (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
      new provider.Grant({ accountId, clientId: String(params.client_id) })
    const missingOIDCScope = prompt.details.missingOIDCScope as string[] | undefined
    if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '))
    const missingOIDCClaims = prompt.details.missingOIDCClaims as string[] | undefined
    if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims)
    const missingResourceScopes = prompt.details.missingResourceScopes as Record<string, string[]> | undefined
    for (const [resource, scopes] of Object.entries(missingResourceScopes ?? {}))
      grant.addResourceScope(resource, scopes.join(' '))
    const grantId = await grant.save()
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true })
  }
  return html(res, 400, `no ${action ?? 'page'} for prompt ${prompt.name}`)
}

function loginPage(uid: string, error: string): string {
  return (
    `<h1>Sign in</h1>${error ? `<p class="error">${error}</p>` : ''}` +
    `<form method="post" action="/interaction/${uid}/login">` +
    '<input name="login" autocomplete="username"><input name="password" type="password">' +
    '<input name="otp" autocomplete="one-time-code"><button>Sign in</button></form>'
  )
}

function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
  res.end(`<!doctype html><html><body>${body}</body></html>`)
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * The user agent of {@link TestIdp.signIn}: redirects followed by hand (so cookies are kept and
 * the redirect back to the client is caught, not fetched), forms submitted as a browser would.
 */
async function signIn(
  issuer: string,
  authorizationUrl: URL,
  credentials: IdpCredentials,
): Promise<IdpSignIn> {
  const jar = new Map<string, string>()
  const pages: string[] = []
  const consented: Record<string, string[]> = {}
  let url = new URL(authorizationUrl)
  let method: 'GET' | 'POST' = 'GET'
  let body: string | undefined
  for (let step = 0; step < 20; step++) {
    if (url.origin !== new URL(issuer).origin) {
      const code = url.searchParams.get('code')
      if (!code)
        throw new Error(
          `the IdP redirected back without a code: ${url.searchParams.get('error_description') ?? url}`,
        )
      const cookies = [...jar].map(([name, value]) => `${name}=${value}`).join('; ')
      return { callback: url, code, pages, consented, cookies }
    }
    const response = await request(url, {
      method,
      headers: {
        ...(jar.size > 0 && { cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') }),
        ...(body !== undefined && { 'content-type': 'application/x-www-form-urlencoded' }),
      },
      body,
    })
    const setCookie = response.headers['set-cookie']
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const [pair = ''] = line.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') jar.delete(name)
      else jar.set(name, value)
    }
    const location = response.headers.location
    if (response.statusCode >= 300 && response.statusCode < 400 && typeof location === 'string') {
      await response.body.dump()
      url = new URL(location, url)
      method = 'GET'
      body = undefined
      continue
    }
    const text = await response.body.text()
    if (response.statusCode !== 200)
      throw new Error(`the IdP answered ${response.statusCode} at ${url.pathname}: ${text.slice(0, 500)}`)
    const form = /<form method="post" action="([^"]+)">/.exec(text)
    if (!form) throw new Error(`no form on the IdP page ${url.pathname}: ${text.slice(0, 500)}`)
    url = new URL(form[1]!, url)
    method = 'POST'
    if (url.pathname.endsWith('/login')) {
      pages.push('login')
      body = new URLSearchParams({
        login: credentials.user,
        password: credentials.password,
        otp: credentials.otp ?? '',
      }).toString()
    } else {
      pages.push('consent')
      for (const [, resource, scopes] of text.matchAll(/<li data-resource="([^"]+)">([^<]*)<\/li>/g))
        consented[resource!] = scopes!.split(' ').filter(Boolean)
      body = ''
    }
  }
  throw new Error('the sign-in did not finish within 20 steps')
}

/** {@link TestIdp.signOut}: the end_session page, then its confirmation form with "yes". */
async function signOut(issuer: string, cookies: string): Promise<void> {
  const page = await request(`${issuer}/session/end`, { headers: { cookie: cookies } })
  const html = await page.body.text()
  if (page.statusCode !== 200)
    throw new Error(`end_session answered ${page.statusCode}: ${html.slice(0, 300)}`)
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)">/.exec(html)?.[1]
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1]
  if (!action || !xsrf) throw new Error(`no logout form on the end_session page: ${html.slice(0, 300)}`)
  const confirmed = await request(new URL(action, issuer), {
    method: 'POST',
    headers: { cookie: cookies, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
  })
  await confirmed.body.dump()
  if (confirmed.statusCode >= 400) throw new Error(`the logout confirmation answered ${confirmed.statusCode}`)
}
