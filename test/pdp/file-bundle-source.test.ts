import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  type BundleMeta,
  FileBundleSource,
  type InputDocument,
  loadBundle,
  PolicyEngine,
} from '../../src/index.js'
import { buildPolicy } from '../helpers/build-policy.js'

const rego = {
  'policy.rego':
    'package mcp\n\ndecision := {"allow": data.open == true, "reasons": [{"code": data.reason, "message": "m"}]}\n',
}
const waitLong = { timeout: 20_000, interval: 10 }

describe('FileBundleSource (a watched bundle file)', () => {
  let open: Uint8Array
  let closed: Uint8Array
  let dir: string
  const sources: FileBundleSource[] = []

  beforeAll(async () => {
    const [a, b] = await Promise.all([
      buildPolicy({ rego, data: { open: true, reason: 'open' }, revision: 'open-1' }),
      buildPolicy({ rego, data: { open: false, reason: 'closed' }, revision: 'closed-1' }),
    ])
    open = await readFile(a.path)
    closed = await readFile(b.path)
  })

  afterEach(async () => {
    await Promise.all(sources.splice(0).map((source) => source.stop()))
    await rm(dir, { recursive: true, force: true })
  })

  async function setup(options: { debounceMs?: number; maxBytes?: number } = {}) {
    dir = await mkdtemp(join(tmpdir(), 'mcp-policy-bsrc-'))
    const path = join(dir, 'bundle.tar.gz')
    const source = new FileBundleSource(path, { debounceMs: 20, ...options })
    sources.push(source)
    const seen: { bytes: Uint8Array; meta: BundleMeta }[] = []
    const collect = async (bytes: Uint8Array, meta: BundleMeta) => {
      seen.push({ bytes, meta })
    }
    return { path, source, seen, collect }
  }

  // How editors, `mv` deployments and config management replace a file: write aside, rename over.
  async function replaceAtomically(path: string, bytes: Uint8Array) {
    const aside = `${path}.tmp-${Math.random().toString(36).slice(2)}`
    await writeFile(aside, bytes)
    await rename(aside, path)
  }

  it('reads the bundle at start, then reloads on an atomic replace and on an in-place write', async () => {
    const { path, source, seen, collect } = await setup()
    await writeFile(path, open)
    await source.start(collect)
    expect(seen).toHaveLength(1)
    expect(Buffer.from(seen[0]!.bytes).equals(Buffer.from(open))).toBe(true)
    expect(seen[0]!.meta.origin).toBe(path)
    const first = await loadBundle(seen[0]!.bytes)
    expect(seen[0]!.meta.digest).toBe(first.digest)
    expect(source.status()).toMatchObject({ running: true, consecutiveFailures: 0, digest: first.digest })
    expect(source.status().lastError).toBeUndefined()

    await replaceAtomically(path, closed)
    await vi.waitFor(() => expect(seen).toHaveLength(2), waitLong)
    expect(Buffer.from(seen[1]!.bytes).equals(Buffer.from(closed))).toBe(true)
    expect((await loadBundle(seen[1]!.bytes)).revision).toBe('closed-1')

    await writeFile(path, open)
    await vi.waitFor(() => expect(seen.at(-1)!.meta.digest).toBe(first.digest), waitLong)
    expect(source.status().digest).toBe(first.digest)
  })

  it('follows a Kubernetes ConfigMap update (the ..data symlink swapped to a new directory)', async () => {
    const { path, source, seen, collect } = await setup()
    // The kubelet's layout: bundle.tar.gz -> ..data/bundle.tar.gz, ..data -> ..<timestamp>/
    await mkdir(join(dir, '..v1'))
    await writeFile(join(dir, '..v1', 'bundle.tar.gz'), open)
    await symlink('..v1', join(dir, '..data'))
    await symlink(join('..data', 'bundle.tar.gz'), path)
    await source.start(collect)
    expect(seen).toHaveLength(1)

    await mkdir(join(dir, '..v2'))
    await writeFile(join(dir, '..v2', 'bundle.tar.gz'), closed)
    await symlink('..v2', join(dir, '..data_tmp'))
    await rename(join(dir, '..data_tmp'), join(dir, '..data'))
    await vi.waitFor(() => expect(seen).toHaveLength(2), waitLong)
    expect((await loadBundle(seen[1]!.bytes)).revision).toBe('closed-1')
  })

  it('skips a change event that leaves the content unchanged', async () => {
    const { path, source, seen, collect } = await setup()
    await writeFile(path, open)
    await source.start(collect)
    const checkedAt = source.status().lastSuccessAt!.getTime()
    await replaceAtomically(path, open)
    await vi.waitFor(
      () => expect(source.status().lastSuccessAt!.getTime()).toBeGreaterThan(checkedAt),
      waitLong,
    )
    expect(seen).toHaveLength(1)
  })

  it('reports a missing file, then loads it when it appears', async () => {
    const { path, source, seen, collect } = await setup()
    await source.start(collect)
    expect(seen).toHaveLength(0)
    expect(source.status()).toMatchObject({
      running: true,
      consecutiveFailures: 1,
      lastError: { code: 'ERR_BUNDLE_NOT_FOUND' },
    })
    await replaceAtomically(path, open)
    await vi.waitFor(() => expect(seen).toHaveLength(1), waitLong)
    expect(source.status().lastError).toBeUndefined()
    expect(source.status().consecutiveFailures).toBe(0)
  })

  it('refuses a file over maxBytes without handing it over', async () => {
    const { path, source, seen, collect } = await setup({ maxBytes: 64 })
    await writeFile(path, open)
    await source.start(collect)
    expect(seen).toHaveLength(0)
    expect(source.status().lastError?.code).toBe('ERR_BUNDLE_TOO_LARGE')
  })

  it('keeps the old bundle serving in a real engine when a corrupt one replaces it, and reports why', async () => {
    const { path, source } = await setup()
    const engine = new PolicyEngine()
    const input = {} as InputDocument
    await writeFile(path, open)
    await source.start(async (bytes) => {
      await engine.load(await loadBundle(bytes))
    })
    const serving = engine.bundle!
    expect(serving.revision).toBe('open-1')
    expect(engine.decide(input).decision.allow).toBe(true)

    // A truncated archive, as a copy interrupted halfway leaves it.
    await replaceAtomically(path, open.subarray(0, Math.floor(open.byteLength / 2)))
    await vi.waitFor(() => expect(source.status().lastError?.code).toBe('ERR_BUNDLE_CORRUPT'), waitLong)
    expect(source.status().consecutiveFailures).toBe(1)
    expect(source.status().digest).toBe(serving.digest)
    expect(engine.bundle).toEqual(serving)
    expect(engine.decide(input).decision.allow).toBe(true)

    await replaceAtomically(path, closed)
    await vi.waitFor(() => expect(engine.bundle?.revision).toBe('closed-1'), waitLong)
    expect(engine.decide(input).decision).toMatchObject({ allow: false, reasons: [{ code: 'closed' }] })
    expect(source.status()).toMatchObject({ consecutiveFailures: 0, digest: engine.bundle!.digest })
    expect(source.status().lastError).toBeUndefined()
  })

  it('stops watching on stop()', async () => {
    const { path, source, collect } = await setup()
    await writeFile(path, open)
    await source.start(collect)
    await source.stop()
    expect(source.status().running).toBe(false)
    await expect(source.stop()).resolves.toBeUndefined()
  })

  it('rejects a bad configuration and a second start', async () => {
    expect(() => new FileBundleSource('x.tar.gz', { debounceMs: -1 })).toThrow(
      expect.objectContaining({ code: 'ERR_BUNDLE_SOURCE_INVALID' }),
    )
    await expect(
      new FileBundleSource(join(tmpdir(), 'no-such-dir-mcp-policy', 'b.tar.gz')).start(async () => {}),
    ).rejects.toMatchObject({ code: 'ERR_BUNDLE_SOURCE_INVALID' })
    const { path, source, collect } = await setup()
    await writeFile(path, open)
    await source.start(collect)
    await expect(source.start(collect)).rejects.toMatchObject({ code: 'ERR_BUNDLE_SOURCE_INVALID' })
  })
})
