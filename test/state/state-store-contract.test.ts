import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MemoryStateStore } from '../../src/state/memory-state-store.js'
import { RedisStateStore } from '../../src/state/redis-state-store.js'
import type { StateChange, StateStore } from '../../src/state/state-store.js'
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js'

// The same contract, run against every backend. "Two handles" are what two workers or two
// replicas hold: for memory one store (a process has one), for Redis two stores with their own
// connections to the same real redis-server.
interface Backend {
  name: string
  open: () => Promise<[StateStore, StateStore]>
}

let redis: TestRedis
let prefixCount = 0

const backends: Backend[] = [
  {
    name: 'memory',
    open: async () => {
      const store = new MemoryStateStore()
      return [store, store]
    },
  },
  {
    name: 'redis',
    open: async () => {
      const keyPrefix = `contract-${prefixCount++}:`
      const a = new RedisStateStore({ url: redis.url, keyPrefix })
      const b = new RedisStateStore({ url: redis.url, keyPrefix })
      await Promise.all([a.start(), b.start()])
      return [a, b]
    },
  },
]

beforeAll(async () => {
  redis = await startTestRedis()
}, 30_000)

afterAll(async () => {
  await redis?.stop()
})

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Resolves with the first change `store` reports for `namespace` after the call. */
function nextChange(store: StateStore, namespace: string): Promise<StateChange> {
  return new Promise((resolve) => {
    const stop = store.watch(namespace, (change) => {
      stop()
      resolve(change)
    })
  })
}

describe.each(backends)('StateStore contract: $name', (backend) => {
  let a: StateStore
  let b: StateStore
  beforeAll(async () => {
    ;[a, b] = await backend.open()
  })
  afterAll(async () => {
    await a.close()
    if (b !== a) await b.close()
  })

  it('is available once started', () => {
    expect(a.available).toBe(true)
    expect(b.available).toBe(true)
  })

  it('set, get and delete; a value read back is frozen', async () => {
    const before = Date.now()
    await a.set('revocation', 'subject:alice', { at: 1, event: 'test', nested: [1, { x: 'y' }] }, 60_000)
    const read = await b.get('revocation', 'subject:alice')
    expect(read?.value).toEqual({ at: 1, event: 'test', nested: [1, { x: 'y' }] })
    expect(read?.expiresAt).toBeGreaterThanOrEqual(before + 60_000)
    expect(read?.expiresAt).toBeLessThanOrEqual(Date.now() + 60_000)
    expect(Object.isFrozen(read?.value)).toBe(true)
    expect(Object.isFrozen((read!.value as { nested: unknown[] }).nested[1])).toBe(true)
    expect(await b.delete('revocation', 'subject:alice')).toBe(true)
    expect(await a.get('revocation', 'subject:alice')).toBeUndefined()
    expect(await a.delete('revocation', 'subject:alice')).toBe(false)
  })

  it('an entry is gone after its TTL, for get and for scan', async () => {
    await a.set('ttl-test', 'short', 'x', 60)
    await a.set('ttl-test', 'long', 'y', 60_000)
    expect((await b.get('ttl-test', 'short'))?.value).toBe('x')
    await sleep(120)
    expect(await b.get('ttl-test', 'short')).toBeUndefined()
    expect((await b.scan('ttl-test')).map((e) => e.key)).toEqual(['long'])
  })

  it('setIfAbsent has exactly one winner among concurrent writers, and a winner again after expiry', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).setIfAbsent('jti', 'set-1', { i }, 150)),
    )
    expect(attempts.filter(Boolean)).toHaveLength(1)
    expect(await a.setIfAbsent('jti', 'set-1', 'again', 150)).toBe(false)
    await sleep(250)
    expect(await b.setIfAbsent('jti', 'set-1', 'after expiry', 60_000)).toBe(true)
  })

  it("every handle's watchers learn of a set and a delete; other namespaces are not reported", async () => {
    const seen: StateChange[] = []
    const stop = b.watch('watched', (change) => seen.push(change))
    const unrelated: StateChange[] = []
    const stopUnrelated = b.watch('unwatched', (change) => unrelated.push(change))
    const set = nextChange(b, 'watched')
    await a.set('watched', 'k1', { v: 1 }, 60_000)
    expect(await set).toMatchObject({ op: 'set', namespace: 'watched', key: 'k1', value: { v: 1 } })
    const removed = nextChange(b, 'watched')
    await a.delete('watched', 'k1')
    expect(await removed).toEqual({ op: 'delete', namespace: 'watched', key: 'k1' })
    stop()
    stopUnrelated()
    expect(seen.map((c) => c.op)).toEqual(['set', 'delete'])
    expect(unrelated).toEqual([])
  })

  it('a watcher that throws does not stop the write or the other watchers', async () => {
    const stopBad = b.watch('throwing', () => {
      throw new Error('watcher bug')
    })
    const good = nextChange(b, 'throwing')
    await a.set('throwing', 'k', 1, 60_000)
    expect((await good).key).toBe('k')
    stopBad()
  })

  it('scan lists the live entries of one namespace (the load of a starting reader)', async () => {
    for (let i = 0; i < 30; i++) await a.set('scan-test', `key:${i}`, { i }, 60_000)
    await a.set('scan-other', 'key:0', 'not mine', 60_000)
    const entries = await b.scan('scan-test')
    expect(entries.map((e) => e.key).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `key:${i}`).sort())
    expect(entries.find((e) => e.key === 'key:7')?.value).toEqual({ i: 7 })
  })

  it('refuses malformed namespaces, keys, values and TTLs with ERR_STATE_ENTRY_INVALID', async () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    const bad: (() => Promise<unknown>)[] = [
      () => a.set('Bad_Namespace', 'k', 1, 1000),
      () => a.set('', 'k', 1, 1000),
      () => a.set('ns', '', 1, 1000),
      () => a.set('ns', 'x'.repeat(1025), 1, 1000),
      () => a.set('ns', 'lone \ud800 surrogate', 1, 1000),
      () => a.set('ns', 'k', 10n, 1000),
      () => a.set('ns', 'k', cyclic, 1000),
      () => a.set('ns', 'k', undefined, 1000),
      () => a.set('ns', 'k', 'x'.repeat(70_000), 1000),
      () => a.set('ns', 'k', 1, 0),
      () => a.set('ns', 'k', 1, Number.NaN),
      () => a.set('ns', 'k', 1, 400 * 86_400_000),
      () => a.setIfAbsent('ns', '', 1, 1000),
      () => a.get('ns:x', 'k'),
      () => a.scan('NS'),
    ]
    for (const call of bad) await expect(call()).rejects.toMatchObject({ code: 'ERR_STATE_ENTRY_INVALID' })
    expect(() => a.watch('Not Valid', () => {})).toThrow(
      expect.objectContaining({ code: 'ERR_STATE_ENTRY_INVALID' }),
    )
  })

  it('any JSON value under any well-formed key reads back equal (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ minLength: 1, maxLength: 64, unit: 'grapheme' }),
        fc.jsonValue({ maxDepth: 4 }),
        async (key, value) => {
          await a.set('property', key, value, 60_000)
          const read = await b.get('property', key)
          // JSON has no -0: it reads back as 0, like every JSON store.
          expect(read?.value).toEqual(JSON.parse(JSON.stringify(value)))
        },
      ),
      { numRuns: 150 },
    )
  })
})
