import { createServer, type IncomingMessage } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IdentityConfig, IntrospectionConfig } from '../../src/identity/identity-config.js'
import type { IntrospectionOutcome } from '../../src/identity/identity-events.js'
import { TokenVerifier } from '../../src/identity/token-verifier.js'
import { closeServer, listen } from './jwks-server.js'
import { epochSeconds, signToken, type TestKey, testKey } from './test-keys.js'

// An RFC 7662 endpoint under the test's control, on loopback: what oidc-provider will not do
// (introspect JWTs, `mode: always`) and what a failing IdP does (hang, 500, garbage, huge answers).
type Mode = 'answer' | 'error' | 'hang' | 'garbage' | 'no-active' | 'array' | 'huge'

interface Recorded {
  authorization: string | undefined
  params: URLSearchParams
}

interface FakeEndpoint {
  url: string
  mode: Mode
  answer: Record<string, unknown>
  requests: Recorded[]
  close: () => Promise<void>
}

async function startEndpoint(): Promise<FakeEndpoint> {
  const endpoint: FakeEndpoint = {
    url: '',
    mode: 'answer',
    answer: { active: true },
    requests: [],
    close: async () => {},
  }
  const server = createServer(async (req, res) => {
    const params = new URLSearchParams(await text(req))
    endpoint.requests.push({ authorization: req.headers.authorization, params })
    const json = (status: number, body: string) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(body)
    switch (endpoint.mode) {
      case 'hang':
        return
      case 'error':
        return json(500, '{"error":"server_error"}')
      case 'garbage':
        return json(200, '<html>maintenance</html>')
      case 'no-active':
        return json(200, '{"sub":"alice"}')
      case 'array':
        return json(200, '[{"active":true}]')
      case 'huge':
        return json(200, JSON.stringify({ active: true, padding: 'x'.repeat(100_000) }))
      default:
        return json(200, JSON.stringify(endpoint.answer))
    }
  })
  const port = await listen(server)
  endpoint.url = `http://127.0.0.1:${port}/introspect`
  endpoint.close = () => closeServer(server)
  return endpoint
}

async function text(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString()
}

const iss = 'https://idp.introspect.test'
const aud = 'https://mcp.example.com/github'
const opaque = 'opaque-token-0123456789abcdefghijklmnop'

let key: TestKey
let endpoint: FakeEndpoint

beforeAll(async () => {
  key = await testKey('ES256', 'intro-1')
  endpoint = await startEndpoint()
})
afterAll(() => endpoint?.close())

function verifier(introspection: Partial<IntrospectionConfig> = {}, extra: Partial<IdentityConfig> = {}) {
  const outcomes: IntrospectionOutcome[] = []
  const v = new TokenVerifier(
    {
      issuers: [
        {
          issuer: iss,
          jwks: { keys: [key.publicJwk] },
          introspection: {
            endpoint: endpoint.url,
            clientId: 'mcp pdp',
            clientSecret: 'p@ss word:+/',
            ...introspection,
          },
        },
      ],
      ...extra,
    },
    { events: { introspection: (_issuer, outcome) => outcomes.push(outcome) } },
  )
  return Object.assign(v, { outcomes })
}

const jwt = (claims: Record<string, unknown> = {}) => {
  const now = epochSeconds()
  return signToken(key, { iss, sub: 'alice', aud, iat: now, exp: now + 600, ...claims })
}

function answer(claims: Record<string, unknown> = {}) {
  const now = epochSeconds()
  endpoint.mode = 'answer'
  endpoint.answer = {
    active: true,
    iss,
    sub: 'alice',
    aud,
    iat: now,
    exp: now + 600,
    scope: 'tools:call',
    ...claims,
  }
}

describe('JWTs introspected too (mode: always)', () => {
  it('a JWT is verified locally and introspected once, authenticated as client_secret_basic (form-encoded parts)', async () => {
    answer()
    const v = verifier({ mode: 'always' })
    const token = await jwt()
    const before = endpoint.requests.length
    expect((await v.verify(token, aud)).authenticated).toBe(true)
    expect((await v.verify(token, aud)).authenticated).toBe(true)
    expect(endpoint.requests.length - before).toBe(1)
    const request = endpoint.requests.at(-1)!
    expect(request.params.get('token')).toBe(token)
    expect(request.params.get('token_type_hint')).toBe('access_token')
    expect(Buffer.from(request.authorization!.replace(/^Basic /, ''), 'base64').toString()).toBe(
      'mcp+pdp:p%40ss+word%3A%2B%2F',
    )
  })

  it('active: false refuses a JWT whose signature is fine', async () => {
    endpoint.mode = 'answer'
    endpoint.answer = { active: false }
    const v = verifier({ mode: 'always' })
    expect((await v.verify(await jwt(), aud)).reason?.code).toBe('ERR_IDENTITY_TOKEN_REVOKED')
    expect(v.outcomes).toEqual(['inactive'])
  })

  it('opaque-only (the default) never sends a JWT to the endpoint', async () => {
    answer()
    const before = endpoint.requests.length
    expect((await verifier().verify(await jwt(), aud)).authenticated).toBe(true)
    expect(endpoint.requests.length).toBe(before)
  })
})

describe('an introspection endpoint that fails: deny, unless the issuer falls back to local verification', () => {
  it.each<[Mode, string]>([
    ['error', 'HTTP 500'],
    ['garbage', 'not JSON'],
    ['no-active', 'boolean "active"'],
    ['array', 'not an object'],
    ['huge', 'more than 65536 bytes'],
  ])('%s → ERR_IDENTITY_INTROSPECTION_UNAVAILABLE (%s)', async (mode, says) => {
    endpoint.mode = mode
    const v = verifier({ mode: 'always' })
    const token = await jwt()
    const subject = await v.verify(token, aud)
    expect(subject.reason?.code).toBe('ERR_IDENTITY_INTROSPECTION_UNAVAILABLE')
    expect(subject.reason?.message).toContain(says)
    expect(subject.reason?.message).not.toContain(token)
    expect(v.outcomes).toEqual(['unavailable_denied'])
  })

  it('a hanging endpoint is given up after timeoutMs', async () => {
    endpoint.mode = 'hang'
    const started = Date.now()
    const subject = await verifier({ mode: 'always', timeoutMs: 200 }).verify(await jwt(), aud)
    expect(subject.reason?.code).toBe('ERR_IDENTITY_INTROSPECTION_UNAVAILABLE')
    expect(subject.reason?.message).toContain('timed out')
    expect(Date.now() - started).toBeLessThan(1_500)
  })

  it('fallback: local accepts a JWT on its own verification, counts it, and asks again after the TTL', async () => {
    endpoint.mode = 'error'
    const v = verifier({ mode: 'always', fallback: 'local', cacheTtlSeconds: 0 })
    const token = await jwt()
    expect((await v.verify(token, aud)).authenticated).toBe(true)
    answer()
    endpoint.answer = { active: false }
    expect((await v.verify(token, aud)).reason?.code).toBe('ERR_IDENTITY_TOKEN_REVOKED')
    expect(v.outcomes).toEqual(['unavailable_local', 'inactive'])
  })

  it('fallback: local cannot verify an opaque token: refused', async () => {
    endpoint.mode = 'error'
    const subject = await verifier({ fallback: 'local' }).verify(opaque, aud)
    expect(subject.reason?.code).toBe('ERR_IDENTITY_INTROSPECTION_UNAVAILABLE')
  })
})

describe('opaque tokens: the answer is checked like a token', () => {
  it('maps the answer into the subject, session_id from sid; the answer is reused, never past exp', async () => {
    const now = epochSeconds()
    answer({ sid: 'idp-session-9', jti: 'j-9', exp: now + 2, client_id: 'agent-app', roles: ['support'] })
    const v = verifier({ cacheTtlSeconds: 300 })
    const before = endpoint.requests.length
    const subject = await v.verify(opaque, aud, new Date(now * 1000))
    expect(subject).toMatchObject({
      authenticated: true,
      id: 'alice',
      issuer: iss,
      session_id: 'idp-session-9',
      client_id: 'agent-app',
      roles: ['support'],
      scopes: ['tools:call'],
      token: { jti: 'j-9', expires_at: now + 2 },
    })
    expect((await v.verify(opaque, aud, new Date(now * 1000 + 1000))).authenticated).toBe(true)
    expect(endpoint.requests.length - before).toBe(1)
    // Past exp: neither cache serves it; the endpoint is asked, and now says inactive.
    endpoint.answer = { active: false }
    const later = await v.verify(opaque, aud, new Date((now + 3) * 1000))
    expect(later.reason?.code).toBe('ERR_IDENTITY_TOKEN_REVOKED')
    expect(endpoint.requests.length - before).toBe(2)
  })

  it.each<[string, Record<string, unknown>, string]>([
    ['another issuer', { iss: 'https://evil.test' }, 'ERR_IDENTITY_ISSUER_UNKNOWN'],
    ['no aud', { aud: undefined }, 'ERR_IDENTITY_AUDIENCE_MISMATCH'],
    ['another aud', { aud: ['https://mcp.example.com/jira'] }, 'ERR_IDENTITY_AUDIENCE_MISMATCH'],
    ['no exp', { exp: undefined }, 'ERR_IDENTITY_CLAIMS_INVALID'],
    [
      'a lifetime beyond maxTokenLifetime',
      { iat: epochSeconds(), exp: epochSeconds() + 3 * 3600 },
      'ERR_IDENTITY_TOKEN_LIFETIME_EXCEEDED',
    ],
    [
      'exp in the past',
      { iat: epochSeconds() - 900, exp: epochSeconds() - 300 },
      'ERR_IDENTITY_TOKEN_EXPIRED',
    ],
    ['nbf in the future', { nbf: epochSeconds() + 600 }, 'ERR_IDENTITY_TOKEN_NOT_YET_VALID'],
    ['no sub', { sub: undefined }, 'ERR_IDENTITY_CLAIMS_INVALID'],
    ['sid not a string', { sid: 7 }, 'ERR_IDENTITY_CLAIMS_INVALID'],
    ['a refresh token', { token_type: 'refresh_token' }, 'ERR_IDENTITY_TYPE_INVALID'],
  ])('an answer with %s is refused', async (_name, claims, code) => {
    answer(claims)
    for (const [name, value] of Object.entries(claims)) if (value === undefined) delete endpoint.answer[name]
    expect((await verifier({ cacheTtlSeconds: 0 }).verify(opaque, aud)).reason?.code).toBe(code)
  })

  it('a string that is not a bearer token (RFC 6750 b64token) is never sent', async () => {
    answer()
    const before = endpoint.requests.length
    const subject = await verifier().verify('has spaces and "quotes"', aud)
    expect(subject.reason?.code).toBe('ERR_IDENTITY_TOKEN_MALFORMED')
    expect(endpoint.requests.length).toBe(before)
  })

  it('with two introspecting issuers, opaque tokens go only to opaqueTokenIssuer', async () => {
    const other = await startEndpoint()
    try {
      answer()
      const config = (named?: string): IdentityConfig => ({
        issuers: [
          {
            issuer: iss,
            jwks: { keys: [key.publicJwk] },
            introspection: { endpoint: endpoint.url, clientId: 'a', clientSecret: 's' },
          },
          {
            issuer: 'https://idp.other.test',
            jwks: { keys: [key.publicJwk] },
            introspection: { endpoint: other.url, clientId: 'b', clientSecret: 's' },
          },
        ],
        ...(named && { opaqueTokenIssuer: named }),
      })
      expect(() => new TokenVerifier(config())).toThrow(
        expect.objectContaining({
          code: 'ERR_IDENTITY_CONFIG_INVALID',
          message: expect.stringContaining('opaqueTokenIssuer'),
        }),
      )
      expect(() => new TokenVerifier(config('https://idp.unknown.test'))).toThrow(
        expect.objectContaining({ code: 'ERR_IDENTITY_CONFIG_INVALID' }),
      )
      const v = new TokenVerifier(config(iss))
      expect((await v.verify(opaque, aud)).authenticated).toBe(true)
      expect(other.requests).toEqual([])
    } finally {
      await other.close()
    }
  })
})

describe('introspection configuration', () => {
  it.each<[string, Partial<IntrospectionConfig>]>([
    ['an http endpoint off loopback', { endpoint: 'http://idp.example.com/introspect' }],
    ['an endpoint with credentials in it', { endpoint: 'https://user:pw@idp.example.com/introspect' }],
    ['both a secret and a key', { privateKeyJwt: { keyFile: '/nonexistent' } }],
    ['neither a secret nor a key', { clientSecret: undefined }],
    [
      'an unreadable key file',
      { clientSecret: undefined, privateKeyJwt: { keyFile: '/nonexistent/key.pem' } },
    ],
    ['a TTL beyond 300 s', { cacheTtlSeconds: 301 }],
    ['an unknown mode', { mode: 'sometimes' as 'always' }],
  ])('refuses %s', (_name, introspection) => {
    expect(() => verifier(introspection)).toThrow(
      expect.objectContaining({ code: 'ERR_IDENTITY_CONFIG_INVALID' }),
    )
  })
})
