import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultServerResource } from '../../src/index.js'
import { buildReferenceBundle, startTestPdp, type TestPdp, toolCall } from '../helpers/pdp.js'
import { type JwksServer, startJwksServer } from '../identity/jwks-server.js'
import { epochSeconds, signToken, type TestKey, testKey } from '../identity/test-keys.js'

const issuer = 'https://idp.test'
let pdp: TestPdp
let jwks: JwksServer
let known: TestKey
let unknown: TestKey

beforeAll(async () => {
  known = await testKey('ES256', 'k1')
  unknown = await testKey('ES256', 'k2')
  jwks = await startJwksServer([known.publicJwk])
  const bundle = await buildReferenceBundle()
  pdp = await startTestPdp(bundle.path, {
    identity: { issuers: [{ issuer, jwksUri: jwks.url, claims: { roles: ['roles'] } }], jwksCooldownMs: 0 },
  })
}, 120_000)

afterAll(async () => {
  await pdp?.close()
  await jwks?.close()
})

function token(key: TestKey, sub: string) {
  const now = epochSeconds()
  return signToken(key, {
    iss: issuer,
    sub,
    aud: defaultServerResource('github'),
    roles: ['developer'],
    client_id: 'cli',
    iat: now,
    exp: now + 600,
  })
}

async function decide(bearer: string) {
  const res = await request(`${pdp.url}/v1/mcp/decide`, {
    method: 'POST',
    body: JSON.stringify({
      message: toolCall('get_issue'),
      headers: { authorization: `Bearer ${bearer}` },
      server: 'github',
    }),
  })
  return (await res.body.json()) as {
    allow: boolean
    status: number
    reasons: { code: string; message: string }[]
  }
}

describe('the IdP JWKS goes down', () => {
  it('keeps verifying tokens signed with cached keys, and denies a token whose key it cannot fetch', async () => {
    expect((await decide(await token(known, 'alice'))).allow).toBe(true)
    jwks.setMode('error')
    // A token never seen before (not in the verified-token cache), signed with a key already fetched.
    expect((await decide(await token(known, 'carol'))).allow).toBe(true)
    const denied = await decide(await token(unknown, 'mallory'))
    expect(denied).toMatchObject({ allow: false, status: 401 })
    expect(denied.reasons[0]!.code).toBe('unauthenticated')
    // The service itself stays healthy.
    const ready = await request(`${pdp.url}/health/ready`)
    expect(ready.statusCode).toBe(200)
    await ready.body.dump()
  })
})
