import { appendFile, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { eventHash } from '../../src/audit/event-hash.js'
import { readShipCursor } from '../../src/audit/ship-cursor.js'
import { DecisionLog, type DecisionRecord, LogShipper, type McpPolicyError } from '../../src/index.js'
import { startLogCollector, unusedPort } from '../helpers/log-collector.js'

const bundles = { default: { revision: 'r1', digest: `sha256:${'a'.repeat(64)}` } }
const record = (i: number): DecisionRecord => ({
  path: 'mcp/decision',
  input: {
    mcp: { method: 'tools/call', tool: { name: `tool_${i % 5}`, arguments: { i } } },
    subject: { id: 'u' },
  },
  result: { allow: i % 3 !== 0, status: 200, reasons: [], obligations: {} },
  bundles,
})
// Fast retries: the tests wait for outcomes (bounded), never assert on durations.
const quick = { minRetryDelayMs: 5, maxRetryDelayMs: 40, pollIntervalMs: 10 }

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 3000 && !condition(); i++) await new Promise((r) => setTimeout(r, 10))
  if (!condition()) throw new Error(`timed out waiting for ${what}`)
}

async function appendMany(log: DecisionLog, from: number, count: number) {
  for (let i = from; i < from + count; i += 10)
    await Promise.all(
      Array.from({ length: Math.min(10, from + count - i) }, (_, j) => log.append(record(i + j))),
    )
}

async function writtenEvents(dir: string): Promise<Record<string, unknown>[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.jsonl')).sort()
  const lines = (await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')))).join('').split('\n')
  return lines.filter(Boolean).map((l) => JSON.parse(l))
}

describe('LogShipper: OPA decision-log upload to a real collector, nothing lost', () => {
  it('collector down (connection refused), then 500s, then a lost response: every event arrives, duplicates only from the lost response', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-ship-'))
    const log = await DecisionLog.open({ dir, rotateBytes: 8 * 1024 })
    await appendMany(log, 0, 120)
    const port = await unusedPort()
    const errors: McpPolicyError[] = []
    const shipper = await LogShipper.start({
      dir,
      url: `http://127.0.0.1:${port}`,
      token: 's3cret',
      maxBatchEvents: 25,
      onError: (e) => errors.push(e),
      ...quick,
    })
    await until(() => errors.length >= 3, 'three refused uploads')
    expect(errors.every((e) => e.code === 'ERR_LOG_SHIP_FAILED' && /ECONNREFUSED/.test(e.message))).toBe(true)
    expect(shipper.stats.shippedEvents).toBe(0)

    // The collector comes up: three 500s, then it stores a batch but the response is lost.
    const collector = await startLogCollector((n) => (n < 3 ? 500 : n === 3 ? 'store-then-drop' : 'ok'), port)
    await appendMany(log, 120, 80) // the PDP keeps deciding meanwhile
    await log.close()
    await shipper.drain()

    const written = await writtenEvents(dir)
    expect(written).toHaveLength(200)
    expect((await readdir(dir)).filter((f) => f.endsWith('.jsonl')).length).toBeGreaterThan(5)
    const ids = collector.stored.map((e) => e.decision_id)
    expect(new Set(ids)).toEqual(new Set(written.map((e) => e.decision_id)))
    // At least once: the lost response's batch arrived twice; dedup by decision_id makes it exact.
    const lost = collector.requests[3]!.events.map((e) => e.decision_id)
    expect(lost.length).toBeGreaterThan(0)
    expect(ids.length - new Set(ids).size).toBe(lost.length)
    expect(collector.requests[4]!.events.map((e) => e.decision_id)).toEqual(lost)
    // In chain order, and byte for byte what the log holds (each event's hash still verifies).
    const firstSeen = [...new Map(collector.stored.map((e) => [e.decision_id, e])).values()]
    expect(firstSeen.map((e) => e.seq)).toEqual(written.map((e) => e.seq))
    for (const event of collector.stored) expect(event.hash).toBe(eventHash(event))
    for (const request of collector.requests) {
      expect(request).toMatchObject({ method: 'POST', path: '/logs' })
      expect(request.headers).toMatchObject({
        'content-encoding': 'gzip',
        'content-type': 'application/json',
        authorization: 'Bearer s3cret',
      })
      expect(request.events.length).toBeGreaterThan(0)
      expect(request.events.length).toBeLessThanOrEqual(25)
    }
    expect(errors.some((e) => /answered 500/.test(e.message))).toBe(true)
    expect(shipper.stats).toMatchObject({ shippedEvents: 200, consecutiveFailures: 0 })
    expect(shipper.stats.failures).toBeGreaterThanOrEqual(7)
    await shipper.stop()
    await collector.close()
  })

  it('a restart resumes from the persisted cursor: nothing re-sent after a clean stop, nothing lost', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-ship-'))
    const collector = await startLogCollector(() => 'ok')
    const log = await DecisionLog.open({ dir, rotateBytes: 8 * 1024 })
    await appendMany(log, 0, 60)
    const first = await LogShipper.start({ dir, url: collector.url, ...quick })
    await first.drain()
    await first.stop()
    expect(collector.stored).toHaveLength(60)
    // Down for a while: decisions go on being logged, the queue is the log on disk.
    await appendMany(log, 60, 40)
    await log.close()
    const second = await LogShipper.start({ dir, url: collector.url, ...quick })
    await second.drain()
    await second.stop()
    const seqs = collector.stored.map((e) => e.seq)
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i + 1))
    expect(second.stats.shippedEvents).toBe(40)
    const cursor = await readShipCursor(join(dir, 'ship-cursor.json'))
    expect(Object.values(cursor.chains)).toEqual([expect.objectContaining({ events: 100 })])
    await collector.close()
  })

  it('ships only complete lines: a line still being written waits for its newline', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-ship-'))
    const collector = await startLogCollector(() => 'ok')
    const log = await DecisionLog.open({ dir })
    await appendMany(log, 0, 10)
    await log.close()
    const file = join(dir, (await readdir(dir)).find((f) => f.endsWith('.jsonl'))!)
    await appendFile(file, '{"decision_id":"in-flight","seq":')
    const shipper = await LogShipper.start({ dir, url: collector.url, ...quick })
    await shipper.drain()
    expect(collector.stored.map((e) => e.decision_id)).not.toContain('in-flight')
    expect(collector.stored).toHaveLength(10)
    await appendFile(file, '11}\n')
    await shipper.drain()
    expect(collector.stored.at(-1)).toEqual({ decision_id: 'in-flight', seq: 11 })
    await shipper.stop()
    await collector.close()
  })

  it('a 413 from the collector halves the batch until it fits', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-ship-'))
    const collector = await startLogCollector((_n, events) => (events.length > 10 ? 413 : 'ok'))
    const log = await DecisionLog.open({ dir })
    await appendMany(log, 0, 50)
    await log.close()
    const shipper = await LogShipper.start({ dir, url: collector.url, maxBatchEvents: 40, ...quick })
    await shipper.drain()
    await shipper.stop()
    expect(collector.stored.map((e) => e.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
    expect(collector.requests.map((r) => r.answer)).toContain(413)
    await collector.close()
  })

  it('drain gives up after its timeout while the collector is down (the events stay queued); stop rejects waiting drains', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-ship-'))
    const log = await DecisionLog.open({ dir })
    await appendMany(log, 0, 5)
    await log.close()
    const shipper = await LogShipper.start({ dir, url: `http://127.0.0.1:${await unusedPort()}`, ...quick })
    await expect(shipper.drain({ timeoutMs: 300 })).rejects.toMatchObject({ code: 'ERR_LOG_SHIP_FAILED' })
    const pending = shipper.drain()
    await shipper.stop()
    await expect(pending).rejects.toMatchObject({ code: 'ERR_LOG_SHIP_FAILED' })
    expect(shipper.stats.shippedEvents).toBe(0)
    expect(await readShipCursor(join(dir, 'ship-cursor.json'))).toEqual({ version: 1, chains: {} })
  })

  it.each([
    [{ url: 'ftp://collector.example.com' }, /not an http/],
    [{ url: 'not a url' }, /not an http/],
    [{ url: 'http://127.0.0.1:1', maxBatchEvents: 0 }, /maxBatchEvents/],
    [{ url: 'http://127.0.0.1:1', minRetryDelayMs: -1 }, /minRetryDelayMs/],
  ])('rejects bad options with ERR_LOG_CONFIG_INVALID: %j', async (options, message) => {
    await expect(LogShipper.start({ dir: tmpdir(), ...options })).rejects.toMatchObject({
      code: 'ERR_LOG_CONFIG_INVALID',
      message: expect.stringMatching(message),
    })
  })

  it('refuses a corrupt cursor rather than guess a position', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-ship-'))
    await writeFile(join(dir, 'ship-cursor.json'), '{"version":1,"chains":{"a":{"file":0}}}')
    await expect(LogShipper.start({ dir, url: 'http://127.0.0.1:1' })).rejects.toMatchObject({
      code: 'ERR_LOG_CONFIG_INVALID',
      message: expect.stringMatching(/corrupt.*delete it/),
    })
  })
})
