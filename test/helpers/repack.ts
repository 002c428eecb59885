import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { create } from 'tar'
import { readBundleArchive } from '../../src/bundle/read-bundle-archive.js'

/**
 * Rewrites a bundle archive: unpacks it, lets the test edit the file map, and packs it again with
 * the tar library — the way an attacker or a broken pipeline would produce a tampered bundle.
 */
export async function repackBundle(
  archive: Uint8Array,
  edit: (files: Map<string, Uint8Array>) => void,
): Promise<Uint8Array> {
  const files = await readBundleArchive(archive)
  edit(files)
  return packFiles(files)
}

/** Packs a file map into a `.tar.gz` and returns its bytes. */
export async function packFiles(files: ReadonlyMap<string, Uint8Array>): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-repack-'))
  for (const [name, bytes] of files) {
    await mkdir(dirname(join(dir, 'root', name)), { recursive: true })
    await writeFile(join(dir, 'root', name), bytes)
  }
  const out = join(dir, 'out.tar.gz')
  await create({ gzip: true, cwd: join(dir, 'root'), file: out, portable: true }, [...files.keys()])
  const { readFile } = await import('node:fs/promises')
  return readFile(out)
}
