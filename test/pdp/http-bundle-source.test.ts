import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  type BundleMeta,
  type BundleVerification,
  HttpBundleSource,
  type HttpBundleSourceOptions,
  type InputDocument,
  loadBundle,
  PolicyEngine,
} from '../../src/index.js'
import { buildPolicy } from '../helpers/build-policy.js'
import { type BundleServer, startBundleServer } from '../helpers/bundle-server.js'
import { closedLoopbackUrl } from '../identity/jwks-server.js'

const rego = {
  'policy.rego':
    'package mcp\n\ndecision := {"allow": data.open == true, "reasons": [{"code": data.reason, "message": "m"}]}\n',
}
const waitLong = { timeout: 20_000, interval: 10 }

function rsaKeys() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  }
}

async function keyFile(pem: string): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'mcp-policy-key-')), 'key.pem')
  await writeFile(path, pem)
  return path
}

describe('HttpBundleSource (OPA bundle service polling)', () => {
  const keys = rsaKeys()
  const intruder = rsaKeys()
  const verification: BundleVerification = { keys: { default: { key: keys.publicPem, algorithm: 'RS256' } } }
  let open: Uint8Array
  let closed: Uint8Array
  let forged: Uint8Array
  const servers: BundleServer[] = []
  const sources: HttpBundleSource[] = []

  beforeAll(async () => {
    const [signingKey, intruderKey] = await Promise.all([
      keyFile(keys.privatePem),
      keyFile(intruder.privatePem),
    ])
    const [a, b, c] = await Promise.all([
      buildPolicy({ rego, data: { open: true, reason: 'open' }, revision: 'open-1', signingKey }),
      buildPolicy({ rego, data: { open: false, reason: 'closed' }, revision: 'closed-1', signingKey }),
      buildPolicy({
        rego,
        data: { open: true, reason: 'forged' },
        revision: 'forged-1',
        signingKey: intruderKey,
      }),
    ])
    open = await readFile(a.path)
    closed = await readFile(b.path)
    forged = await readFile(c.path)
  })

  afterEach(async () => {
    await Promise.all(sources.splice(0).map((source) => source.stop()))
    await Promise.all(servers.splice(0).map((server) => server.close()))
  })

  async function serve(bytes: Uint8Array, etag?: string) {
    const server = await startBundleServer(bytes, etag)
    servers.push(server)
    return server
  }

  function source(url: string, options: HttpBundleSourceOptions = {}) {
    const created = new HttpBundleSource(url, {
      pollIntervalMs: 20,
      backoff: { minMs: 20, maxMs: 80 },
      timeoutMs: 2_000,
      ...options,
    })
    sources.push(created)
    const seen: { bytes: Uint8Array; meta: BundleMeta }[] = []
    const collect = async (bytes: Uint8Array, meta: BundleMeta) => {
      seen.push({ bytes, meta })
    }
    return { source: created, seen, collect }
  }

  it('hands over a 200, then sends If-None-Match and takes 304 as unchanged; a new ETag reloads', async () => {
    const server = await serve(open, '"v1"')
    const {
      source: src,
      seen,
      collect,
    } = source(server.url, {
      bearerToken: 'sekret',
      headers: { 'x-pdp': 'pdp-1' },
    })
    await src.start(collect)
    expect(seen).toHaveLength(1)
    expect(Buffer.from(seen[0]!.bytes).equals(Buffer.from(open))).toBe(true)
    expect(seen[0]!.meta).toMatchObject({ origin: server.url, etag: '"v1"' })
    expect(seen[0]!.meta.digest).toBe((await loadBundle(seen[0]!.bytes)).digest)

    await vi.waitFor(() => expect(server.requests.length).toBeGreaterThanOrEqual(3), waitLong)
    expect(seen).toHaveLength(1)
    expect(server.requests[0]!.headers['if-none-match']).toBeUndefined()
    for (const seenRequest of server.requests.slice(1)) {
      expect(seenRequest.headers['if-none-match']).toBe('"v1"')
      expect(seenRequest.status).toBe(304)
    }
    for (const seenRequest of server.requests) {
      expect(seenRequest.headers.authorization).toBe('Bearer sekret')
      expect(seenRequest.headers['x-pdp']).toBe('pdp-1')
    }
    // Between polls the next one is scheduled 20 ms out; while a poll is in flight there is no
    // next attempt yet (nextDelayMs undefined), so wait for a moment between two polls.
    await vi.waitFor(
      () => expect(src.status()).toMatchObject({ etag: '"v1"', consecutiveFailures: 0, nextDelayMs: 20 }),
      waitLong,
    )
    expect(src.status().lastError).toBeUndefined()

    server.setBundle(closed, '"v2"')
    await vi.waitFor(() => expect(seen).toHaveLength(2), waitLong)
    expect(seen[1]!.meta.etag).toBe('"v2"')
    expect((await loadBundle(seen[1]!.bytes)).revision).toBe('closed-1')
    expect(src.status().etag).toBe('"v2"')
  })

  it('without an ETag, re-downloads each poll but hands over only changed content', async () => {
    const server = await serve(open)
    server.setChunked(true)
    const { source: src, seen, collect } = source(server.url)
    await src.start(collect)
    await vi.waitFor(() => expect(server.requests.length).toBeGreaterThanOrEqual(3), waitLong)
    expect(server.requests.every((r) => r.status === 200 && r.headers['if-none-match'] === undefined)).toBe(
      true,
    )
    expect(seen).toHaveLength(1)
    expect(src.status().etag).toBeUndefined()
  })

  it('backs off exponentially while the server is down, then recovers', async () => {
    const server = await serve(open, '"v1"')
    server.setMode('reset')
    // random 0: the smallest jittered delay, half the nominal one: 10, 20, 40, then capped at 40.
    const { source: src, seen, collect } = source(server.url, { random: () => 0 })
    await src.start(collect)
    expect(seen).toHaveLength(0)
    expect(src.status()).toMatchObject({
      consecutiveFailures: 1,
      nextDelayMs: 10,
      lastError: { code: 'ERR_BUNDLE_FETCH_FAILED' },
    })
    const delays = new Map<number, number>()
    await vi.waitFor(() => {
      const status = src.status()
      if (status.nextDelayMs !== undefined) delays.set(status.consecutiveFailures, status.nextDelayMs)
      expect(status.consecutiveFailures).toBeGreaterThanOrEqual(4)
    }, waitLong)
    for (const [failures, delay] of delays) expect(delay).toBe(Math.min(10 * 2 ** (failures - 1), 40))
    expect(server.requests.every((r) => r.status === 'reset')).toBe(true)

    server.setMode('ok')
    await vi.waitFor(() => expect(seen).toHaveLength(1), waitLong)
    // The bundle is handed over inside the poll; the next one is scheduled once that poll ends.
    await vi.waitFor(
      () => expect(src.status()).toMatchObject({ consecutiveFailures: 0, etag: '"v1"', nextDelayMs: 20 }),
      waitLong,
    )
    expect(src.status().lastError).toBeUndefined()
    expect(src.status().lastLoadAt).toBeInstanceOf(Date)
  })

  it('gives every fetch failure a stable code: refused connection, 500, 404, timeout', async () => {
    const refused = source(await closedLoopbackUrl())
    await refused.source.start(refused.collect)
    expect(refused.source.status().lastError).toMatchObject({
      code: 'ERR_BUNDLE_FETCH_FAILED',
      message: expect.stringContaining('ECONNREFUSED'),
    })

    const server = await serve(open, '"v1"')
    const cases = [
      ['error', 'ERR_BUNDLE_FETCH_FAILED', /HTTP 500/],
      ['missing', 'ERR_BUNDLE_NOT_FOUND', /HTTP 404/],
      ['hang', 'ERR_BUNDLE_FETCH_FAILED', /within 150 ms/],
    ] as const
    for (const [mode, code, message] of cases) {
      server.setMode(mode)
      const { source: src, seen, collect } = source(server.url, { timeoutMs: 150 })
      await src.start(collect)
      expect(seen).toHaveLength(0)
      expect(src.status().lastError?.code).toBe(code)
      expect(src.status().lastError?.message).toMatch(message)
      await src.stop()
    }
  })

  it('fails closed on a body over maxBytes: declared, chunked, or endless', async () => {
    const server = await serve(open, '"v1"')
    const limit = Math.floor(open.byteLength / 2)

    const declared = source(server.url, { maxBytes: limit })
    await declared.source.start(declared.collect)
    expect(declared.seen).toHaveLength(0)
    expect(declared.source.status().lastError).toMatchObject({
      code: 'ERR_BUNDLE_TOO_LARGE',
      message: expect.stringContaining('declares'),
    })
    await declared.source.stop()

    server.setChunked(true)
    const chunked = source(server.url, { maxBytes: limit })
    await chunked.source.start(chunked.collect)
    expect(chunked.seen).toHaveLength(0)
    expect(chunked.source.status().lastError).toMatchObject({
      code: 'ERR_BUNDLE_TOO_LARGE',
      message: expect.stringContaining('sent more than'),
    })
    await chunked.source.stop()

    // A server that never stops sending: the client hangs up at the cap instead of buffering it all.
    server.setMode('flood')
    const endless = source(server.url, { maxBytes: 1024 * 1024 })
    await endless.source.start(endless.collect)
    expect(endless.seen).toHaveLength(0)
    expect(endless.source.status().lastError?.code).toBe('ERR_BUNDLE_TOO_LARGE')
    expect(await server.floodEnded()).toBeLessThan(64 * 1024 * 1024)
  })

  it('keeps the old bundle serving in a real engine through a corrupt and a forged bundle, and reports each', async () => {
    const server = await serve(open, '"v1"')
    const engine = new PolicyEngine()
    const input = {} as InputDocument
    const { source: src } = source(server.url)
    await src.start(async (bytes) => {
      await engine.load(await loadBundle(bytes, { verification }))
    })
    const serving = engine.bundle!
    expect(serving.revision).toBe('open-1')
    expect(engine.decide(input).decision.allow).toBe(true)

    server.setBundle(open.subarray(0, Math.floor(open.byteLength / 2)), '"v2-truncated"')
    await vi.waitFor(() => expect(src.status().lastError?.code).toBe('ERR_BUNDLE_CORRUPT'), waitLong)
    expect(engine.bundle).toEqual(serving)
    expect(engine.decide(input).decision.allow).toBe(true)
    // The refused bundle is not fetched again (304 for its ETag) and the refusal stays reported.
    const before = server.requests.length
    await vi.waitFor(() => expect(server.requests.length).toBeGreaterThan(before + 2), waitLong)
    expect(server.requests.slice(before).every((r) => r.status === 304)).toBe(true)
    // Read between two polls: while a poll is in flight no next attempt is scheduled yet.
    await vi.waitFor(
      () =>
        expect(src.status()).toMatchObject({
          lastError: { code: 'ERR_BUNDLE_CORRUPT' },
          consecutiveFailures: 1,
          digest: serving.digest,
          etag: '"v1"',
          nextDelayMs: 20,
        }),
      waitLong,
    )

    server.setBundle(forged, '"v3-forged"')
    await vi.waitFor(
      () => expect(src.status().lastError?.code).toBe('ERR_BUNDLE_SIGNATURE_INVALID'),
      waitLong,
    )
    expect(engine.bundle).toEqual(serving)
    expect(engine.decide(input).decision.reasons).toEqual([{ code: 'open', message: 'm' }])

    server.setBundle(closed, '"v4"')
    await vi.waitFor(() => expect(engine.bundle?.revision).toBe('closed-1'), waitLong)
    expect(engine.decide(input).decision).toMatchObject({ allow: false, reasons: [{ code: 'closed' }] })
    // The engine swaps inside the handler; the source records the new state when the handler returns.
    await vi.waitFor(() => {
      expect(src.status()).toMatchObject({
        consecutiveFailures: 0,
        etag: '"v4"',
        digest: engine.bundle!.digest,
      })
      expect(src.status().lastError).toBeUndefined()
    }, waitLong)
  })

  it('is healthy again when the server goes back to the bundle serving after offering a bad one', async () => {
    const server = await serve(open, '"v1"')
    const { source: src, seen, collect } = source(server.url)
    await src.start(async (bytes, meta) => {
      await loadBundle(bytes)
      await collect(bytes, meta)
    })
    server.setBundle(open.subarray(0, 100), '"v2-truncated"')
    await vi.waitFor(() => expect(src.status().lastError?.code).toBe('ERR_BUNDLE_CORRUPT'), waitLong)
    // Same bytes as the serving bundle under a new ETag: nothing to load, and nothing wrong any more.
    server.setBundle(open, '"v3"')
    await vi.waitFor(() => {
      expect(src.status()).toMatchObject({ etag: '"v3"', consecutiveFailures: 0 })
      expect(src.status().lastError).toBeUndefined()
    }, waitLong)
    const before = server.requests.length
    await vi.waitFor(() => expect(server.requests.length).toBeGreaterThan(before + 2), waitLong)
    expect(server.requests.slice(before).every((r) => r.status === 304)).toBe(true)
    expect(src.status().lastError).toBeUndefined()
    expect(seen).toHaveLength(1)
  })

  it('stop() aborts a fetch in flight and schedules nothing more', async () => {
    const server = await serve(open, '"v1"')
    server.setMode('hang')
    const { source: src, seen, collect } = source(server.url, { timeoutMs: 600_000 })
    const started = src.start(collect)
    await vi.waitFor(() => expect(server.requests).toHaveLength(1), waitLong)
    await src.stop()
    await started
    expect(seen).toHaveLength(0)
    expect(src.status()).toMatchObject({ running: false, consecutiveFailures: 0 })
    expect(src.status().nextAttemptAt).toBeUndefined()
  })

  it('refuses clear-text URLs off loopback, credentials in the URL and bad bounds', () => {
    const invalid = expect.objectContaining({ code: 'ERR_BUNDLE_SOURCE_INVALID' })
    expect(() => new HttpBundleSource('http://bundles.example.com/b.tar.gz')).toThrow(invalid)
    expect(() => new HttpBundleSource('ftp://127.0.0.1/b.tar.gz')).toThrow(invalid)
    expect(() => new HttpBundleSource('not a url')).toThrow(invalid)
    expect(() => new HttpBundleSource('https://user:pw@bundles.example.com/b.tar.gz')).toThrow(invalid)
    expect(() => new HttpBundleSource('https://b.example.com/b', { pollIntervalMs: 0 })).toThrow(invalid)
    expect(
      () => new HttpBundleSource('https://b.example.com/b', { backoff: { minMs: 10, maxMs: 5 } }),
    ).toThrow(invalid)
    expect(
      () => new HttpBundleSource('http://bundles.example.com/b.tar.gz', { allowPlainHttp: true }),
    ).not.toThrow()
    expect(() => new HttpBundleSource('http://[::1]:8080/b.tar.gz')).not.toThrow()
  })
})
