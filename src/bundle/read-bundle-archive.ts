import { gunzipSync } from 'node:zlib'
import { Parser, type ReadEntry } from 'tar'
import { McpPolicyError } from '../errors.js'

/** Size limits applied while unpacking a bundle (a bundle is untrusted input until verified). */
export interface BundleSizeLimits {
  /** Largest compressed archive accepted. Default 64 MiB. */
  maxCompressedBytes?: number
  /** Largest total unpacked size accepted (gzip bomb guard). Default 256 MiB. */
  maxUnpackedBytes?: number
}

/**
 * Unpacks an OPA bundle `.tar.gz` into a map of file path (without leading `/`) to bytes.
 * Only regular files are kept; links and devices are rejected because OPA bundles never carry them.
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_BUNDLE_CORRUPT` or `ERR_BUNDLE_TOO_LARGE`.
 * @example
 * ```ts
 * const files = await readBundleArchive(await readFile('bundle.tar.gz'))
 * files.get('policy.wasm')
 * ```
 */
export async function readBundleArchive(
  archive: Uint8Array,
  limits: BundleSizeLimits = {},
): Promise<Map<string, Uint8Array>> {
  const maxCompressed = limits.maxCompressedBytes ?? 64 * 1024 * 1024
  const maxUnpacked = limits.maxUnpackedBytes ?? 256 * 1024 * 1024
  if (archive.byteLength > maxCompressed) {
    throw new McpPolicyError(
      'ERR_BUNDLE_TOO_LARGE',
      `bundle is ${archive.byteLength} bytes, limit ${maxCompressed}`,
    )
  }
  let tarBytes: Buffer
  try {
    tarBytes = gunzipSync(archive, { maxOutputLength: maxUnpacked })
  } catch (err) {
    const code =
      (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE'
        ? 'ERR_BUNDLE_TOO_LARGE'
        : 'ERR_BUNDLE_CORRUPT'
    throw new McpPolicyError(code, `bundle is not a readable gzip stream: ${(err as Error).message}`, {
      cause: err,
    })
  }
  return parseTar(tarBytes)
}

function parseTar(tarBytes: Buffer): Promise<Map<string, Uint8Array>> {
  return new Promise((resolve, reject) => {
    const files = new Map<string, Uint8Array>()
    let failure: McpPolicyError | undefined
    const fail = (message: string, cause?: unknown) => {
      failure ??= new McpPolicyError('ERR_BUNDLE_CORRUPT', message, { cause })
    }
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        const name = entry.path.replace(/^\/+/, '').replace(/^\.\//, '')
        if (entry.type === 'Directory') {
          entry.resume()
          return
        }
        if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') {
          fail(`bundle entry ${name} is a ${entry.type}, only regular files are allowed`)
          entry.resume()
          return
        }
        if (name.split('/').includes('..')) {
          fail(`bundle entry ${name} escapes the bundle root`)
          entry.resume()
          return
        }
        const chunks: Buffer[] = []
        entry.on('data', (chunk: Buffer) => chunks.push(chunk))
        entry.on('end', () => {
          if (files.has(name)) fail(`bundle holds ${name} twice`)
          files.set(name, Buffer.concat(chunks))
        })
      },
    })
    parser.on('warn', (code: string, message: string) =>
      fail(`bundle tar is malformed (${code}): ${message}`),
    )
    parser.on('error', (err: Error) => fail(`bundle tar is malformed: ${err.message}`, err))
    parser.on('end', () => {
      if (failure) reject(failure)
      else if (files.size === 0) reject(new McpPolicyError('ERR_BUNDLE_CORRUPT', 'bundle tar holds no files'))
      else resolve(files)
    })
    try {
      parser.end(tarBytes)
    } catch (err) {
      fail(`bundle tar is malformed: ${(err as Error).message}`, err)
      reject(failure)
    }
  })
}
