import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { McpPolicyError } from '../errors.js'
import type { Bundle, BundleManifest } from './bundle.js'
import { type BundleSizeLimits, readBundleArchive } from './read-bundle-archive.js'
import { type BundleVerification, verifyBundleSignature } from './verify-bundle-signature.js'

/** Options for {@link loadBundle}. */
export interface LoadBundleOptions extends BundleSizeLimits {
  /** When set, the bundle must carry a valid signature by one of these keys. */
  verification?: BundleVerification
}

/**
 * Reads an OPA WebAssembly bundle (`opa build -t wasm` output) from a path or bytes, verifies its
 * signature when verification is configured, and returns the policy module and data.
 *
 * @throws McpPolicyError `ERR_BUNDLE_NOT_FOUND`, `ERR_BUNDLE_CORRUPT`, `ERR_BUNDLE_TOO_LARGE`,
 *   `ERR_BUNDLE_SIGNATURE_MISSING`, `ERR_BUNDLE_SIGNATURE_INVALID`.
 * @example
 * ```ts
 * const bundle = await loadBundle('bundles/default.tar.gz')
 * console.log(bundle.revision, bundle.digest)
 * ```
 */
export async function loadBundle(
  source: string | Uint8Array,
  options: LoadBundleOptions = {},
): Promise<Bundle> {
  const archive = typeof source === 'string' ? await readArchiveFile(source) : source
  const digest = `sha256:${createHash('sha256').update(archive).digest('hex')}`
  const files = await readBundleArchive(archive, options)
  if (options.verification) await verifyBundleSignature(files, options.verification)

  const wasmPaths = [...files.keys()].filter((p) => p.endsWith('.wasm'))
  if (wasmPaths.length !== 1) {
    throw new McpPolicyError(
      'ERR_BUNDLE_CORRUPT',
      `bundle must hold exactly one WebAssembly module, found ${wasmPaths.length} (build it with opa build -t wasm)`,
    )
  }
  const wasm = files.get(wasmPaths[0]!)!
  const manifest = parseJsonFile<BundleManifest>(files, '.manifest') ?? {}
  const data = mergeData(files)
  const name = typeof manifest.metadata?.name === 'string' ? manifest.metadata.name : 'default'
  return {
    name,
    revision: manifest.revision ?? '',
    digest,
    manifest,
    wasm,
    data,
    signed: Boolean(options.verification),
  }
}

async function readArchiveFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new McpPolicyError(
      code === 'ENOENT' ? 'ERR_BUNDLE_NOT_FOUND' : 'ERR_BUNDLE_CORRUPT',
      code === 'ENOENT'
        ? `bundle ${path} does not exist (build it with mcp-policy build)`
        : `cannot read bundle ${path}: ${(err as Error).message}`,
      { cause: err },
    )
  }
}

function parseJsonFile<T>(files: ReadonlyMap<string, Uint8Array>, path: string): T | undefined {
  const bytes = files.get(path)
  if (!bytes) return undefined
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as T
  } catch (err) {
    throw new McpPolicyError('ERR_BUNDLE_CORRUPT', `bundle file ${path} is not valid JSON`, { cause: err })
  }
}

// data.json files may sit in sub-directories; their directory is their path in the data tree.
function mergeData(files: ReadonlyMap<string, Uint8Array>): Record<string, unknown> {
  const root: Record<string, unknown> = Object.create(null)
  for (const path of files.keys()) {
    if (path !== 'data.json' && !path.endsWith('/data.json')) continue
    const value = parseJsonFile<unknown>(files, path)
    const segments = path.split('/').slice(0, -1)
    let node = root
    for (const segment of segments) {
      const next = node[segment]
      if (next === undefined) node[segment] = Object.create(null)
      else if (typeof next !== 'object' || next === null || Array.isArray(next)) {
        throw new McpPolicyError('ERR_BUNDLE_CORRUPT', `data at ${path} conflicts with another data file`)
      }
      node = node[segment] as Record<string, unknown>
    }
    if (segments.length === 0 || typeof value === 'object') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new McpPolicyError('ERR_BUNDLE_CORRUPT', `${path} must hold a JSON object`)
      }
      Object.assign(node, value)
    }
  }
  return root
}
