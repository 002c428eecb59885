import { mkdtemp, readFile, rename, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildBundle } from '../../src/index.js'
import { type BundleServer, startBundleServer } from '../helpers/bundle-server.js'
import { startTestPdp, type TestPdp } from '../helpers/pdp.js'

let dir: string
let first: Uint8Array
let second: Uint8Array

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-policy-pdp-bundles-'))
  for (const revision of ['r1', 'r2']) {
    await buildBundle({ out: join(dir, `${revision}.tar.gz`), bundleStore: join(dir, 'store'), revision })
  }
  first = await readFile(join(dir, 'r1.tar.gz'))
  second = await readFile(join(dir, 'r2.tar.gz'))
}, 180_000)

async function readiness(pdp: TestPdp) {
  const res = await request(`${pdp.url}/health/ready`)
  const body = (await res.body.json()) as {
    bundle: { revision: string } | null
    last_bundle_error: { code: string } | null
  }
  return { status: res.statusCode, revision: body.bundle?.revision, error: body.last_bundle_error?.code }
}

/** Polls readiness until `done` holds (bounded: a bundle source reacts within a second here). */
async function until(pdp: TestPdp, done: (r: Awaited<ReturnType<typeof readiness>>) => boolean) {
  let last = await readiness(pdp)
  for (let i = 0; i < 150 && !done(last); i++) {
    await new Promise((r) => setTimeout(r, 100))
    last = await readiness(pdp)
  }
  return last
}

describe('bundle from a watched file', () => {
  let pdp: TestPdp
  afterAll(async () => pdp?.close())

  it('swaps to a bundle written over the file (atomic rename), and keeps the old one when the new is corrupt', async () => {
    const path = join(dir, 'served.tar.gz')
    await writeFile(path, first)
    pdp = await startTestPdp(path)
    expect((await readiness(pdp)).revision).toBe('r1')
    await writeFile(`${path}.tmp`, second)
    await rename(`${path}.tmp`, path)
    expect((await until(pdp, (r) => r.revision === 'r2')).revision).toBe('r2')
    await writeFile(`${path}.tmp`, Buffer.from('garbage'))
    await rename(`${path}.tmp`, path)
    const after = await until(pdp, (r) => r.error !== undefined)
    expect(after).toMatchObject({ status: 200, revision: 'r2', error: 'ERR_BUNDLE_CORRUPT' })
  })

  it('refuses to start when the bundle file does not exist', async () => {
    await expect(startTestPdp(join(dir, 'nope.tar.gz'))).rejects.toMatchObject({
      code: 'ERR_BUNDLE_NOT_FOUND',
    })
  })
})

describe('bundle from an OPA bundle service', () => {
  let server: BundleServer
  let pdp: TestPdp
  afterAll(async () => {
    await pdp?.close()
    await server?.close()
  })

  it('starts not ready while the service is down, becomes ready when it recovers, and follows a new revision', async () => {
    server = await startBundleServer(first, '"r1"')
    server.setMode('error')
    pdp = await startTestPdp('unused', { bundle: { url: server.url, pollIntervalSeconds: 0.2 } })
    expect((await readiness(pdp)).status).toBe(503)
    server.setMode('ok')
    expect(await until(pdp, (r) => r.status === 200)).toMatchObject({ status: 200, revision: 'r1' })
    server.setBundle(second, '"r2"')
    expect((await until(pdp, (r) => r.revision === 'r2')).revision).toBe('r2')
    // Unchanged bundles are not downloaded again: the PDP sends the ETag it holds and gets 304.
    const revalidated = () => server.requests.filter((r) => r.headers['if-none-match'] === '"r2"')
    await until(pdp, () => revalidated().length > 0)
    expect(revalidated().map((r) => r.status)).toContain(304)
    expect((await readiness(pdp)).revision).toBe('r2')
  })
})
