import { randomUUID } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IssuerConfig } from '../../src/identity/identity-config.js'
import type { PdpConfig } from '../../src/index.js'
import { defaultServerResource, REVOCATION_PATH, replayLog, verifyLog } from '../../src/index.js'
import type { SsfTransmitterConfig } from '../../src/signals/ssf-config.js'
import { buildReferenceBundle, startTestPdp, type TestPdp, toolCall } from '../helpers/pdp.js'
import { eventTypes, startTestTransmitter, type TestTransmitter } from '../helpers/ssf-transmitter.js'
import { epochSeconds, signToken, type TestKey, testKey } from '../identity/test-keys.js'

// The Shared Signals receiver of `mcp-policy serve`, end to end over real HTTP: a transmitter on
// loopback signs real SETs with jose and pushes them to the PDP (RFC 8935) or serves them to its
// poller (RFC 8936); the PDP verifies them against the JWKS named by the transmitter's
// /.well-known/ssf-configuration, revokes, logs, and the next decision for the revoked token is
// refused. Every bad input gets a clear, stable error and the PDP keeps serving.

const tokenIssuer = 'https://idp.signals.test'
const github = defaultServerResource('github')
const audience = 'https://pdp.example.com/ssf'
const pushSecret = `Bearer push-${randomUUID()}`

let bundlePath: string
let tokenKey: TestKey
let transmitter: TestTransmitter
let pdp: TestPdp

function tokenIssuerConfig(): IssuerConfig {
  return { issuer: tokenIssuer, jwks: { keys: [tokenKey.publicJwk] }, maxTokenLifetime: '1h' }
}

function transmitterConfig(extra: Partial<SsfTransmitterConfig> = {}): SsfTransmitterConfig {
  return {
    issuer: transmitter.issuer,
    audience,
    tokenIssuers: [tokenIssuer],
    push: { authorizationHeaders: [pushSecret] },
    ...extra,
  }
}

async function startPdpWith(overrides: Partial<PdpConfig> = {}): Promise<TestPdp> {
  return startTestPdp(bundlePath, {
    identity: { issuers: [tokenIssuerConfig()] },
    ssf: { transmitters: [transmitterConfig()] },
    ...overrides,
  })
}

/** An access token of the token issuer for the github server. */
function accessToken(claims: Record<string, unknown> = {}, iatOffset = -5) {
  const now = epochSeconds()
  return signToken(tokenKey, {
    iss: tokenIssuer,
    sub: 'alice',
    aud: github,
    iat: now + iatOffset,
    exp: now + 600,
    roles: ['developer'],
    jti: randomUUID(),
    sid: `sid-${randomUUID()}`,
    ...claims,
  })
}

async function decide(target: TestPdp, bearer: string) {
  const response = await request(`${target.url}/v1/mcp/decide`, {
    method: 'POST',
    body: JSON.stringify({
      message: toolCall('get_issue'),
      headers: { authorization: `Bearer ${bearer}` },
      server: 'github',
    }),
  })
  return (await response.body.json()) as {
    allow: boolean
    status: number
    reasons: { code: string; message: string }[]
  }
}

async function revokedReason(target: TestPdp, bearer: string): Promise<string | undefined> {
  const decision = await decide(target, bearer)
  if (decision.allow) return undefined
  expect(decision.status).toBe(401)
  return decision.reasons.map((r) => r.message).join(' ')
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function logEvents(dir: string): Promise<Record<string, unknown>[]> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.jsonl')).sort()
  const text = (await Promise.all(files.map((name) => readFile(join(dir, name), 'utf8')))).join('')
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

const sessionSubject = (sid: string) => ({
  format: 'complex',
  session: { format: 'opaque', id: sid },
  user: { format: 'iss_sub', iss: tokenIssuer, sub: 'alice' },
})

beforeAll(async () => {
  bundlePath = (await buildReferenceBundle()).path
  tokenKey = await testKey('ES256', 'signals-token')
  transmitter = await startTestTransmitter(audience)
  pdp = await startPdpWith()
}, 180_000)

afterAll(async () => {
  await pdp?.close()
  await transmitter?.close()
})

describe('SSF push delivery (RFC 8935): events that revoke', () => {
  it('CAEP session-revoked for a session: 202, that session is refused at once, others and a fresh sign-in work', async () => {
    const sid = `sid-${randomUUID()}`
    const revoked = await accessToken({ sid })
    const other = await accessToken()
    expect(await decide(pdp, revoked)).toMatchObject({ allow: true })
    const set = await transmitter.sign({
      type: eventTypes.sessionRevoked,
      subject: sessionSubject(sid),
      event: { event_timestamp: epochSeconds(), initiating_entity: 'policy' },
    })
    const answer = await transmitter.push(`${pdp.url}/ssf/events`, set, pushSecret)
    expect(answer.status).toBe(202)
    expect(answer.body).toBeUndefined()
    expect(await revokedReason(pdp, revoked)).toMatch(/session \(sid\) was revoked \("caep:session-revoked"/)
    expect(await decide(pdp, other)).toMatchObject({ allow: true })
    // The session is gone for good: a token of that session issued later is refused too.
    expect(await revokedReason(pdp, await accessToken({ sid }, 2))).toBeDefined()
    // The transmitter's metadata was read once, and named the JWKS that verified the SET.
    expect(transmitter.metadataRequests()).toBe(1)
  })

  it('RISC account-disabled for an iss_sub user: every token issued up to the event is refused, a later sign-in works', async () => {
    const sub = `user-${randomUUID()}`
    const before = await accessToken({ sub }, -30)
    const set = await transmitter.sign({
      type: eventTypes.accountDisabled,
      subject: { format: 'iss_sub', iss: tokenIssuer, sub },
      event: { event_timestamp: epochSeconds() - 10 },
    })
    expect((await transmitter.push(`${pdp.url}/ssf/events`, set, pushSecret)).status).toBe(202)
    expect(await revokedReason(pdp, before)).toMatch(/subject was revoked \("risc:account-disabled"/)
    // Issued after the event (a sign-in once the account is enabled again): not cut.
    expect(await decide(pdp, await accessToken({ sub }, 0))).toMatchObject({ allow: true })
  })

  it('an email subject revokes tokens whose email claim is that address (case-blind); tokens without it are untouched', async () => {
    const address = `Bob.${randomUUID().slice(0, 6)}@Example.com`
    const withEmail = await accessToken({ sub: 'bob', email: address.toLowerCase() })
    const withoutEmail = await accessToken({ sub: 'bob' })
    const set = await transmitter.sign({
      type: eventTypes.credentialCompromise,
      subject: { format: 'email', email: address },
      event: { credential_type: 'password' },
    })
    expect((await transmitter.push(`${pdp.url}/ssf/events`, set, pushSecret)).status).toBe(202)
    expect(await revokedReason(pdp, withEmail)).toMatch(/e-mail address was revoked/)
    expect(await decide(pdp, withoutEmail)).toMatchObject({ allow: true })
  })

  it('token-claims-change for a jwt_id revokes that token only; credential-change of type create revokes nothing', async () => {
    const jti = randomUUID()
    const stale = await accessToken({ jti })
    const sibling = await accessToken()
    const claims = await transmitter.sign({
      type: eventTypes.tokenClaimsChange,
      subject: { format: 'jwt_id', iss: tokenIssuer, jti },
      event: { claims: { role: 'auditor' } },
    })
    expect((await transmitter.push(`${pdp.url}/ssf/events`, claims, pushSecret)).status).toBe(202)
    expect(await revokedReason(pdp, stale)).toMatch(/token \(jti\) was revoked/)
    expect(await decide(pdp, sibling)).toMatchObject({ allow: true })

    const created = await transmitter.sign({
      type: eventTypes.credentialChange,
      subject: { format: 'iss_sub', iss: tokenIssuer, sub: 'alice' },
      event: { credential_type: 'fido2-roaming', change_type: 'create' },
    })
    expect((await transmitter.push(`${pdp.url}/ssf/events`, created, pushSecret)).status).toBe(202)
    expect(await decide(pdp, sibling)).toMatchObject({ allow: true })
  })

  it('an opaque user subject (the IdP user id) revokes that sub at the token issuer', async () => {
    const sub = `opaque-${randomUUID()}`
    const token = await accessToken({ sub }, -20)
    const set = await transmitter.sign({
      type: eventTypes.accountPurged,
      subject: { format: 'opaque', id: sub },
    })
    expect((await transmitter.push(`${pdp.url}/ssf/events`, set, pushSecret)).status).toBe(202)
    expect(await revokedReason(pdp, token)).toMatch(/risc:account-purged/)
  })
})

describe('SSF push delivery: bad input, each a clear error, nothing crashes', () => {
  const push = (set: string, authorization: string | undefined = pushSecret) =>
    transmitter.push(`${pdp.url}/ssf/events`, set, authorization)
  const event = (sid = `sid-${randomUUID()}`) => ({
    type: eventTypes.sessionRevoked,
    subject: sessionSubject(sid),
  })

  it('no or a wrong Authorization header: 401 authentication_failed, before the body is read', async () => {
    const set = await transmitter.sign(event())
    for (const authorization of [undefined, 'Bearer wrong-secret-of-some-length', pushSecret.slice(0, -1)]) {
      const answer = await transmitter.push(`${pdp.url}/ssf/events`, set, authorization)
      expect(answer.status, String(authorization)).toBe(401)
      expect(answer.body).toMatchObject({ err: 'authentication_failed', code: 'ERR_SSF_UNAUTHORIZED' })
    }
  })

  it('unsigned (alg none) and wrongly signed SETs: 400 invalid_key', async () => {
    const sid = `sid-${randomUUID()}`
    const victim = await accessToken({ sid })
    const signed = await transmitter.sign(event(sid))
    const [header, payload] = signed.split('.')
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'secevent+jwt' })).toString('base64url')}.${payload}.`
    expect((await push(none)).body).toMatchObject({ err: 'invalid_key', code: 'ERR_SSF_SIGNATURE_INVALID' })
    expect((await push(`${header}.${payload}.${'A'.repeat(86)}`)).body).toMatchObject({
      err: 'invalid_key',
      code: 'ERR_SSF_SIGNATURE_INVALID',
    })
    // A key the transmitter does not publish, with its own kid and with the transmitter's kid.
    const forger = await testKey('ES256', transmitter.key.kid)
    const forged = await push(await transmitter.sign(event(sid), { key: forger }))
    expect(forged.status).toBe(400)
    expect(forged.body).toMatchObject({ err: 'invalid_key', code: 'ERR_SSF_SIGNATURE_INVALID' })
    const unknownKid = await push(
      await transmitter.sign(event(sid), { key: await testKey('ES256', 'nobody') }),
    )
    expect(unknownKid.body).toMatchObject({ err: 'invalid_key' })
    // An algorithm outside the allowlist, however well signed.
    const rs = await testKey('RS384', transmitter.key.kid)
    expect((await push(await transmitter.sign(event(sid), { key: rs }))).body).toMatchObject({
      code: 'ERR_SSF_SIGNATURE_INVALID',
    })
    expect(await decide(pdp, victim)).toMatchObject({ allow: true })
  })

  it('wrong aud and wrong iss: 400 invalid_audience and invalid_issuer', async () => {
    const wrongAud = await push(await transmitter.sign(event(), { claims: { aud: 'https://other.example' } }))
    expect(wrongAud).toMatchObject({
      status: 400,
      body: { err: 'invalid_audience', code: 'ERR_SSF_AUDIENCE_MISMATCH' },
    })
    const wrongIss = await push(await transmitter.sign(event(), { claims: { iss: 'https://evil.example' } }))
    expect(wrongIss).toMatchObject({
      status: 400,
      body: { err: 'invalid_issuer', code: 'ERR_SSF_ISSUER_MISMATCH' },
    })
  })

  it('a replayed jti: applied once, the replay 400 ERR_SSF_SET_REPLAYED', async () => {
    const set = await transmitter.sign(event())
    expect((await push(set)).status).toBe(202)
    const replay = await push(set)
    expect(replay).toMatchObject({
      status: 400,
      body: { err: 'invalid_request', code: 'ERR_SSF_SET_REPLAYED' },
    })
  })

  it('malformed SETs: not a JWS, wrong typ, no jti, no events, two events, too old, in the future, encrypted', async () => {
    const cases: [string, RegExp][] = [
      ['not-a-jwt', /compact JWS/],
      [await transmitter.sign(event(), { header: { typ: 'JWT' } }), /typ/],
      [await transmitter.sign(event(), { header: { typ: undefined } }), /typ/],
      [await transmitter.sign(event(), { claims: { jti: undefined } }), /jti/],
      [await transmitter.sign(event(), { claims: { events: undefined } }), /events/],
      [
        await transmitter.sign(event(), {
          claims: { events: { [eventTypes.sessionRevoked]: {}, [eventTypes.accountDisabled]: {} } },
        }),
        /exactly one event/,
      ],
      [await transmitter.sign(event(), { claims: { iat: epochSeconds() - 3 * 86_400 } }), /issued more than/],
      [await transmitter.sign(event(), { claims: { iat: epochSeconds() + 3_600 } }), /future/],
      ['a.b.c.d.e', /JWE/],
    ]
    for (const [set, message] of cases) {
      const answer = await push(set)
      expect(answer.status, String(message)).toBe(400)
      expect(answer.body).toMatchObject({ err: 'invalid_request', code: 'ERR_SSF_SET_INVALID' })
      expect(String(answer.body?.description)).toMatch(message)
    }
  })

  it('oversized, deeply nested and duplicate-key SETs: refused before jose parses them', async () => {
    const huge = await push('x'.repeat(200_000))
    expect(huge).toMatchObject({
      status: 413,
      body: { err: 'invalid_request', code: 'ERR_PDP_BODY_TOO_LARGE' },
    })
    const deep = await transmitter.sign(event(), {
      claims: { sub_id: JSON.parse(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`) },
    })
    expect((await push(deep)).body).toMatchObject({
      code: 'ERR_SSF_SET_INVALID',
      description: expect.stringMatching(/deeper/),
    })
    const signed = await transmitter.sign(event())
    const [header, , signature] = signed.split('.')
    const duplicate = Buffer.from(`{"iss":"${transmitter.issuer}","iss":"https://evil.example"}`).toString(
      'base64url',
    )
    expect((await push(`${header}.${duplicate}.${signature}`)).body).toMatchObject({
      code: 'ERR_SSF_SET_INVALID',
      description: expect.stringMatching(/key twice/),
    })
    // Still serving.
    expect((await request(`${pdp.url}/health`)).statusCode).toBe(200)
  })

  it('an unknown event type and an unknown subject issuer: 202, nothing revoked, logged as ignored', async () => {
    const sid = `sid-${randomUUID()}`
    const token = await accessToken({ sid })
    const unknown = await transmitter.sign({
      type: 'https://schemas.example.com/event-type/weather-changed',
      subject: sessionSubject(sid),
    })
    expect((await push(unknown)).status).toBe(202)
    const foreign = await transmitter.sign({
      type: eventTypes.sessionRevoked,
      subject: {
        format: 'complex',
        session: { format: 'opaque', id: sid },
        user: { format: 'iss_sub', iss: 'https://idp.someone-else.test', sub: 'alice' },
      },
    })
    expect((await push(foreign)).status).toBe(202)
    expect(await decide(pdp, token)).toMatchObject({ allow: true })
    // Events for subjects nobody has seen yet are kept: the user may sign in later with an old token.
    const nobody = await transmitter.sign({
      type: eventTypes.sessionRevoked,
      subject: sessionSubject(`never-seen-${randomUUID()}`),
    })
    expect((await push(nobody)).status).toBe(202)
    const metrics = await (await request(`${pdp.url}/metrics`)).body.text()
    expect(metrics).toMatch(
      /mcp_policy_security_events_total\{receiver="ssf",event="unknown",outcome="ignored"/,
    )
    expect(metrics).toMatch(
      /mcp_policy_security_events_total\{receiver="ssf",event="caep:session-revoked",outcome="revoked"/,
    )
    expect(metrics).toMatch(/outcome="refused",code="ERR_SSF_SIGNATURE_INVALID"/)
    expect(metrics).toMatch(/outcome="replayed",code="ERR_SSF_SET_REPLAYED"/)
  })

  it('GET is 405 in the RFC shape-free PDP error body; the PDP answers everything else as before', async () => {
    const response = await request(`${pdp.url}/ssf/events`)
    expect(response.statusCode).toBe(405)
    expect(await response.body.json()).toMatchObject({ code: 'ERR_PDP_METHOD_NOT_ALLOWED' })
  })
})

describe('the decision log records every revocation signal; verify-log and replay accept it', () => {
  it('mcp-policy/revocation events: who, what, which event, which jti; replay counts them apart and reproduces every decision', async () => {
    const sid = `sid-${randomUUID()}`
    const token = await accessToken({ sid })
    expect(await decide(pdp, token)).toMatchObject({ allow: true })
    const set = await transmitter.sign({ type: eventTypes.sessionRevoked, subject: sessionSubject(sid) })
    const jti = JSON.parse(Buffer.from(set.split('.')[1]!, 'base64url').toString()).jti as string
    expect((await transmitter.push(`${pdp.url}/ssf/events`, set, pushSecret)).status).toBe(202)
    expect(await decide(pdp, token)).toMatchObject({ allow: false })
    await pdp.log?.flush()

    const events = await logEvents(pdp.logDir)
    const recorded = events.find(
      (e) => e.path === REVOCATION_PATH && (e.input as { jti?: string }).jti === jti,
    )
    expect(recorded).toMatchObject({
      input: {
        schema: 'mcp-policy/revocation/v1',
        receiver: 'ssf',
        delivery: 'push',
        issuer: transmitter.issuer,
        jti,
        event: 'caep:session-revoked',
        event_type: eventTypes.sessionRevoked,
        subject: sessionSubject(sid),
      },
      result: {
        outcome: 'revoked',
        revocations: [{ kind: 'session', issuer: tokenIssuer, value: sid, at: expect.any(String) }],
      },
      bundles: {},
    })
    const ignored = events.filter(
      (e) => e.path === REVOCATION_PATH && (e.result as { outcome: string }).outcome === 'ignored',
    )
    expect(ignored.map((e) => (e.result as { reason: string }).reason)).toEqual(
      expect.arrayContaining(['event_type_unknown', 'subject_issuer_unknown', 'no_access_consequence']),
    )
    // Nothing of a SET but its facts: no token, no signature.
    expect(JSON.stringify(events)).not.toContain(set.split('.')[2]!)

    expect((await verifyLog([pdp.logDir])).intact).toBe(true)
    const report = await replayLog([pdp.logDir], { bundleStore: pdp.config.bundleStore })
    const revocationEvents = events.filter((e) => e.path === REVOCATION_PATH).length
    expect(report.revocations).toBe(revocationEvents)
    expect(report.differing).toBe(0)
    expect(report.missingBundles).toEqual({})
    expect(report.same).toBe(report.events - report.revocations - report.rejected - report.withheld)
  })
})

describe('SSF poll delivery (RFC 8936)', () => {
  let polled: TestPdp
  beforeAll(async () => {
    polled = await startPdpWith({
      ssf: {
        transmitters: [
          transmitterConfig({
            push: undefined,
            // The poll endpoint is read from the stream configuration the metadata points to.
            poll: {
              streamId: transmitter.streamId,
              authorizationHeader: transmitter.pollAuthorization,
              waitSeconds: 2,
              intervalSeconds: 0.2,
            },
          }),
        ],
      },
    })
  })
  afterAll(async () => {
    await polled?.close()
  })

  it('polls, applies and acknowledges a SET; reports a bad one in setErrs; a push endpoint does not exist without push', async () => {
    const sid = `sid-${randomUUID()}`
    const token = await accessToken({ sid })
    expect(await decide(polled, token)).toMatchObject({ allow: true })
    const good = await transmitter.sign({ type: eventTypes.sessionRevoked, subject: sessionSubject(sid) })
    const goodJti = JSON.parse(Buffer.from(good.split('.')[1]!, 'base64url').toString()).jti as string
    const bad = await transmitter.sign(
      { type: eventTypes.sessionRevoked, subject: sessionSubject(sid) },
      { claims: { aud: 'https://other.example' } },
    )
    const badJti = JSON.parse(Buffer.from(bad.split('.')[1]!, 'base64url').toString()).jti as string
    transmitter.enqueue(good)
    transmitter.enqueue(bad)
    await until(async () => (await decide(polled, token)).allow === false, 10_000)
    await until(() => transmitter.acked.includes(goodJti) && badJti in transmitter.setErrs, 10_000)
    expect(transmitter.setErrs[badJti]).toMatchObject({ err: 'invalid_audience' })
    expect(transmitter.queued()).toBe(0)
    expect((await request(`${polled.url}/ssf/events`, { method: 'POST', body: 'x' })).statusCode).toBe(404)
  })

  it('a transmitter that is down: the poller backs off and resumes, nothing is lost', async () => {
    const sid = `sid-${randomUUID()}`
    const token = await accessToken({ sid })
    transmitter.setMode('down')
    const before = transmitter.pollRequests()
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    transmitter.enqueue(
      await transmitter.sign({ type: eventTypes.sessionRevoked, subject: sessionSubject(sid) }),
    )
    expect(await decide(polled, token)).toMatchObject({ allow: true })
    transmitter.setMode('ok')
    await until(async () => (await decide(polled, token)).allow === false, 15_000)
    expect(transmitter.pollRequests()).toBeGreaterThan(before)
    const metrics = await (await request(`${polled.url}/metrics`)).body.text()
    expect(metrics).toMatch(
      /receiver="ssf",event="poll",outcome="unavailable",code="ERR_SSF_TRANSMITTER_UNAVAILABLE"/,
    )
  })
})

describe('receiver configuration', () => {
  it('refuses token issuers the identity does not trust, and shared push secrets', async () => {
    await expect(
      startPdpWith({
        ssf: { transmitters: [transmitterConfig({ tokenIssuers: ['https://not-trusted.test'] })] },
      }),
    ).rejects.toMatchObject({
      code: 'ERR_PDP_CONFIG_INVALID',
      message: expect.stringMatching(/not in identity.issuers/),
    })
    await expect(
      startPdpWith({
        ssf: {
          transmitters: [
            transmitterConfig(),
            {
              ...transmitterConfig(),
              issuer: 'https://second.example/ssf',
              configurationUrl: 'https://second.example/x',
            },
          ],
        },
      }),
    ).rejects.toMatchObject({
      code: 'ERR_PDP_CONFIG_INVALID',
      message: expect.stringMatching(/shares a push/),
    })
    await expect(
      startPdpWith({
        ssf: { transmitters: [transmitterConfig({ jwksUri: 'http://jwks.example.com/keys' })] },
      }),
    ).rejects.toMatchObject({ code: 'ERR_PDP_CONFIG_INVALID', message: expect.stringMatching(/https/) })
  })
})
