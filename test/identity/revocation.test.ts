import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { IdentityConfig } from '../../src/identity/identity-config.js'
import type { IdentityEvents } from '../../src/identity/identity-events.js'
import { RevocationList } from '../../src/identity/revocation-list.js'
import { TokenVerifier } from '../../src/identity/token-verifier.js'
import { MemoryStateStore } from '../../src/state/memory-state-store.js'
import { RedisStateStore } from '../../src/state/redis-state-store.js'
import type { StateStore } from '../../src/state/state-store.js'
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js'
import { epochSeconds, signToken, type TestKey, testKey } from './test-keys.js'

const iss = 'https://idp.revocation.test'
const lenient = 'https://idp.lenient.test'
const aud = 'https://mcp.example.com/github'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until(condition: () => boolean, timeoutMs: number): Promise<number> {
  const started = performance.now()
  while (!condition()) {
    if (performance.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`)
    await sleep(1)
  }
  return performance.now() - started
}

let key: TestKey
let redis: TestRedis

beforeAll(async () => {
  key = await testKey('ES256', 'rev-1')
  redis = await startTestRedis()
}, 30_000)

afterAll(async () => {
  await redis?.stop()
})

const identity = (): IdentityConfig => ({
  issuers: [
    { issuer: iss, jwks: { keys: [key.publicJwk] }, maxTokenLifetime: '1h' },
    { issuer: lenient, jwks: { keys: [key.publicJwk] }, revocation: 'optional' },
  ],
})

const token = (claims: Record<string, unknown> = {}, issuer = iss) => {
  const now = epochSeconds()
  return signToken(key, { iss: issuer, sub: 'alice', aud, iat: now - 5, exp: now + 600, ...claims })
}

/** A verifier as a PDP worker has it: a revocation list on `store`, events recorded. */
async function worker(store: StateStore) {
  const revocations = new RevocationList(store, {
    maxTokenLifetime: (i) => (i === iss ? 3600 : i === lenient ? 7200 : undefined),
  })
  await revocations.start()
  const events: string[] = []
  const recorder: IdentityEvents = {
    revocationUnavailable: (issuer, action) => events.push(`unavailable:${issuer}:${action}`),
    revoked: (issuer, kind) => events.push(`revoked:${issuer}:${kind}`),
  }
  return { revocations, events, verifier: new TokenVerifier(identity(), { revocations, events: recorder }) }
}

describe.each([
  { backend: 'memory', open: async () => new MemoryStateStore() as StateStore },
  {
    backend: 'redis',
    open: async () => {
      const store = new RedisStateStore({
        url: redis.url,
        keyPrefix: `rev-${Math.random().toString(36).slice(2)}:`,
      })
      await store.start()
      return store as StateStore
    },
  },
])('revocations checked by the verifier ($backend store)', ({ open }) => {
  let store: StateStore
  beforeAll(async () => {
    store = await open()
  })
  afterAll(() => store.close())

  it('a cached verification does not outlive a revocation of its session; other sessions go on', async () => {
    const { verifier, revocations, events } = await worker(store)
    const mine = await token({ sid: 'sess-1', jti: 'j-1' })
    const other = await token({ sid: 'sess-2', jti: 'j-2' })
    const first = await verifier.verify(mine, aud)
    expect(first).toMatchObject({ authenticated: true, session_id: 'sess-1', token: { jti: 'j-1' } })
    expect(verifier.cached(mine, aud)?.authenticated).toBe(true)
    await revocations.revoke({
      kind: 'session',
      issuer: iss,
      value: 'sess-1',
      event: 'oidc:backchannel-logout',
    })
    // Both paths a caller takes: the cheap probe and the full verification.
    const probed = verifier.cached(mine, aud)
    expect(probed?.reason?.code).toBe('ERR_IDENTITY_TOKEN_REVOKED')
    expect(probed?.reason?.message).toContain('session (sid)')
    expect(probed?.reason?.message).toContain('oidc:backchannel-logout')
    expect((await verifier.verify(mine, aud)).reason?.code).toBe('ERR_IDENTITY_TOKEN_REVOKED')
    expect((await verifier.verify(other, aud)).authenticated).toBe(true)
    expect(events.filter((e) => e.startsWith('revoked:'))).toEqual([
      `revoked:${iss}:session`,
      `revoked:${iss}:session`,
    ])
  })

  it('a subject revocation cuts the tokens issued before it; a fresh sign-in after it works', async () => {
    const { verifier, revocations } = await worker(store)
    const old = await token({ sub: 'bob', iat: epochSeconds() - 60 })
    expect((await verifier.verify(old, aud)).authenticated).toBe(true)
    const revoked = await revocations.revoke({
      kind: 'subject',
      issuer: iss,
      value: 'bob',
      event: 'caep:credential-change',
    })
    expect(revoked.issuedBefore).toBe(Math.floor(revoked.at / 1000) + 1)
    expect((await verifier.verify(old, aud)).reason?.code).toBe('ERR_IDENTITY_TOKEN_REVOKED')
    const fresh = await token({ sub: 'bob', iat: revoked.issuedBefore })
    expect((await verifier.verify(fresh, aud)).authenticated).toBe(true)
    // The same subject at another issuer is another subject.
    const elsewhere = await token({ sub: 'bob', iat: epochSeconds() - 60 }, lenient)
    expect((await verifier.verify(elsewhere, aud)).authenticated).toBe(true)
  })

  it('a token revocation (jti) cuts that token only', async () => {
    const { verifier, revocations } = await worker(store)
    const one = await token({ sub: 'carol', jti: 'jti-one' })
    const two = await token({ sub: 'carol', jti: 'jti-two' })
    await revocations.revoke({ kind: 'token', issuer: iss, value: 'jti-one', event: 'admin' })
    expect((await verifier.verify(one, aud)).reason?.code).toBe('ERR_IDENTITY_TOKEN_REVOKED')
    expect((await verifier.verify(two, aud)).authenticated).toBe(true)
  })

  it('a second revocation of a value never narrows the first', async () => {
    const { verifier, revocations } = await worker(store)
    const t = await token({ sub: 'dave', iat: epochSeconds() - 30 })
    await revocations.revoke({ kind: 'subject', issuer: iss, value: 'dave', event: 'first' })
    const second = await revocations.revoke({
      kind: 'subject',
      issuer: iss,
      value: 'dave',
      issuedBefore: epochSeconds() - 3_000,
      event: 'older event delivered late',
    })
    expect(second.event).toBe('first')
    expect((await verifier.verify(t, aud)).reason?.code).toBe('ERR_IDENTITY_TOKEN_REVOKED')
    // A process that starts now loads the same (widest) revocation.
    const { verifier: restarted } = await worker(store)
    expect((await restarted.verify(t, aud)).reason?.code).toBe('ERR_IDENTITY_TOKEN_REVOKED')
  })

  it('refuses revocations for an issuer that is not configured, and empty values', async () => {
    const { revocations } = await worker(store)
    await expect(
      revocations.revoke({ kind: 'subject', issuer: 'https://stranger.test', value: 'x', event: 'e' }),
    ).rejects.toMatchObject({ code: 'ERR_IDENTITY_ISSUER_UNKNOWN' })
    await expect(
      revocations.revoke({ kind: 'session', issuer: iss, value: '', event: 'e' }),
    ).rejects.toMatchObject({
      code: 'ERR_STATE_ENTRY_INVALID',
    })
  })
})

describe('revocations shared through one Redis (two replicas), across restarts and outages', () => {
  it('a revocation accepted by one replica is enforced by the other within milliseconds', async () => {
    const stores = [0, 1].map(() => new RedisStateStore({ url: redis.url, keyPrefix: 'replicas:' }))
    await Promise.all(stores.map((s) => s.start()))
    try {
      const [a, b] = await Promise.all(stores.map((s) => worker(s)))
      const latencies: number[] = []
      for (let i = 0; i < 50; i++) {
        const t = await token({ sid: `replica-session-${i}` })
        expect((await b!.verifier.verify(t, aud)).authenticated).toBe(true)
        const started = performance.now()
        await a!.revocations.revoke({
          kind: 'session',
          issuer: iss,
          value: `replica-session-${i}`,
          event: 'test',
        })
        await until(() => b!.verifier.cached(t, aud)?.reason?.code === 'ERR_IDENTITY_TOKEN_REVOKED', 1_000)
        latencies.push(performance.now() - started)
      }
      latencies.sort((x, y) => x - y)
      // Typically a millisecond or two; the bound is the goal, not the expectation.
      expect(latencies[latencies.length - 1]).toBeLessThan(1_000)
    } finally {
      await Promise.all(stores.map((s) => s.close()))
    }
  })

  it('a replica started later loads past revocations before its first check', async () => {
    const first = new RedisStateStore({ url: redis.url, keyPrefix: 'restart:' })
    await first.start()
    const { revocations } = await worker(first)
    await revocations.revoke({ kind: 'session', issuer: iss, value: 'gone', event: 'logout' })
    await first.close()
    const later = new RedisStateStore({ url: redis.url, keyPrefix: 'restart:' })
    await later.start()
    try {
      const { verifier } = await worker(later)
      expect((await verifier.verify(await token({ sid: 'gone' }), aud)).reason?.code).toBe(
        'ERR_IDENTITY_TOKEN_REVOKED',
      )
    } finally {
      await later.close()
    }
  })

  it('Redis killed mid-run: revocation: required denies (cached subjects too), optional verifies locally and says so; both counted; recovery restores checks', async () => {
    const own = await startTestRedis()
    const store = new RedisStateStore({ url: own.url, commandTimeoutMs: 300, heartbeatMs: 200 })
    await store.start()
    try {
      const { verifier, revocations, events } = await worker(store)
      const strict = await token({ sid: 's-strict' })
      const relaxed = await token({ sid: 's-relaxed' }, lenient)
      expect((await verifier.verify(strict, aud)).authenticated).toBe(true)
      expect((await verifier.verify(relaxed, aud)).authenticated).toBe(true)

      await own.kill()
      await until(() => !revocations.available, 3_000)
      const denied = verifier.cached(strict, aud)
      expect(denied?.reason?.code).toBe('ERR_IDENTITY_REVOCATION_UNAVAILABLE')
      expect((await verifier.verify(strict, aud)).reason?.code).toBe('ERR_IDENTITY_REVOCATION_UNAVAILABLE')
      const unchecked = await verifier.verify(relaxed, aud)
      expect(unchecked).toMatchObject({ authenticated: true, token: { revocation: 'unchecked' } })
      expect(Object.isFrozen(unchecked.token)).toBe(true)
      expect(events).toEqual(
        expect.arrayContaining([`unavailable:${iss}:denied`, `unavailable:${lenient}:verified_locally`]),
      )

      await own.restart()
      await until(() => revocations.available, 5_000)
      expect((await verifier.verify(strict, aud)).authenticated).toBe(true)
      const relaxedAgain = await verifier.verify(relaxed, aud)
      expect(relaxedAgain.authenticated).toBe(true)
      expect(relaxedAgain.token?.revocation).toBeUndefined()
      // And the feed works again: a revocation after recovery is enforced.
      await revocations.revoke({ kind: 'session', issuer: iss, value: 's-strict', event: 'after recovery' })
      expect((await verifier.verify(strict, aud)).reason?.code).toBe('ERR_IDENTITY_TOKEN_REVOKED')
    } finally {
      await store.close()
      await own.stop()
    }
  })

  it('a revocation published while a replica was disconnected is loaded when it reconnects (the notice itself was lost)', async () => {
    const own = await startTestRedis()
    const writerStore = new RedisStateStore({ url: own.url, heartbeatMs: 200, commandTimeoutMs: 300 })
    const readerStore = new RedisStateStore({ url: own.url, heartbeatMs: 200, commandTimeoutMs: 300 })
    await Promise.all([writerStore.start(), readerStore.start()])
    const { Redis } = await import('ioredis')
    const admin = new Redis(own.url)
    try {
      const writer = await worker(writerStore)
      const reader = await worker(readerStore)
      const t = await token({ sid: 'missed' })
      expect((await reader.verifier.verify(t, aud)).authenticated).toBe(true)
      // The server drops the subscriptions (the reader's only): the reader reconnects after its
      // backoff (100 ms at first), and a notice published before then reaches nobody.
      await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
      await until(() => !reader.revocations.available, 2_000)
      await writer.revocations.revoke({
        kind: 'session',
        issuer: iss,
        value: 'missed',
        event: 'while cut off',
      })
      expect((await reader.verifier.verify(t, aud)).reason?.code).toBe('ERR_IDENTITY_REVOCATION_UNAVAILABLE')
      await until(() => reader.revocations.available, 5_000)
      expect((await reader.verifier.verify(t, aud)).reason?.code).toBe('ERR_IDENTITY_TOKEN_REVOKED')
    } finally {
      admin.disconnect()
      await Promise.all([writerStore.close(), readerStore.close()])
      await own.stop()
    }
  })
})
