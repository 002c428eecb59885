import { randomUUID } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeJwt } from 'jose'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultServerResource, REVOCATION_PATH } from '../../src/index.js'
import { freePort } from '../helpers/nginx-gateway.js'
import { type IdpUser, startTestIdp, type TestIdp } from '../helpers/oidc-idp.js'
import { registerLogoutClient, signInSession } from '../helpers/oidc-session.js'
import { buildReferenceBundle, startTestPdp, type TestPdp, toolCall } from '../helpers/pdp.js'
import { epochSeconds, signToken, type TestKey, testKey } from '../identity/test-keys.js'

// OIDC Back-Channel Logout 1.0 at POST /oidc/backchannel-logout: logout tokens signed with jose
// for every check of §2.6, then the real thing — oidc-provider ends a signed-in user's session at
// its end_session page and posts its own logout token to the PDP, whose next decision for that
// session's access token is a 401.

const BCL = 'http://schemas.openid.net/event/backchannel-logout'
const github = defaultServerResource('github')
const tokenIssuer = 'https://idp.logout.test'
const client = 'ide-assistant'

let bundlePath: string
let key: TestKey
let pdp: TestPdp

async function decide(target: TestPdp, bearer: string) {
  const response = await request(`${target.url}/v1/mcp/decide`, {
    method: 'POST',
    body: JSON.stringify({
      message: toolCall('get_issue'),
      headers: { authorization: `Bearer ${bearer}` },
      server: 'github',
    }),
  })
  return (await response.body.json()) as { allow: boolean; status: number; reasons: { message: string }[] }
}

function accessToken(claims: Record<string, unknown>, iatOffset = -5) {
  const now = epochSeconds()
  return signToken(key, {
    iss: tokenIssuer,
    sub: 'alice',
    aud: github,
    iat: now + iatOffset,
    exp: now + 600,
    roles: ['developer'],
    ...claims,
  })
}

/** A logout token as §2.4 defines it; `claims` overrides (undefined removes), `header` too. */
function logoutToken(
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
  signer?: TestKey,
) {
  const now = epochSeconds()
  const all: Record<string, unknown> = {
    iss: tokenIssuer,
    aud: client,
    iat: now,
    exp: now + 120,
    jti: randomUUID(),
    sid: `sid-${randomUUID()}`,
    sub: 'alice',
    events: { [BCL]: {} },
    ...claims,
  }
  for (const name of Object.keys(all)) if (all[name] === undefined) delete all[name]
  return signToken(signer ?? key, all, { typ: 'logout+jwt', ...header })
}

async function post(target: TestPdp, body: string, contentType = 'application/x-www-form-urlencoded') {
  const response = await request(`${target.url}/oidc/backchannel-logout`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  })
  const text = await response.body.text()
  return {
    status: response.statusCode,
    cacheControl: response.headers['cache-control'],
    body:
      text === ''
        ? undefined
        : (JSON.parse(text) as { error: string; error_description: string; code: string }),
  }
}

const form = (token: string) => new URLSearchParams({ logout_token: token }).toString()

beforeAll(async () => {
  bundlePath = (await buildReferenceBundle()).path
  key = await testKey('ES256', 'logout-key')
  pdp = await startTestPdp(bundlePath, {
    identity: { issuers: [{ issuer: tokenIssuer, jwks: { keys: [key.publicJwk] } }] },
    // The PDP's callers must authenticate; the IdP posts without a PDP credential and is let in by
    // its signed logout token alone.
    callerAuth: { bearerTokens: ['a-pdp-caller-token-0123456789'] },
    backchannelLogout: { issuers: [{ issuer: tokenIssuer, clientIds: [client, 'other-client'] }] },
  })
}, 180_000)

afterAll(async () => {
  await pdp?.close()
})

async function decideAuthenticated(bearer: string) {
  const response = await request(`${pdp.url}/v1/mcp/decide`, {
    method: 'POST',
    headers: { 'x-mcp-policy-authorization': 'Bearer a-pdp-caller-token-0123456789' },
    body: JSON.stringify({
      message: toolCall('get_issue'),
      headers: { authorization: `Bearer ${bearer}` },
      server: 'github',
    }),
  })
  return (await response.body.json()) as { allow: boolean; status: number; reasons: { message: string }[] }
}

describe('back-channel logout with hand-signed logout tokens', () => {
  it('a logout naming a session: 200, no-store; that session is refused, another session of the user is not', async () => {
    const sid = `sid-${randomUUID()}`
    const session = await accessToken({ sid })
    const otherSession = await accessToken({ sid: `sid-${randomUUID()}` })
    expect(await decideAuthenticated(session)).toMatchObject({ allow: true })
    const answer = await post(pdp, form(await logoutToken({ sid })))
    expect(answer).toMatchObject({ status: 200, cacheControl: 'no-store', body: undefined })
    const refused = await decideAuthenticated(session)
    expect(refused).toMatchObject({ allow: false, status: 401 })
    expect(refused.reasons[0]?.message).toMatch(/session \(sid\) was revoked \("oidc:backchannel-logout"/)
    expect(await decideAuthenticated(otherSession)).toMatchObject({ allow: true })
  })

  it('a logout naming only the user: every token of the user issued up to it is refused, a later sign-in works', async () => {
    const sub = `user-${randomUUID()}`
    const before = await accessToken({ sub }, -20)
    expect(
      (await post(pdp, form(await logoutToken({ sub, sid: undefined, iat: epochSeconds() - 10 })))).status,
    ).toBe(200)
    expect(await decideAuthenticated(before)).toMatchObject({ allow: false, status: 401 })
    expect(await decideAuthenticated(await accessToken({ sub }, 0))).toMatchObject({ allow: true })
  })

  it.each([
    ['a nonce (an ID token replayed as a logout token)', { nonce: 'n-1' }, {}, /nonce/],
    ['no events claim', { events: undefined }, {}, /events/],
    ['the wrong event', { events: { 'http://schemas.openid.net/event/other': {} } }, {}, /events/],
    ['an event that is not an object', { events: { [BCL]: true } }, {}, /events/],
    ['neither sid nor sub', { sid: undefined, sub: undefined }, {}, /neither/],
    ['no jti', { jti: undefined }, {}, /jti/],
    ['another client as aud', { aud: 'someone-else' }, {}, /aud/],
    ['an unknown issuer', { iss: 'https://idp.unknown.test' }, {}, /not configured/],
    ['an old iat', { iat: epochSeconds() - 3_600, exp: undefined }, {}, /issued more than/],
    ['an iat in the future', { iat: epochSeconds() + 3_600 }, {}, /future/],
    ['an expired exp', { iat: epochSeconds() - 200, exp: epochSeconds() - 100 }, {}, /expired/],
    ['an access token typ', {}, { typ: 'at+jwt' }, /typ/],
  ])(
    'refuses a logout token with %s: 400 invalid_request ERR_LOGOUT_TOKEN_INVALID',
    async (_name, claims, header, message) => {
      const answer = await post(pdp, form(await logoutToken(claims, header)))
      expect(answer.status).toBe(400)
      expect(answer.body).toMatchObject({ error: 'invalid_request', code: 'ERR_LOGOUT_TOKEN_INVALID' })
      expect(answer.body?.error_description).toMatch(message)
    },
  )

  it('refuses unsigned, wrongly signed, replayed and malformed requests, each with a clear error', async () => {
    const valid = await logoutToken()
    const [, payload] = valid.split('.')
    const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${payload}.`
    expect((await post(pdp, form(none))).body).toMatchObject({
      code: 'ERR_LOGOUT_TOKEN_INVALID',
      error_description: expect.stringMatching(/unsigned/),
    })
    const forged = await logoutToken({}, {}, await testKey('ES256', key.kid))
    expect((await post(pdp, form(forged))).body).toMatchObject({
      code: 'ERR_LOGOUT_TOKEN_INVALID',
      error_description: expect.stringMatching(/signature/),
    })

    expect((await post(pdp, form(valid))).status).toBe(200)
    const replay = await post(pdp, form(valid))
    expect(replay).toMatchObject({
      status: 400,
      body: { error: 'invalid_request', code: 'ERR_LOGOUT_TOKEN_REPLAYED' },
    })

    expect((await post(pdp, '')).body).toMatchObject({
      code: 'ERR_LOGOUT_TOKEN_INVALID',
      error_description: expect.stringMatching(/no logout_token/),
    })
    expect((await post(pdp, `${form(valid)}&${form(valid)}`)).body).toMatchObject({
      error_description: expect.stringMatching(/more than one/),
    })
    expect((await post(pdp, JSON.stringify({ logout_token: valid }), 'application/json')).body).toMatchObject(
      {
        code: 'ERR_LOGOUT_TOKEN_INVALID',
      },
    )
    expect((await post(pdp, form('x'.repeat(40_000)))).status).toBe(400)
    const deep = await logoutToken({ extra: JSON.parse(`${'['.repeat(50)}1${']'.repeat(50)}`) })
    expect((await post(pdp, form(deep))).body).toMatchObject({
      error_description: expect.stringMatching(/deeper/),
    })
    // GET is not a logout.
    expect((await request(`${pdp.url}/oidc/backchannel-logout`)).statusCode).toBe(405)
    // Still serving, the rest still behind caller authentication.
    expect((await request(`${pdp.url}/v1/mcp/decide`, { method: 'POST', body: '{}' })).statusCode).toBe(401)
  })

  it('records each logout in the decision log, with who, which session and user, which event, which jti', async () => {
    const sid = `sid-${randomUUID()}`
    const token = await logoutToken({ sid })
    const jti = decodeJwt(token).jti
    expect((await post(pdp, form(token))).status).toBe(200)
    await pdp.log?.flush()
    const files = (await readdir(pdp.logDir)).filter((name) => name.endsWith('.jsonl'))
    const events = (await Promise.all(files.map((name) => readFile(join(pdp.logDir, name), 'utf8'))))
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(
      events.find((e) => e.path === REVOCATION_PATH && (e.input as { jti: string }).jti === jti),
    ).toMatchObject({
      input: {
        receiver: 'oidc-backchannel-logout',
        issuer: tokenIssuer,
        event: 'oidc:backchannel-logout',
        event_type: BCL,
        subject: { sub: 'alice', sid },
      },
      result: { outcome: 'revoked', revocations: [{ kind: 'session', issuer: tokenIssuer, value: sid }] },
    })
    // Refused tokens are counted, not logged: anyone can post to this endpoint.
    expect(
      events
        .filter((e) => e.path === REVOCATION_PATH)
        .every((e) => (e.result as { outcome: string }).outcome === 'revoked'),
    ).toBe(true)
    const metrics = await (
      await request(`${pdp.url}/metrics`, {
        headers: { authorization: 'Bearer a-pdp-caller-token-0123456789' },
      })
    ).body.text()
    expect(metrics).toMatch(
      /receiver="oidc-backchannel-logout",event="oidc:backchannel-logout",outcome="refused",code="ERR_LOGOUT_TOKEN_INVALID"/,
    )
    expect(metrics).toMatch(/outcome="replayed",code="ERR_LOGOUT_TOKEN_REPLAYED"/)
  })
})

describe('back-channel logout from a real IdP (oidc-provider end_session)', () => {
  const alice: IdpUser = {
    user: 'alice',
    password: 'correct horse battery staple',
    roles: ['developer'],
    groups: [],
  }
  let idp: TestIdp
  let served: TestPdp

  beforeAll(async () => {
    idp = await startTestIdp([], [github], { users: [alice], backchannelLogout: true })
  })
  afterAll(async () => {
    await served?.close()
    await idp?.close()
  })

  it('the user signs out at the IdP: oidc-provider posts its logout token, the session access token is refused on the next call', async () => {
    const port = await freePort()
    const discovery = (await (
      await request(`${idp.issuer}/.well-known/openid-configuration`)
    ).body.json()) as {
      backchannel_logout_supported?: boolean
      backchannel_logout_session_supported?: boolean
    }
    expect(discovery).toMatchObject({
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
    })
    // Registered before the PDP starts: its URI is where the IdP will post.
    const clientId = await registerLogoutClient(idp, `http://127.0.0.1:${port}/oidc/backchannel-logout`)
    served = await startTestPdp(bundlePath, {
      port,
      identity: { issuers: [idp.issuerConfig] },
      backchannelLogout: { issuers: [{ issuer: idp.issuer, clientIds: [clientId] }] },
    })
    const { accessToken, signIn } = await signInSession(idp, clientId, github, alice)
    expect(decodeJwt(accessToken)).toMatchObject({ sub: 'alice', aud: github, sid: expect.any(String) })
    expect(await decide(served, accessToken)).toMatchObject({ allow: true })

    await idp.signOut(signIn)
    const refused = await decide(served, accessToken)
    expect(refused).toMatchObject({ allow: false, status: 401 })
    expect(refused.reasons[0]?.message).toMatch(/session \(sid\) was revoked \("oidc:backchannel-logout"/)
  })
})
