import { afterEach, describe, expect, it } from 'vitest'
import { openStateStore } from '../../src/state/open-state-store.js'
import { RedisStateStore } from '../../src/state/redis-state-store.js'
import type { StateStore } from '../../src/state/state-store.js'
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until(condition: () => boolean, timeoutMs: number): Promise<number> {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`)
    await sleep(10)
  }
  return Date.now() - started
}

describe('Redis state store: outages, recovery and startup load (real redis-server)', () => {
  const cleanup: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step()
  })
  const track = <T extends StateStore | TestRedis>(thing: T): T => {
    cleanup.push(async () => ('kill' in thing ? thing.stop() : thing.close()))
    return thing
  }

  it('Redis killed mid-run: operations fail fast with ERR_STATE_UNAVAILABLE, watchers are told, and all recovers when it returns', async () => {
    const redis = track(await startTestRedis())
    const writer = track(new RedisStateStore({ url: redis.url, commandTimeoutMs: 300 }))
    const reader = track(new RedisStateStore({ url: redis.url, commandTimeoutMs: 300 }))
    await Promise.all([writer.start(), reader.start()])
    expect(reader.available).toBe(true)
    const transitions: boolean[] = []
    reader.onAvailability((available) => transitions.push(available))

    await redis.kill()
    await until(() => !reader.available && !writer.available, 2_000)
    const started = Date.now()
    await expect(writer.set('revocation', 'k', 1, 60_000)).rejects.toMatchObject({
      code: 'ERR_STATE_UNAVAILABLE',
    })
    await expect(reader.get('revocation', 'k')).rejects.toMatchObject({ code: 'ERR_STATE_UNAVAILABLE' })
    await expect(reader.scan('revocation')).rejects.toMatchObject({ code: 'ERR_STATE_UNAVAILABLE' })
    await expect(writer.setIfAbsent('jti', 'j', 1, 60_000)).rejects.toMatchObject({
      code: 'ERR_STATE_UNAVAILABLE',
    })
    // No offline queue: a decision never waits for a Redis that is gone.
    expect(Date.now() - started).toBeLessThan(1_000)

    await redis.restart()
    const recoveredIn = await until(() => reader.available && writer.available, 5_000)
    expect(recoveredIn).toBeLessThan(5_000)
    expect(transitions).toEqual([false, true])
    // The subscription is back too: a write after recovery reaches the other store's watchers.
    const heard = new Promise((resolve) => reader.watch('revocation', resolve))
    await writer.set('revocation', 'after', { ok: true }, 60_000)
    expect(await heard).toMatchObject({ op: 'set', key: 'after', value: { ok: true } })
  })

  it('a Redis that stops answering with its connections open (hung, partitioned) is noticed by the heartbeat; its data is there when it answers again', async () => {
    const redis = track(await startTestRedis())
    const writer = track(new RedisStateStore({ url: redis.url, commandTimeoutMs: 300, heartbeatMs: 200 }))
    const reader = track(new RedisStateStore({ url: redis.url, commandTimeoutMs: 300, heartbeatMs: 200 }))
    await Promise.all([writer.start(), reader.start()])
    await writer.set('revocation', 'before', 1, 60_000)
    redis.pause()
    try {
      const noticedIn = await until(() => !reader.available, 3_000)
      expect(noticedIn).toBeLessThan(3_000)
      await expect(writer.set('revocation', 'during', 1, 60_000)).rejects.toMatchObject({
        code: 'ERR_STATE_UNAVAILABLE',
      })
    } finally {
      redis.resume()
    }
    await until(() => reader.available && writer.available, 5_000)
    expect((await reader.get('revocation', 'before'))?.value).toBe(1)
  })

  it('a store started while Redis is down starts unavailable (without hanging) and becomes available when Redis comes up', async () => {
    const redis = track(await startTestRedis())
    await redis.kill()
    const store = track(new RedisStateStore({ url: redis.url, connectTimeoutMs: 500 }))
    const started = Date.now()
    await store.start()
    expect(Date.now() - started).toBeLessThan(2_000)
    expect(store.available).toBe(false)
    await redis.restart()
    await until(() => store.available, 5_000)
    await store.set('revocation', 'k', 1, 60_000)
    expect((await store.get('revocation', 'k'))?.value).toBe(1)
  })

  it('a store opened later loads what was written before it (a restarted worker sees past revocations)', async () => {
    const redis = track(await startTestRedis())
    const first = await openStateStore({ backend: 'redis', redis: { url: redis.url, keyPrefix: 'load:' } })
    for (let i = 0; i < 2_500; i++) await first.set('revocation', `session:${i}`, { i }, 60_000)
    await first.close()
    const restarted = track(
      await openStateStore({ backend: 'redis', redis: { url: redis.url, keyPrefix: 'load:' } }),
    )
    const entries = await restarted.scan('revocation')
    expect(entries).toHaveLength(2_500)
    expect(new Set(entries.map((e) => e.key)).size).toBe(2_500)
    // Another deployment's prefix on the same Redis sees none of them.
    const other = track(
      await openStateStore({ backend: 'redis', redis: { url: redis.url, keyPrefix: 'other:' } }),
    )
    expect(await other.scan('revocation')).toEqual([])
  })

  it('refuses a configuration that is not Redis, or a key prefix with glob characters', async () => {
    expect(() => new RedisStateStore({ url: 'http://127.0.0.1:6379' })).toThrow(
      expect.objectContaining({ code: 'ERR_STATE_CONFIG_INVALID' }),
    )
    expect(() => new RedisStateStore({ url: 'not a url' })).toThrow(
      expect.objectContaining({ code: 'ERR_STATE_CONFIG_INVALID' }),
    )
    expect(() => new RedisStateStore({ url: 'redis://127.0.0.1:1', keyPrefix: 'a*' })).toThrow(
      expect.objectContaining({ code: 'ERR_STATE_CONFIG_INVALID' }),
    )
    await expect(openStateStore({ backend: 'redis' })).rejects.toMatchObject({
      code: 'ERR_STATE_CONFIG_INVALID',
    })
    await expect(openStateStore({ backend: 'disk' as 'memory' })).rejects.toMatchObject({
      code: 'ERR_STATE_CONFIG_INVALID',
    })
  })

  it('a message on the change channel that is not a change is ignored', async () => {
    const redis = track(await startTestRedis())
    const store = track(new RedisStateStore({ url: redis.url, keyPrefix: 'noise:' }))
    await store.start()
    const seen: unknown[] = []
    store.watch('revocation', (change) => seen.push(change))
    const { Redis } = await import('ioredis')
    const raw = new Redis(redis.url)
    cleanup.push(async () => {
      raw.disconnect()
    })
    for (const junk of ['not json', '{}', '{"op":"set","namespace":"revocation","key":"k"}', '[1,2]', 'null'])
      await raw.publish('noise:changes', junk)
    await raw.publish(
      'noise:changes',
      JSON.stringify({
        op: 'set',
        namespace: 'revocation',
        key: 'ok',
        json: '{"valid":true}',
        expiresAt: Date.now() + 1000,
      }),
    )
    await until(() => seen.length > 0, 2_000)
    expect(seen).toEqual([expect.objectContaining({ key: 'ok', value: { valid: true } })])
  })
})
