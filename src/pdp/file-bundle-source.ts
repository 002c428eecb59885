import { type FSWatcher, watch } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { basename, dirname, resolve } from 'node:path'
import { McpPolicyError } from '../errors.js'
import type { BundleSource, BundleSourceStatus, OnBundle } from './bundle-source.js'
import { SourceState } from './source-state.js'

/** Options for {@link FileBundleSource}. */
export interface FileBundleSourceOptions {
  /** Quiet time after the last change before the file is re-read. Default 200 ms. */
  debounceMs?: number
  /** Largest file accepted. Default 64 MiB (the bundle loader's own default limit). */
  maxBytes?: number
}

/**
 * A bundle file on disk, watched for changes. The parent directory is watched rather than the
 * file, so an atomic replace (write aside, then rename over the file) and a Kubernetes ConfigMap
 * update (a symlink swap of `..data`) are both seen; content is compared by SHA-256, so events
 * that leave the bytes unchanged do not reload anything.
 *
 * @example
 * ```ts
 * const source = new FileBundleSource('bundles/default.tar.gz', { debounceMs: 100 })
 * await source.start(async (bytes) => {
 *   await engine.load(await loadBundle(bytes))
 * })
 * ```
 */
export class FileBundleSource implements BundleSource {
  readonly #path: string
  readonly #debounceMs: number
  readonly #maxBytes: number
  readonly #state: SourceState
  #onBundle: OnBundle | undefined
  #watcher: FSWatcher | undefined
  #timer: NodeJS.Timeout | undefined
  #reading: Promise<void> | undefined
  #again = false

  /** @throws McpPolicyError `ERR_BUNDLE_SOURCE_INVALID` for a negative debounce or size limit. */
  constructor(path: string, options: FileBundleSourceOptions = {}) {
    this.#path = resolve(path)
    this.#debounceMs = options.debounceMs ?? 200
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024
    if (!(this.#debounceMs >= 0) || !(this.#maxBytes > 0)) {
      throw new McpPolicyError(
        'ERR_BUNDLE_SOURCE_INVALID',
        `file bundle source ${path}: debounceMs must be >= 0 and maxBytes > 0`,
      )
    }
    this.#state = new SourceState(this.#path)
  }

  async start(onBundle: OnBundle): Promise<void> {
    if (this.#onBundle)
      throw new McpPolicyError('ERR_BUNDLE_SOURCE_INVALID', `${this.#path}: already started`)
    this.#onBundle = onBundle
    const dir = dirname(this.#path)
    try {
      // Watch before the first read: a change landing between the two is then never missed.
      this.#watcher = watch(dir, { persistent: false }, () => this.#changed())
    } catch (err) {
      this.#onBundle = undefined
      throw new McpPolicyError(
        'ERR_BUNDLE_SOURCE_INVALID',
        `cannot watch ${dir} for bundle ${basename(this.#path)}: ${(err as Error).message}`,
        { cause: err },
      )
    }
    // A watcher that dies (the directory was removed) is reported; the last bundle keeps serving.
    this.#watcher.on('error', (err) => this.#state.failed(err, 'ERR_BUNDLE_FETCH_FAILED'))
    this.#state.running = true
    await this.#read()
  }

  async stop(): Promise<void> {
    this.#state.running = false
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#watcher?.close()
    this.#watcher = undefined
    await this.#reading
  }

  status(): BundleSourceStatus {
    return this.#state.status()
  }

  // Every event in the directory counts, not only those naming the file: a ConfigMap swap names
  // `..data`, and some platforms give no file name at all. The digest check absorbs the noise.
  #changed(): void {
    if (!this.#state.running) return
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.#read()
    }, this.#debounceMs)
  }

  // Reads never overlap: a change during a read schedules exactly one more read after it.
  #read(): Promise<void> {
    if (this.#reading) {
      this.#again = true
      return this.#reading
    }
    this.#reading = (async () => {
      do {
        this.#again = false
        await this.#readOnce()
      } while (this.#again && this.#state.running)
    })().finally(() => {
      this.#reading = undefined
    })
    return this.#reading
  }

  async #readOnce(): Promise<void> {
    let bytes: Uint8Array
    try {
      bytes = await this.#readFile()
    } catch (err) {
      this.#state.failed(err, 'ERR_BUNDLE_FETCH_FAILED')
      return
    }
    if (this.#onBundle && this.#state.running) await this.#state.deliver(this.#onBundle, bytes)
  }

  async #readFile(): Promise<Uint8Array> {
    try {
      const info = await stat(this.#path)
      if (!info.isFile()) {
        throw new McpPolicyError('ERR_BUNDLE_FETCH_FAILED', `bundle ${this.#path} is not a regular file`)
      }
      if (info.size > this.#maxBytes) {
        throw new McpPolicyError(
          'ERR_BUNDLE_TOO_LARGE',
          `bundle ${this.#path} is ${info.size} bytes, limit ${this.#maxBytes}`,
        )
      }
      const bytes = await readFile(this.#path)
      // The file may have grown between stat and read (a writer still appending).
      if (bytes.byteLength > this.#maxBytes) {
        throw new McpPolicyError(
          'ERR_BUNDLE_TOO_LARGE',
          `bundle ${this.#path} is ${bytes.byteLength} bytes, limit ${this.#maxBytes}`,
        )
      }
      return bytes
    } catch (err) {
      if (err instanceof McpPolicyError) throw err
      const code = (err as NodeJS.ErrnoException).code
      throw new McpPolicyError(
        code === 'ENOENT' ? 'ERR_BUNDLE_NOT_FOUND' : 'ERR_BUNDLE_FETCH_FAILED',
        code === 'ENOENT'
          ? `bundle ${this.#path} does not exist (yet)`
          : `cannot read bundle ${this.#path}: ${(err as Error).message}`,
        { cause: err },
      )
    }
  }
}
