import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { TokenVerifier } from '../../src/identity/token-verifier.js'
import { epochSeconds, signToken, type TestKey, testKey } from './test-keys.js'

const iss = 'https://idp.leak.test'
const aud = 'https://mcp.example.com/github'

/** The raw token, or its signature (the part that makes it a credential), anywhere in the subject. */
function leaks(subject: unknown, token: string): boolean {
  const json = JSON.stringify(subject)
  const signature = token.slice(token.lastIndexOf('.') + 1)
  return json.includes(token) || (signature.length > 0 && json.includes(signature))
}

describe('the raw token never reaches the subject', () => {
  let key: TestKey
  let verifier: TokenVerifier
  beforeAll(async () => {
    key = await testKey('ES256', 'leak-1')
    verifier = new TokenVerifier({
      issuers: [{ issuer: iss, jwks: { keys: [key.publicJwk] }, claims: { roles: ['realm_access.roles'] } }],
    })
  })

  const claimSets = fc.record(
    {
      extra: fc.dictionary(
        // Random names, minus the claims verification judges: those are the forged-token suite's job.
        fc
          .string({ minLength: 1, maxLength: 12 })
          .filter(
            (name) => !['iss', 'aud', 'exp', 'nbf', 'iat', 'sub', 'act', 'azp', 'client_id'].includes(name),
          ),
        fc.jsonValue({ maxDepth: 3 }),
        { maxKeys: 8 },
      ),
      sub: fc.string({ minLength: 1, maxLength: 40 }),
      groups: fc.array(fc.string(), { maxLength: 5 }),
      scope: fc.string(),
      act: fc.option(fc.record({ sub: fc.string(), client_id: fc.string() }), { nil: undefined }),
    },
    { requiredKeys: ['extra', 'sub'] },
  )

  it('for verified tokens with random claims (property)', async () => {
    await fc.assert(
      fc.asyncProperty(claimSets, async ({ extra, ...named }) => {
        const now = epochSeconds()
        const token = await signToken(key, { ...extra, ...named, iss, aud, iat: now, exp: now + 300 })
        const subject = await verifier.verify(token, aud)
        expect(subject.authenticated, JSON.stringify(subject.reason)).toBe(true)
        expect(leaks(subject, token)).toBe(false)
        // Verified again from the cache: still no token.
        expect(leaks(await verifier.verify(token, aud), token)).toBe(false)
      }),
      { numRuns: 150 },
    )
  })

  it('for rejected tokens: tampered, wrong audience, or random base64url segments (property)', async () => {
    const now = epochSeconds()
    const genuine = await signToken(key, { iss, sub: 'alice', aud, iat: now, exp: now + 300 })
    const segment = fc.stringMatching(/^[A-Za-z0-9_-]{16,200}$/)
    const tokens = fc.oneof(
      fc.tuple(segment, segment, segment).map((parts) => parts.join('.')),
      // Not the last character: its low bits are base64url padding, so some flips of it decode
      // to the same signature and the token stays genuine.
      fc.nat({ max: genuine.length - 2 }).map((at) => {
        const flipped = genuine[at] === 'A' ? 'B' : 'A'
        return genuine.slice(0, at) + flipped + genuine.slice(at + 1)
      }),
    )
    await fc.assert(
      fc.asyncProperty(tokens, async (token) => {
        for (const audience of [aud, 'https://mcp.example.com/other']) {
          const subject = await verifier.verify(token, audience)
          if (token !== genuine || audience !== aud) expect(subject.authenticated).toBe(false)
          expect(leaks(subject, token)).toBe(false)
        }
      }),
      { numRuns: 200 },
    )
  })
})
