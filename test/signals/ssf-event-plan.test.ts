import fc from 'fast-check'
import { createLocalJWKSet } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { McpPolicyError } from '../../src/errors.js'
import type { VerifiedSecurityEvent } from '../../src/signals/security-event-token.js'
import { verifySecurityEventToken } from '../../src/signals/security-event-token.js'
import { eventName, ssfEventPlan, ssfEventTypes } from '../../src/signals/ssf-event-revocations.js'
import { epochSeconds, type TestKey, testKey } from '../identity/test-keys.js'

// What a verified SET means for access (event type × subject format), and the SET parser's
// behaviour on anything at all: properties with fast-check, plus the table of mapped cases.

const idp = 'https://idp.example.com'
const other = 'https://idp.other.example'

function set(type: string, subject: unknown, event: Record<string, unknown> = {}): VerifiedSecurityEvent {
  return {
    issuer: 'https://ssf.example.com',
    jti: 'j',
    iat: 1_700_000_000,
    type,
    event,
    subject,
    occurredAt: 1_700_000_000,
  }
}

describe('ssfEventPlan: event type × subject format', () => {
  it.each([
    [
      'session-revoked, complex session + user',
      set(ssfEventTypes.sessionRevoked, {
        format: 'complex',
        session: { format: 'opaque', id: 's1' },
        user: { format: 'iss_sub', iss: idp, sub: 'alice' },
      }),
      [{ kind: 'session', issuer: idp, value: 's1' }],
    ],
    [
      'session-revoked, user only: every token issued up to the event',
      set(ssfEventTypes.sessionRevoked, { format: 'iss_sub', iss: idp, sub: 'alice' }),
      [{ kind: 'subject', issuer: idp, value: 'alice', issuedBefore: 1_700_000_001 }],
    ],
    [
      'account-disabled with a session: the session and the user',
      set(ssfEventTypes.accountDisabled, {
        format: 'complex',
        session: { format: 'opaque', id: 's2' },
        user: { format: 'iss_sub', iss: idp, sub: 'bob' },
      }),
      [
        { kind: 'session', issuer: idp, value: 's2' },
        { kind: 'subject', issuer: idp, value: 'bob', issuedBefore: 1_700_000_001 },
      ],
    ],
    [
      'credential-compromise, email (lower-cased)',
      set(ssfEventTypes.credentialCompromise, { format: 'email', email: 'Carol@Example.COM' }),
      [{ kind: 'email', issuer: idp, value: 'carol@example.com', issuedBefore: 1_700_000_001 }],
    ],
    [
      'token-claims-change, jwt_id',
      set(ssfEventTypes.tokenClaimsChange, { format: 'jwt_id', iss: idp, jti: 't-1' }),
      [{ kind: 'token', issuer: idp, value: 't-1' }],
    ],
    [
      'credential-change revoke, opaque user id',
      set(ssfEventTypes.credentialChange, { format: 'opaque', id: 'u-9' }, { change_type: 'revoke' }),
      [{ kind: 'subject', issuer: idp, value: 'u-9', issuedBefore: 1_700_000_001 }],
    ],
    [
      'account-purged, complex session without user: the session at every token issuer',
      set(ssfEventTypes.accountPurged, { format: 'complex', session: { format: 'opaque', id: 's3' } }),
      [
        { kind: 'session', issuer: idp, value: 's3' },
        { kind: 'session', issuer: other, value: 's3' },
      ],
    ],
  ])('%s', (name, verified, revocations) => {
    // The last case names no user, so its session is looked for at every token issuer.
    const tokenIssuers = name.includes('every token issuer') ? [idp, other] : [idp]
    expect(ssfEventPlan(verified, tokenIssuers)).toEqual({
      action: 'revoke',
      event: eventName(verified.type),
      revocations,
    })
  })

  it.each([
    [
      'an unknown type',
      set('https://example.com/event/x', { format: 'iss_sub', iss: idp, sub: 'a' }),
      'event_type_unknown',
    ],
    [
      'verification',
      set(ssfEventTypes.verification, { format: 'opaque', id: 'stream-1' }),
      'stream_management',
    ],
    [
      'credential created',
      set(
        ssfEventTypes.credentialChange,
        { format: 'iss_sub', iss: idp, sub: 'a' },
        { change_type: 'create' },
      ),
      'no_access_consequence',
    ],
    [
      'a foreign issuer',
      set(ssfEventTypes.sessionRevoked, { format: 'iss_sub', iss: other, sub: 'a' }),
      'subject_issuer_unknown',
    ],
    ['no subject', set(ssfEventTypes.sessionRevoked, undefined), 'subject_unsupported'],
    [
      'a phone number',
      set(ssfEventTypes.sessionRevoked, { format: 'phone_number', phone_number: '+1' }),
      'subject_unsupported',
    ],
    [
      'a device only',
      set(ssfEventTypes.sessionRevoked, { format: 'complex', device: { format: 'opaque', id: 'd' } }),
      'subject_unsupported',
    ],
  ])('ignores %s', (_name, verified, reason) => {
    expect(ssfEventPlan(verified, [idp])).toMatchObject({ action: 'ignore', reason })
  })

  it('property: any subject and type gives a plan, never a throw; revocations only for tokenIssuers, with values the subject named', () => {
    const types = fc.oneof(fc.constantFrom(...Object.values(ssfEventTypes)), fc.webUrl())
    const value = fc.oneof(fc.string(), fc.constantFrom(idp, other, 'alice', 's1'))
    const simple = fc.record(
      {
        format: fc.constantFrom('iss_sub', 'email', 'opaque', 'jwt_id', 'account', 'complex', 'x'),
        iss: value,
        sub: value,
        email: fc.oneof(value, fc.emailAddress()),
        id: value,
        jti: value,
      },
      { requiredKeys: ['format'] },
    )
    const subject = fc.oneof(
      fc.jsonValue(),
      simple,
      fc.record(
        {
          format: fc.constant('complex'),
          user: fc.oneof(simple, fc.jsonValue()),
          session: fc.oneof(simple, fc.jsonValue()),
        },
        { requiredKeys: ['format'] },
      ),
    )
    fc.assert(
      fc.property(types, subject, fc.dictionary(fc.string(), fc.jsonValue()), (type, sub, event) => {
        const plan = ssfEventPlan(set(type, sub, event), [idp])
        if (plan.action === 'ignore') return
        const named = JSON.stringify(sub)
        for (const revocation of plan.revocations) {
          expect(revocation.issuer).toBe(idp)
          expect(['subject', 'session', 'token', 'email']).toContain(revocation.kind)
          expect(revocation.value.length).toBeGreaterThan(0)
          expect(revocation.value.length).toBeLessThanOrEqual(512)
          // The value comes from the subject (an e-mail address lower-cased).
          expect(named.toLowerCase()).toContain(JSON.stringify(revocation.value).slice(1, -1).toLowerCase())
        }
      }),
      { numRuns: 2_000 },
    )
  })

  it('names only known event types; anything else is "unknown" (a closed set of metric labels)', () => {
    expect(eventName(ssfEventTypes.sessionRevoked)).toBe('caep:session-revoked')
    expect(eventName(ssfEventTypes.accountDisabled)).toBe('risc:account-disabled')
    fc.assert(
      fc.property(fc.string(), (type) => {
        const name = eventName(type)
        expect(name === 'unknown' || (Object.values(ssfEventTypes) as string[]).includes(type)).toBe(true)
      }),
    )
  })
})

describe('verifySecurityEventToken on arbitrary input', () => {
  let key: TestKey
  beforeAll(async () => {
    key = await testKey('ES256', 'fuzz')
  })

  it('property: anything that is not a valid SET is refused with an ERR_SSF_* code, never another throw', async () => {
    const keys = createLocalJWKSet({ keys: [key.publicJwk] })
    const segment = fc.oneof(
      fc.base64String().map((s) => s.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')),
      fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
      fc.constant(
        Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'secevent+jwt', kid: 'fuzz' })).toString('base64url'),
      ),
      fc.constant(''),
    )
    const token = fc.oneof(
      fc.string(),
      fc.tuple(segment, segment, segment).map((parts) => parts.join('.')),
      fc.tuple(segment, segment, segment, segment, segment).map((parts) => parts.join('.')),
    )
    await fc.assert(
      fc.asyncProperty(token, async (candidate) => {
        const error = await verifySecurityEventToken(candidate, {
          issuer: 'https://ssf.example.com',
          audience: ['https://pdp.example.com'],
          keys,
          algorithms: ['ES256'],
          maxBytes: 65_536,
          maxAgeSeconds: 86_400,
          skewSeconds: 60,
          now: epochSeconds() * 1000,
        }).then(
          () => undefined,
          (err: unknown) => err,
        )
        expect(error).toBeInstanceOf(McpPolicyError)
        expect((error as McpPolicyError).code).toMatch(/^ERR_SSF_/)
      }),
      { numRuns: 1_000 },
    )
  })
})
