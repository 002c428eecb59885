import { createHash } from 'node:crypto'
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { DEFAULT_BUNDLE_DIR, DEFAULT_BUNDLE_STORE, DEFAULT_REGO_DIR } from '../defaults.js'
import { builtinTable } from '../engine/builtins/builtin-table.js'
import { McpPolicyError } from '../errors.js'
import { resolveOpa, runOpa } from '../toolchain/opa.js'
import type { BundleManifest } from './bundle.js'
import { storeBundle } from './bundle-store.js'
import { narrowToEngine, opaCapabilities } from './capabilities.js'

/** Options for {@link buildBundle}. */
export interface BuildBundleOptions {
  /** Bundle definition directory holding `.manifest` and `data.json`. Default `bundles/default`. */
  bundleDir?: string
  /** Rego source directory; `*_test.rego` files are left out. Default `rego`. */
  regoDir?: string
  /** Output archive. Default `<bundleDir>.tar.gz`. */
  out?: string
  /** Revision written into the manifest. Default: the manifest's, else the content digest of the sources. */
  revision?: string
  /** PEM private key: sign the bundle (OPA `.signatures.json`). */
  signingKey?: string
  /** Signing algorithm. Default RS256 (ES256 for EC keys). */
  signingAlg?: string
  /** Key id written into the signature. Default `default`, as OPA. */
  signingKeyId?: string
  /** Bundle store directory; the built archive is kept there by digest. Default `.bundle-store`. */
  bundleStore?: string
  /** OPA binary; resolved with `resolveOpa()` when omitted. */
  opa?: string
  /** Receives warnings (e.g. an optimizer fallback). Default: none. */
  warn?: (message: string) => void
  /**
   * Build a test artifact instead of a deployable bundle: `*_test.rego` files are compiled too, these
   * are the only entrypoints (the policy's own are reached through the tests), the manifest's roots
   * are dropped (test packages may live outside them), and nothing is put in the bundle store.
   * Compiled at `-O 0` (see the build); compiler and capabilities are the production build's.
   */
  testEntrypoints?: string[]
}

/** What {@link buildBundle} produced. */
export interface BuiltBundle {
  path: string
  /** `sha256:<hex>` of the archive. */
  digest: string
  revision: string
  entrypoints: string[]
  /** The copy in the bundle store ('' for a test artifact, which is not stored). */
  storedAt: string
  /** The `opa build -O` level used: 1, or 0 after OPA's optimizer failed (see {@link BuildBundleOptions.warn}). */
  optimization: 0 | 1
  /**
   * When it was built (RFC 3339, UTC, whole seconds), written into the manifest as
   * `metadata.build_time` so a replay report can name it. `SOURCE_DATE_EPOCH` pins it.
   */
  buildTime: string
}

const DEFAULT_ENTRYPOINTS = ['mcp/decision', 'mcp/response']

/**
 * Compiles a bundle definition and the Rego policies to an OPA WebAssembly bundle with
 * `opa build -t wasm -O 1`, restricted to the builtins this engine implements, optionally signed,
 * and stored by digest for replay.
 *
 * @throws McpPolicyError `ERR_BUILD_FAILED`, `ERR_BUILD_UNSUPPORTED_BUILTIN`, `ERR_TOOLCHAIN_*`.
 * @example
 * ```ts
 * const built = await buildBundle({ bundleDir: 'bundles/default', out: 'default.tar.gz' })
 * console.log(built.path, built.digest)
 * ```
 */
export async function buildBundle(options: BuildBundleOptions = {}): Promise<BuiltBundle> {
  const bundleDir = resolve(options.bundleDir ?? DEFAULT_BUNDLE_DIR)
  const regoDir = resolve(options.regoDir ?? DEFAULT_REGO_DIR)
  const out = resolve(options.out ?? `${bundleDir.replace(/\/+$/, '')}.tar.gz`)
  const opa = options.opa ?? (await resolveOpa())
  const manifest = await readManifest(bundleDir)
  const forTests = options.testEntrypoints !== undefined
  const entrypoints = forTests
    ? [...new Set(options.testEntrypoints)]
    : [...new Set([...DEFAULT_ENTRYPOINTS, ...manifestEntrypoints(manifest)])]
  if (entrypoints.length === 0) throw new McpPolicyError('ERR_BUILD_FAILED', 'no entrypoints to build')

  const staging = await mkdtemp(join(tmpdir(), 'mcp-policy-build-'))
  try {
    const regoFiles = await stageRego(regoDir, join(staging, 'policy'), forTests)
    if (regoFiles.length === 0)
      throw new McpPolicyError('ERR_BUILD_FAILED', `no .rego policy files under ${regoDir}`)
    await cp(join(bundleDir, 'data.json'), join(staging, 'data.json')).catch(() =>
      writeFile(join(staging, 'data.json'), '{}'),
    )
    const revision = options.revision ?? (manifest.revision || (await sourceDigest(staging)))
    const { roots: _roots, ...unrooted } = manifest
    const buildTime = buildTimestamp()
    await writeFile(
      join(staging, '.manifest'),
      JSON.stringify({
        ...(forTests ? unrooted : manifest),
        revision,
        metadata: { ...manifest.metadata, build_time: buildTime },
      }),
    )
    const capabilitiesFile = join(staging, '..', `${staging.split('/').pop()}-capabilities.json`)
    const claimsFile = join(staging, '..', `${staging.split('/').pop()}-claims.json`)
    const allCapabilities = await opaCapabilities(opa)
    await writeFile(capabilitiesFile, JSON.stringify(narrowToEngine(allCapabilities)))
    const args = [
      'build',
      '-t',
      'wasm',
      '-b',
      '.',
      '-o',
      out,
      '--capabilities',
      capabilitiesFile,
      '--revision',
      revision,
    ]
    for (const entrypoint of entrypoints) args.push('-e', entrypoint)
    if (options.signingKey) {
      args.push('--signing-key', resolve(options.signingKey))
      args.push('--signing-alg', options.signingAlg ?? (await defaultSigningAlg(options.signingKey)))
      if (options.signingKeyId) {
        await writeFile(claimsFile, JSON.stringify({ keyid: options.signingKeyId }))
        args.push('--claims-file', claimsFile)
      }
    }
    await mkdir(dirname(out), { recursive: true })
    let optimization: 0 | 1 = forTests ? 0 : 1
    try {
      try {
        // Tests are compiled without OPA's optimizer: its partial evaluation of `with data.… as`
        // (which only tests use) returns wrong results in OPA v1.22.2 and v1.22.4 — e.g. an empty set where
        // `opa test` and -O 0 agree on two pointers — depending on which entrypoints are built
        // together. The policy modules, compiler, capabilities and engine are the production ones.
        await runOpa(opa, forTests ? args : [...args, '-O', '1'], { cwd: staging })
      } catch (err) {
        if (forTests) throw err
        // OPA v1.22.2 panics in the WASM compiler (fileAddr index out of range) when -O 1 folds
        // every entrypoint into a constant; -O 0 compiles the same policy, so retry without it.
        if (!(err as McpPolicyError).message.includes('panic: runtime error')) throw err
        optimization = 0
        options.warn?.(`opa build -O 1 panicked (known OPA bug on constant-only policies); built with -O 0`)
        await runOpa(opa, args, { cwd: staging })
      }
    } catch (err) {
      throw explainBuildFailure(err as McpPolicyError, new Set(allCapabilities.builtins.map((b) => b.name)))
    } finally {
      await rm(capabilitiesFile, { force: true })
      await rm(claimsFile, { force: true })
    }
    const digest = `sha256:${createHash('sha256')
      .update(await readFile(out))
      .digest('hex')}`
    const storedAt = forTests
      ? ''
      : (await storeBundle(options.bundleStore ?? DEFAULT_BUNDLE_STORE, out)).path
    return { path: out, digest, revision, entrypoints, storedAt, optimization, buildTime }
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

async function readManifest(bundleDir: string): Promise<BundleManifest> {
  let text: string
  try {
    text = await readFile(join(bundleDir, '.manifest'), 'utf8')
  } catch (err) {
    throw new McpPolicyError('ERR_BUILD_FAILED', `bundle definition ${bundleDir} has no .manifest`, {
      cause: err,
    })
  }
  try {
    return JSON.parse(text) as BundleManifest
  } catch (err) {
    throw new McpPolicyError('ERR_BUILD_FAILED', `${bundleDir}/.manifest is not valid JSON`, { cause: err })
  }
}

function manifestEntrypoints(manifest: BundleManifest): string[] {
  const declared = manifest.metadata?.entrypoints
  return Array.isArray(declared) ? declared.filter((e): e is string => typeof e === 'string') : []
}

async function stageRego(regoDir: string, target: string, withTests: boolean): Promise<string[]> {
  const staged: string[] = []
  let entries: string[]
  try {
    entries = await readdir(regoDir, { recursive: true })
  } catch (err) {
    throw new McpPolicyError('ERR_BUILD_FAILED', `cannot read policy directory ${regoDir}`, { cause: err })
  }
  for (const entry of entries.sort()) {
    if (!entry.endsWith('.rego') || (!withTests && entry.endsWith('_test.rego'))) continue
    const destination = join(target, relative(regoDir, join(regoDir, entry)))
    await mkdir(dirname(destination), { recursive: true })
    await cp(join(regoDir, entry), destination)
    staged.push(entry)
  }
  return staged
}

// The build time is evidence of which policy a decision log was replayed against; OPA records none
// (its archives carry no dates). SOURCE_DATE_EPOCH (reproducible-builds.org) pins it, so two builds
// of the same sources can still be byte-identical.
function buildTimestamp(): string {
  const epoch = process.env.SOURCE_DATE_EPOCH
  if (epoch !== undefined && !/^\d{1,12}$/.test(epoch))
    throw new McpPolicyError(
      'ERR_BUILD_FAILED',
      `SOURCE_DATE_EPOCH must be whole seconds since 1970, not ${epoch}`,
    )
  const ms = epoch !== undefined ? Number(epoch) * 1000 : Date.now()
  return new Date(ms - (ms % 1000)).toISOString().replace(/\.000Z$/, 'Z')
}

// The default revision names the sources, so two builds of the same sources share it.
async function sourceDigest(staging: string): Promise<string> {
  const hash = createHash('sha256')
  const files = (await readdir(staging, { recursive: true })).sort()
  for (const file of files) {
    const bytes = await readFile(join(staging, file)).catch(() => undefined)
    if (bytes) hash.update(file).update('\0').update(bytes).update('\0')
  }
  return hash.digest('hex').slice(0, 16)
}

async function defaultSigningAlg(keyPath: string): Promise<string> {
  const pem = await readFile(keyPath, 'utf8').catch(() => '')
  return pem.includes('EC PRIVATE KEY') ? 'ES256' : 'RS256'
}

function explainBuildFailure(err: McpPolicyError, knownToOpa: ReadonlySet<string>): McpPolicyError {
  const output = err.message
  // OPA reports a builtin missing from the capabilities as "undefined function <name>".
  const names = [...output.matchAll(/undefined function ([\w.]+)/g)].map((m) => m[1]!)
  const unsupported = [...new Set(names)].filter((name) => knownToOpa.has(name) && !builtinTable.has(name))
  if (unsupported.length > 0) {
    return new McpPolicyError(
      'ERR_BUILD_UNSUPPORTED_BUILTIN',
      `policy calls builtin(s) this engine does not implement: ${unsupported.join(', ')}\n${output}`,
      { cause: err },
    )
  }
  return new McpPolicyError('ERR_BUILD_FAILED', output, { cause: err })
}
