import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BuiltBundle, buildBundle } from '../../src/index.js'

/** A policy to build in a test: Rego files by name, the bundle data and manifest overrides. */
export interface PolicyFixture {
  rego: Record<string, string>
  data?: unknown
  manifest?: Record<string, unknown>
  signingKey?: string
  signingAlg?: string
  revision?: string
}

/** Builds a real WebAssembly bundle from in-memory sources with the real OPA toolchain. */
export async function buildPolicy(fixture: PolicyFixture): Promise<BuiltBundle & { dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-test-'))
  const regoDir = join(dir, 'rego')
  const bundleDir = join(dir, 'bundle')
  await mkdir(regoDir, { recursive: true })
  await mkdir(bundleDir, { recursive: true })
  for (const [name, source] of Object.entries(fixture.rego)) await writeFile(join(regoDir, name), source)
  // Every bundle has both entrypoints; fixtures that only care about decisions get a neutral response rule.
  if (!Object.values(fixture.rego).some((source) => /^response\s*:?=/m.test(source))) {
    await writeFile(
      join(regoDir, 'zz_response.rego'),
      'package mcp\n\nresponse := {"allow": true, "reasons": []}\n',
    )
  }
  await writeFile(join(bundleDir, '.manifest'), JSON.stringify({ roots: [''], ...fixture.manifest }))
  await writeFile(join(bundleDir, 'data.json'), JSON.stringify(fixture.data ?? {}))
  const built = await buildBundle({
    bundleDir,
    regoDir,
    out: join(dir, 'bundle.tar.gz'),
    bundleStore: join(dir, 'store'),
    signingKey: fixture.signingKey,
    signingAlg: fixture.signingAlg,
    revision: fixture.revision,
  })
  return { ...built, dir }
}
