import { randomUUID } from 'node:crypto'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type OAuthClientProvider, UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js'
import { McpError } from '@modelcontextprotocol/sdk/types.js'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { authenticationChallenge } from '../../src/gateway/protected-resource.js'
import { POLICY_DENIED_ERROR_CODE, verifyLog } from '../../src/index.js'
import {
  buildReferenceBundleWith,
  startTestGateway,
  stockServers,
  type TestGateway,
} from '../helpers/gateway.js'
import {
  type IdpCredentials,
  type IdpSignIn,
  type IdpUser,
  startTestIdp,
  type TestIdp,
} from '../helpers/oidc-idp.js'

// SSO at the edge: the real SDK client signs in at a real IdP (oidc-provider) *through* the
// gateway — the gateway's 401 names its RFC 9728 metadata, the metadata names the IdP, the client
// registers itself there (RFC 7591) and runs authorization code + PKCE with the gateway's resource
// indicator (RFC 8707); the IdP's login and consent pages are filled in by a scripted user agent.
// The token it gets is a JWT for that resource, and the reference policy judges every message the
// client then sends to the stock server-filesystem behind the gateway, including the two step-up
// answers: 401 insufficient_user_authentication (RFC 9470) and 403 insufficient_scope (RFC 6750).

const alice: IdpUser = {
  user: 'alice',
  password: 'correct horse battery staple',
  otp: '246810',
  roles: ['developer'],
  groups: ['platform-writers'],
}
const password: IdpCredentials = { user: alice.user, password: alice.password }
const withOtp: IdpCredentials = { ...password, otp: alice.otp }

/** One HTTP exchange the SDK client made, as it saw it. */
interface Exchange {
  method: string
  url: string
  status: number
  challenge: string | null
  /** The body of an error answer. */
  body?: string
}

/** The platform's fetch, recording what the SDK client sends and receives (nothing is changed). */
function recordingFetch(exchanges: Exchange[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init)
    const url = input instanceof Request ? input.url : String(input)
    const exchange: Exchange = {
      method: init?.method ?? (input instanceof Request ? input.method : 'GET'),
      url,
      status: response.status,
      challenge: response.headers.get('www-authenticate'),
    }
    if (response.status >= 400) exchange.body = await response.clone().text()
    exchanges.push(exchange)
    return response
  }
}

/**
 * An MCP client's OAuth side, as a desktop client keeps it: in memory, registered dynamically, its
 * "browser" the test's scripted user agent. The redirect URI is never listened on: the user agent
 * stops at the redirect and hands the code back, as a client's loopback listener would.
 */
class DesktopOAuthClient implements OAuthClientProvider {
  readonly redirectUrl = 'http://127.0.0.1:53682/callback'
  readonly clientMetadata: OAuthClientMetadata = {
    client_name: 'mcp-policy gateway e2e',
    redirect_uris: [this.redirectUrl],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    // The baseline scope the client asks for (the gateway's metadata lists no scopes_supported).
    scope: 'tools:call',
  }
  /** Where the SDK last sent the user: what a desktop client opens in the browser. */
  authorizationUrl?: URL
  /** The `state` of that authorization request. */
  lastState?: string
  #client?: OAuthClientInformationMixed
  #tokens?: OAuthTokens
  #verifier?: string

  state(): string {
    this.lastState = randomUUID()
    return this.lastState
  }
  clientInformation() {
    return this.#client
  }
  saveClientInformation(information: OAuthClientInformationMixed): void {
    this.#client = information
  }
  tokens() {
    return this.#tokens
  }
  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens
  }
  redirectToAuthorization(authorizationUrl: URL): void {
    this.authorizationUrl = authorizationUrl
  }
  saveCodeVerifier(codeVerifier: string): void {
    this.#verifier = codeVerifier
  }
  codeVerifier(): string {
    if (!this.#verifier) throw new Error('no code verifier saved')
    return this.#verifier
  }
  /** The claims of the access token the client holds now. */
  accessClaims() {
    return decodeJwt(this.#tokens!.access_token)
  }
}

/** What a call that failed raised in the SDK client. */
async function failure(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => {
      throw new Error('the call succeeded')
    },
    (e: unknown) => e,
  )
}

describe('SSO at the edge: the SDK client signs in at oidc-provider through mcp-policy gateway', () => {
  let idp: TestIdp
  let gateway: TestGateway
  let srv = ''
  let endpoint: URL
  let metadataUrl = ''
  const clients: Client[] = []

  beforeAll(async () => {
    srv = await mkdtemp(join(tmpdir(), 'mcp-policy-srv-'))
    await mkdir(join(srv, 'secrets'))
    await writeFile(join(srv, 'readme.txt'), 'hello from the project\n')
    await writeFile(join(srv, 'notes.txt'), 'release on friday\n')
    await writeFile(join(srv, 'secrets', 'token.txt'), 'top secret\n')
    const bundle = await buildReferenceBundleWith((data) => {
      // The filesystem rules name /srv/projects/; this run's project directory stands in for it.
      data.servers.filesystem = JSON.parse(
        JSON.stringify(data.servers.filesystem).replaceAll('/srv/projects/', `${srv}/`),
      )
      // Writes at whatever hour the suite runs (the reference data keeps them to business hours).
      delete data.servers.filesystem.write_window
      // Reading many files at once needs a recent MFA sign-in; writing needs the files:write scope.
      data.servers.filesystem.tools.read_multiple_files.step_up = true
      data.servers.filesystem.tools.write_file.required_scopes = ['files:write']
      // edit_file needs the scope too, but no grant of alice's covers it.
      data.servers.filesystem.tools.edit_file.required_scopes = ['files:write']
    })
    idp = await startTestIdp([], [], { users: [alice], resourceScopes: ['files:write'] })
    gateway = await startTestGateway(
      bundle.path,
      { filesystem: { command: process.execPath, args: [stockServers.filesystem, srv] } },
      { identity: { issuers: [idp.issuerConfig] } },
    )
    // The gateway's resource for the server: the audience the IdP puts in its tokens.
    idp.allowResource(gateway.resources.filesystem!)
    endpoint = new URL(gateway.endpoints.filesystem!)
    metadataUrl = `${gateway.url}/.well-known/oauth-protected-resource/mcp/filesystem`
  }, 120_000)

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()))
    await gateway?.close()
    await idp?.close()
  })

  /** A client that has no token yet connects, is sent to the IdP, signs in, and connects again. */
  async function signInThroughGateway(credentials: IdpCredentials) {
    const oauth = new DesktopOAuthClient()
    const exchanges: Exchange[] = []
    const first = new StreamableHTTPClientTransport(endpoint, {
      authProvider: oauth,
      fetch: recordingFetch(exchanges),
    })
    const refused = await failure(new Client({ name: 'desktop', version: '1.0.0' }).connect(first))
    expect(refused).toBeInstanceOf(UnauthorizedError)
    const signedIn = await idp.signIn(oauth.authorizationUrl!, credentials)
    expect(signedIn.callback.searchParams.get('state')).toBe(oauth.lastState)
    await first.finishAuth(signedIn.code)
    const transport = new StreamableHTTPClientTransport(endpoint, {
      authProvider: oauth,
      fetch: recordingFetch(exchanges),
    })
    const client = new Client({ name: 'desktop', version: '1.0.0' })
    await client.connect(transport)
    clients.push(client)
    return { client, transport, oauth, exchanges, signedIn }
  }

  /** The gateway's answer to the client's last message (a POST to the MCP endpoint). */
  const lastGatewayAnswer = (exchanges: Exchange[]) =>
    exchanges.filter((e) => e.url === endpoint.href && e.method === 'POST').at(-1)!

  it('401 → RFC 9728 metadata → the IdP (registration, code + PKCE, resource) → a session on the policy’s terms', async () => {
    const { client, oauth, exchanges, signedIn } = await signInThroughGateway(password)

    // The gateway's first answer: 401 pointing at the server's protected resource metadata.
    expect(exchanges[0]).toMatchObject({ method: 'POST', url: endpoint.href, status: 401 })
    expect(exchanges[0]!.challenge).toBe(`Bearer resource_metadata="${metadataUrl}"`)
    // The client read that metadata, found the IdP in it, read the IdP's metadata (RFC 8414) and
    // registered itself there (RFC 7591).
    expect(exchanges.find((e) => e.url === metadataUrl)?.status).toBe(200)
    expect(await (await fetch(metadataUrl)).json()).toMatchObject({
      resource: gateway.resources.filesystem,
      authorization_servers: [idp.issuer],
      bearer_methods_supported: ['header'],
    })
    expect(
      exchanges.find((e) => e.url === `${idp.issuer}/.well-known/oauth-authorization-server`)?.status,
    ).toBe(200)
    expect(exchanges.find((e) => e.url === `${idp.issuer}/reg`)).toMatchObject({
      method: 'POST',
      status: 201,
    })
    // After the sign-in, the code was exchanged at the token endpoint (with the PKCE verifier).
    expect(exchanges.find((e) => e.url === `${idp.issuer}/token`)).toMatchObject({
      method: 'POST',
      status: 200,
    })

    // The authorization request: code flow with PKCE (S256) for the gateway's resource.
    const request = oauth.authorizationUrl!
    expect(request.origin).toBe(idp.issuer)
    expect(request.searchParams.get('response_type')).toBe('code')
    expect(request.searchParams.get('code_challenge_method')).toBe('S256')
    expect(request.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/)
    expect(request.searchParams.get('resource')).toBe(gateway.resources.filesystem)
    expect(request.searchParams.get('client_id')).toBe(oauth.clientInformation()?.client_id)
    expect(request.searchParams.get('scope')).toBe('tools:call')
    expect(signedIn.pages).toEqual(['login', 'consent'])
    expect(signedIn.consented).toEqual({ [gateway.resources.filesystem!]: ['tools:call'] })

    // What the IdP issued: an RFC 9068 JWT for the gateway's resource, about alice, password only.
    const { access_token } = oauth.tokens()!
    expect(decodeProtectedHeader(access_token)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' })
    expect(oauth.accessClaims()).toMatchObject({
      iss: idp.issuer,
      aud: gateway.resources.filesystem,
      sub: 'alice',
      roles: ['developer'],
      groups: ['platform-writers'],
      amr: ['pwd'],
      auth_time: expect.any(Number),
    })
    expect(oauth.accessClaims().scope).toBe('tools:call')

    // tools/list is filtered by the policy: what the developer role and the writers group allow.
    expect(client.getServerVersion()?.name).toBe('secure-filesystem-server')
    const listed = (await client.listTools()).tools.map((t) => t.name)
    expect(listed).toEqual(expect.arrayContaining(['read_text_file', 'read_file', 'list_directory']))
    expect(listed).toContain('write_file') // visible without its scope: the client learns what to ask for
    // A step-up tool is hidden until the sign-in is strong enough (list and call share the rules).
    expect(listed).not.toContain('read_multiple_files')
    expect(listed).not.toContain('move_file')
    expect(listed).not.toContain('edit_file')
    expect(
      listed.every((name) => name.startsWith('read_') || ['list_directory', 'write_file'].includes(name)),
    ).toBe(true)

    // An allowed call reaches the stock server.
    const read = await client.callTool({
      name: 'read_text_file',
      arguments: { path: join(srv, 'readme.txt') },
    })
    expect(JSON.stringify(read.content)).toContain('hello from the project')

    // Denied calls come back as JSON-RPC errors with the policy's reason.
    const move = (await failure(
      client.callTool({
        name: 'move_file',
        arguments: { source: join(srv, 'readme.txt'), destination: join(srv, 'moved.txt') },
      }),
    )) as McpError & { data: { reason: string; reasons: { code: string; message: string }[] } }
    expect(move).toBeInstanceOf(McpError)
    expect(move.code).toBe(POLICY_DENIED_ERROR_CODE)
    expect(move.data.reason).toBe('not_granted')
    expect(move.data.reasons[0]!.message).toContain('move_file')
    const secret = (await failure(
      client.callTool({ name: 'read_text_file', arguments: { path: join(srv, 'secrets', 'token.txt') } }),
    )) as McpError & { data: { reason: string } }
    expect(secret.data.reason).toBe('argument_path_denied')
  })

  it('step-up (RFC 9470): a password-only sign-in gets 401 insufficient_user_authentication, an MFA sign-in the call', async () => {
    const { client, transport, oauth, exchanges } = await signInThroughGateway(password)
    const before = oauth.authorizationUrl
    const session = transport.sessionId
    const files = [join(srv, 'readme.txt'), join(srv, 'notes.txt')]

    const refused = await failure(
      client.callTool({ name: 'read_multiple_files', arguments: { paths: files } }),
    )
    // The SDK client took the 401 as "sign in again" and sent the user back to the IdP.
    expect(refused).toBeInstanceOf(UnauthorizedError)
    const answer = lastGatewayAnswer(exchanges)
    expect(answer).toMatchObject({ method: 'POST', status: 401 })
    expect(answer.challenge).toBe(
      `Bearer error="insufficient_user_authentication", resource_metadata="${metadataUrl}"`,
    )
    const body = JSON.parse(answer.body!) as {
      error: { data: { reason: string; reasons: { code: string }[] } }
    }
    expect(body.error.data.reasons.map((r) => r.code)).toEqual(['step_up_required'])
    expect(oauth.authorizationUrl).not.toBe(before)
    expect(oauth.authorizationUrl!.searchParams.get('resource')).toBe(gateway.resources.filesystem)

    // The user signs in again, this time with the authenticator's code; the same session goes on.
    const again = await idp.signIn(oauth.authorizationUrl!, withOtp)
    await transport.finishAuth(again.code)
    expect(oauth.accessClaims()).toMatchObject({ sub: 'alice', amr: ['pwd', 'otp'], acr: 'mfa' })
    expect(transport.sessionId).toBe(session)
    const read = await client.callTool({ name: 'read_multiple_files', arguments: { paths: files } })
    expect(JSON.stringify(read.content)).toContain('release on friday')
    expect(lastGatewayAnswer(exchanges).status).toBe(200)
    // Now that the sign-in is recent MFA, the list shows the tool too.
    expect((await client.listTools()).tools.map((t) => t.name)).toContain('read_multiple_files')
  })

  it('scope step-up (RFC 6750): a tool with required_scopes gets 403 insufficient_scope, the client asks for the scope and writes', async () => {
    const { client, transport, oauth, exchanges } = await signInThroughGateway(password)
    const target = join(srv, 'from-the-agent.txt')
    const write = () =>
      client.callTool({ name: 'write_file', arguments: { path: target, content: 'written\n' } })

    const refused = await failure(write())
    expect(refused).toBeInstanceOf(UnauthorizedError)
    const answer = lastGatewayAnswer(exchanges)
    expect(answer).toMatchObject({ method: 'POST', status: 403 })
    expect(answer.challenge).toBe(
      `Bearer error="insufficient_scope", scope="files:write", resource_metadata="${metadataUrl}"`,
    )
    const body = JSON.parse(answer.body!) as {
      error: { data: { reasons: { code: string; message: string }[] } }
    }
    expect(body.error.data.reasons).toEqual([
      {
        code: 'insufficient_scope',
        message:
          "Insufficient scope: tool filesystem/write_file needs the scope(s) 'files:write' the token does not carry",
      },
    ])
    // The SDK client took the scope from the challenge into a new authorization request.
    expect(oauth.authorizationUrl!.searchParams.get('scope')).toBe('files:write')
    expect(oauth.authorizationUrl!.searchParams.get('resource')).toBe(gateway.resources.filesystem)

    const consent: IdpSignIn = await idp.signIn(oauth.authorizationUrl!, password)
    expect(consent.pages).toEqual(['login', 'consent'])
    expect(consent.consented).toEqual({ [gateway.resources.filesystem!]: ['files:write'] })
    await transport.finishAuth(consent.code)
    expect(oauth.accessClaims()).toMatchObject({ sub: 'alice', scope: 'files:write' })
    await write()
    expect(await readFile(target, 'utf8')).toBe('written\n')
    expect(lastGatewayAnswer(exchanges).status).toBe(200)
  })

  it('does not send the user to the IdP for a scope when the call would stay denied without it', async () => {
    const { client, oauth, exchanges } = await signInThroughGateway(password)
    const asked = oauth.authorizationUrl
    const edit = (await failure(
      client.callTool({
        name: 'edit_file',
        arguments: { path: join(srv, 'notes.txt'), edits: [{ oldText: 'friday', newText: 'monday' }] },
      }),
    )) as McpError & { data: { reasons: { code: string }[] } }
    // An ordinary policy deny: the JSON-RPC error with both reasons, no challenge, no new sign-in.
    expect(edit).toBeInstanceOf(McpError)
    expect(edit.code).toBe(POLICY_DENIED_ERROR_CODE)
    expect(edit.data.reasons.map((r) => r.code).sort()).toEqual(['insufficient_scope', 'not_granted'])
    expect(lastGatewayAnswer(exchanges)).toMatchObject({ status: 200, challenge: null })
    expect(oauth.authorizationUrl).toBe(asked)
    expect(await readFile(join(srv, 'notes.txt'), 'utf8')).toBe('release on friday\n')
  })

  it('logs every decision about the signed-in user in a log that verifies', async () => {
    await gateway.flushLogs()
    const verification = await verifyLog([gateway.logDir])
    expect(verification.findings).toEqual([])
    expect(verification.intact).toBe(true)
    expect(verification.chains.reduce((n, c) => n + c.events, 0)).toBeGreaterThan(10)
  })
})

describe('authenticationChallenge: which denials become a scope challenge', () => {
  const metadata = 'https://gw.example.com/.well-known/oauth-protected-resource/mcp/fs'
  const scope = (value: string) => ({
    code: 'insufficient_scope',
    message: 'Insufficient scope',
    scope: value,
  })
  const challenge = (...reasons: { code: string; message: string }[]) =>
    authenticationChallenge({ status: 403, reasons }, metadata, true)

  it('asks for every missing scope once, with the metadata URL', () => {
    expect(challenge(scope('files:write'), scope('files:write files:admin'))).toEqual({
      status: 403,
      header: `Bearer error="insufficient_scope", scope="files:write files:admin", resource_metadata="${metadata}"`,
    })
  })

  it('asks for the scope first when a step-up is missing too (both are cured by signing in again)', () => {
    const reasons = [scope('files:write'), { code: 'step_up_required', message: 'MFA' }]
    expect(challenge(...reasons)?.header).toContain('error="insufficient_scope", scope="files:write"')
  })

  it('is an ordinary deny when another reason refuses the call as well, or no scope is named', () => {
    expect(challenge(scope('files:write'), { code: 'not_granted', message: 'no grant' })).toBeUndefined()
    expect(challenge({ code: 'insufficient_scope', message: 'no scope member' })).toBeUndefined()
    expect(challenge(scope(' \t"\\ '))).toBeUndefined()
  })

  it('keeps only scope-token characters (RFC 6750 §3), so a policy cannot break the header', () => {
    expect(challenge(scope('files:"write"\r\nSet-Cookie: x=1'))?.header).toBe(
      `Bearer error="insufficient_scope", scope="files:write Set-Cookie: x=1", resource_metadata="${metadata}"`,
    )
  })
})
