import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'
import { describe, expect, it } from 'vitest'
import { BoundedEventStore } from '../../src/gateway/bounded-event-store.js'

const note = (n: number): JSONRPCMessage => ({
  jsonrpc: '2.0',
  method: 'notifications/progress',
  params: { progressToken: 1, progress: n },
})

async function replay(store: BoundedEventStore, after: string) {
  const sent: [string, JSONRPCMessage][] = []
  const stream = await store.replayEventsAfter(after, {
    send: async (id, message) => void sent.push([id, message]),
  })
  return { stream, sent }
}

describe('BoundedEventStore (Last-Event-ID resumption)', () => {
  it('replays the events of the same stream after the given one, in order', async () => {
    const store = new BoundedEventStore()
    const a1 = await store.storeEvent('a', note(1))
    await store.storeEvent('b', note(100))
    const a2 = await store.storeEvent('a', note(2))
    const a3 = await store.storeEvent('a', note(3))
    const { stream, sent } = await replay(store, a1)
    expect(stream).toBe('a')
    expect(sent).toEqual([
      [a2, note(2)],
      [a3, note(3)],
    ])
    expect(await store.getStreamIdForEventId(a2)).toBe('a')
  })

  it('keeps at most maxEvents: an evicted id resumes nothing, a kept one what is left', async () => {
    const store = new BoundedEventStore({ maxEvents: 3 })
    const ids: string[] = []
    for (let i = 0; i < 6; i++) ids.push(await store.storeEvent('s', note(i)))
    expect((await replay(store, ids[1]!)).stream).toBe('')
    const { sent } = await replay(store, ids[3]!)
    expect(sent.map(([id]) => id)).toEqual([ids[4], ids[5]])
  })

  it('keeps at most maxBytes, and always the newest event', async () => {
    const store = new BoundedEventStore({ maxBytes: 200 })
    const ids: string[] = []
    for (let i = 0; i < 50; i++) ids.push(await store.storeEvent('s', note(i)))
    expect((await replay(store, ids[0]!)).stream).toBe('')
    const big = await store.storeEvent('s', {
      jsonrpc: '2.0',
      method: 'x',
      params: { pad: 'x'.repeat(1000) },
    })
    expect(await store.getStreamIdForEventId(big)).toBe('s')
  })

  it('never replays a priming event (no message) and resumes from it', async () => {
    const store = new BoundedEventStore()
    const priming = await store.storeEvent('s', undefined as unknown as JSONRPCMessage)
    const next = await store.storeEvent('s', note(1))
    expect((await replay(store, priming)).sent).toEqual([[next, note(1)]])
  })
})
