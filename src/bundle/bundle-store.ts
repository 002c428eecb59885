import { createHash } from 'node:crypto'
import { copyFile, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Keeps a bundle archive under its content digest (`<dir>/sha256-<hex>.tar.gz`) so a replay months
 * later finds the exact policy a decision was made with. Idempotent; the write is atomic (rename).
 *
 * @internal
 *
 * @example
 * ```ts
 * const { digest, path } = await storeBundle('.bundle-store', 'build/bundle.tar.gz')
 * ```
 */
export async function storeBundle(
  storeDir: string,
  archivePath: string,
): Promise<{ digest: string; path: string }> {
  const bytes = await readFile(archivePath)
  const hex = createHash('sha256').update(bytes).digest('hex')
  const path = bundleStorePath(storeDir, `sha256:${hex}`)
  await mkdir(storeDir, { recursive: true })
  const exists = await stat(path).then(
    () => true,
    () => false,
  )
  if (!exists) {
    const temporary = `${path}.${process.pid}.tmp`
    await copyFile(archivePath, temporary)
    await rename(temporary, path)
  }
  return { digest: `sha256:${hex}`, path }
}

/**
 * {@link storeBundle} for archive bytes already in memory (a bundle fetched from a bundle service).
 *
 * @internal
 */
export async function storeBundleBytes(
  storeDir: string,
  bytes: Uint8Array,
): Promise<{ digest: string; path: string }> {
  const hex = createHash('sha256').update(bytes).digest('hex')
  const path = bundleStorePath(storeDir, `sha256:${hex}`)
  await mkdir(storeDir, { recursive: true })
  const exists = await stat(path).then(
    () => true,
    () => false,
  )
  if (!exists) {
    const temporary = `${path}.${process.pid}.tmp`
    await writeFile(temporary, bytes)
    await rename(temporary, path)
  }
  return { digest: `sha256:${hex}`, path }
}

/**
 * Where the bundle with a `sha256:<hex>` digest lives in a store.
 *
 * @internal
 */
export function bundleStorePath(storeDir: string, digest: string): string {
  const match = /^sha256:([0-9a-f]{64})$/.exec(digest)
  if (!match) throw new Error(`not a sha256 digest: ${digest}`)
  return join(storeDir, `sha256-${match[1]}.tar.gz`)
}
