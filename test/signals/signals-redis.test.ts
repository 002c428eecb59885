import { randomUUID } from 'node:crypto'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PdpConfig } from '../../src/index.js'
import { defaultServerResource } from '../../src/index.js'
import { buildReferenceBundle, startTestPdp, type TestPdp, toolCall } from '../helpers/pdp.js'
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js'
import { eventTypes, startTestTransmitter, type TestTransmitter } from '../helpers/ssf-transmitter.js'
import { epochSeconds, signToken, type TestKey, testKey } from '../identity/test-keys.js'

// Revocation signals on PDPs whose state is a real redis-server: a SET pushed to one replica
// refuses the token at the other; with Redis killed mid-run a signal is not acknowledged (503 for
// a SET, so the transmitter delivers it again; 400 with ERR_STATE_UNAVAILABLE for a logout token,
// as the spec wants) and decisions fail closed; once Redis is back the redelivered SET applies.

const tokenIssuer = 'https://idp.redis-signals.test'
const github = defaultServerResource('github')
const audience = 'https://pdp.example.com/ssf'
const pushSecret = `Bearer push-${randomUUID()}`

let redis: TestRedis
let transmitter: TestTransmitter
let key: TestKey
let replicas: TestPdp[] = []

const sessionSubject = (sid: string) => ({ format: 'complex', session: { format: 'opaque', id: sid } })

function accessToken(sid: string) {
  const now = epochSeconds()
  return signToken(key, {
    iss: tokenIssuer,
    sub: 'alice',
    aud: github,
    iat: now - 5,
    exp: now + 600,
    roles: ['developer'],
    sid,
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
  return (await response.body.json()) as { allow: boolean; status: number; reasons: { message: string }[] }
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

beforeAll(async () => {
  redis = await startTestRedis()
  key = await testKey('ES256', 'redis-signals')
  transmitter = await startTestTransmitter(audience)
  const bundlePath = (await buildReferenceBundle()).path
  const config: Partial<PdpConfig> = {
    identity: { issuers: [{ issuer: tokenIssuer, jwks: { keys: [key.publicJwk] } }] },
    state: {
      backend: 'redis',
      redis: { url: redis.url, commandTimeoutMs: 300, keyPrefix: `signals-${randomUUID()}:` },
    },
    ssf: {
      transmitters: [
        {
          issuer: transmitter.issuer,
          audience,
          tokenIssuers: [tokenIssuer],
          push: { authorizationHeaders: [pushSecret] },
        },
      ],
    },
    backchannelLogout: { issuers: [{ issuer: tokenIssuer, clientIds: ['agent'] }] },
  }
  replicas = [await startTestPdp(bundlePath, config), await startTestPdp(bundlePath, config)]
}, 180_000)

afterAll(async () => {
  for (const replica of replicas) await replica.close()
  await transmitter?.close()
  await redis?.stop()
})

describe('revocation signals with state.backend redis', () => {
  it('a SET pushed to one replica refuses the token at the other at once', async () => {
    const [a, b] = replicas as [TestPdp, TestPdp]
    const sid = `sid-${randomUUID()}`
    const token = await accessToken(sid)
    expect(await decide(b, token)).toMatchObject({ allow: true })
    const set = await transmitter.sign({ type: eventTypes.sessionRevoked, subject: sessionSubject(sid) })
    expect((await transmitter.push(`${a.url}/ssf/events`, set, pushSecret)).status).toBe(202)
    await until(async () => !(await decide(b, token)).allow, 2_000)
    expect(await decide(b, token)).toMatchObject({ allow: false, status: 401 })
    // The replay is refused at the other replica too: the jti is in the shared store.
    expect((await transmitter.push(`${b.url}/ssf/events`, set, pushSecret)).body).toMatchObject({
      code: 'ERR_SSF_SET_REPLAYED',
    })
  })

  it('Redis killed mid-run: signals are not acknowledged and decisions fail closed; the redelivered SET applies once Redis is back', async () => {
    const [a, b] = replicas as [TestPdp, TestPdp]
    const sid = `sid-${randomUUID()}`
    const token = await accessToken(sid)
    const set = await transmitter.sign({ type: eventTypes.sessionRevoked, subject: sessionSubject(sid) })
    await redis.kill()
    await until(async () => (await decide(a, token)).allow === false, 5_000)
    expect((await decide(a, token)).reasons[0]?.message).toMatch(/revocation state cannot be read/)

    const pushed = await transmitter.push(`${a.url}/ssf/events`, set, pushSecret)
    expect(pushed.status).toBe(503)
    expect(pushed.headers['retry-after']).toBe('5')
    expect(pushed.body).toMatchObject({ code: 'ERR_STATE_UNAVAILABLE' })

    const now = epochSeconds()
    const logout = await signToken(
      key,
      {
        iss: tokenIssuer,
        aud: 'agent',
        iat: now,
        jti: randomUUID(),
        sid,
        events: { 'http://schemas.openid.net/event/backchannel-logout': {} },
      },
      { typ: 'logout+jwt' },
    )
    const logoutAnswer = await request(`${b.url}/oidc/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: logout }).toString(),
    })
    expect(logoutAnswer.statusCode).toBe(400)
    expect(await logoutAnswer.body.json()).toMatchObject({
      error: 'invalid_request',
      code: 'ERR_STATE_UNAVAILABLE',
    })
    expect((await request(`${a.url}/health`)).statusCode).toBe(200)

    await redis.restart()
    const ready = async (replica: TestPdp) =>
      (
        (await (await request(`${replica.url}/health/ready`)).body.json()) as {
          revocations?: { available: boolean }
        }
      ).revocations?.available === true
    await until(async () => (await ready(a)) && (await ready(b)), 15_000)
    // The token is allowed again (an empty Redis holds no revocation), until the transmitter
    // delivers the SET again: then it is cut at both replicas.
    expect(await decide(b, token)).toMatchObject({ allow: true })
    expect((await transmitter.push(`${a.url}/ssf/events`, set, pushSecret)).status).toBe(202)
    await until(async () => !(await decide(b, token)).allow, 2_000)
    expect(await decide(a, token)).toMatchObject({ allow: false, status: 401 })
    const metrics = await (await request(`${a.url}/metrics`)).body.text()
    expect(metrics).toMatch(
      /receiver="ssf",event="caep:session-revoked",outcome="unavailable",code="ERR_STATE_UNAVAILABLE"/,
    )
  })
})
