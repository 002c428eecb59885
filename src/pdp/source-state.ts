import { createHash } from 'node:crypto'
import { type McpPolicyErrorCode, toMcpPolicyError } from '../errors.js'
import type { BundleSourceError, BundleSourceStatus, OnBundle } from './bundle-source.js'

/** What happened to bytes handed to {@link SourceState.deliver}. */
export type Delivery = 'loaded' | 'unchanged' | 'refused'

/**
 * The bookkeeping both bundle sources share: digest-based change detection, handing new bytes to
 * `onBundle`, and the status counters. Internal: not exported from the package.
 */
export class SourceState {
  readonly origin: string
  running = false
  #lastSuccessAt: Date | undefined
  #lastLoadAt: Date | undefined
  #lastError: BundleSourceError | undefined
  #failures = 0
  #etag: string | undefined
  #digest: string | undefined
  // The digest of the newest bundle onBundle refused: the same bytes again are not re-offered
  // (they would be refused again) and the refusal stays reported until different bytes arrive.
  #refusedDigest: string | undefined
  #refusal: BundleSourceError | undefined

  constructor(origin: string) {
    this.origin = origin
  }

  /** The digest of the bundle serving from this source, if any. */
  get digest(): string | undefined {
    return this.#digest
  }

  /**
   * Hands bytes to `onBundle` unless they are the bundle already serving or the one last refused.
   * Never throws: a refusal is recorded.
   */
  async deliver(onBundle: OnBundle, bytes: Uint8Array, etag?: string): Promise<Delivery> {
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
    if (digest === this.#digest) {
      // The source went back to the bundle serving: whatever it offered in between is moot.
      this.#refusedDigest = undefined
      this.#refusal = undefined
      this.#etag = etag ?? this.#etag
      this.confirmed()
      return 'unchanged'
    }
    if (digest === this.#refusedDigest) return 'refused'
    const fetchedAt = new Date()
    try {
      await onBundle(bytes, { origin: this.origin, ...(etag !== undefined && { etag }), digest, fetchedAt })
    } catch (err) {
      this.#refusedDigest = digest
      this.failed(err, 'ERR_BUNDLE_CORRUPT')
      this.#refusal = this.#lastError
      return 'refused'
    }
    this.#digest = digest
    this.#etag = etag
    this.#refusedDigest = undefined
    this.#refusal = undefined
    this.#lastLoadAt = new Date()
    this.confirmed()
    return 'loaded'
  }

  /** The source's current content is the bundle serving: healthy again. */
  confirmed(): void {
    this.#lastSuccessAt = new Date()
    this.#lastError = undefined
    this.#failures = 0
  }

  /** An attempt failed; anything thrown becomes a stable code (`fallback` for non-McpPolicyErrors). */
  failed(err: unknown, fallback: McpPolicyErrorCode): void {
    const error = toMcpPolicyError(err, fallback)
    this.#lastError = { code: error.code, message: error.message, at: new Date() }
    this.#failures++
  }

  /**
   * The source says its content has not changed (HTTP 304). That is a recovery only when that
   * content is the bundle serving; when it is the bundle last refused, the refusal stands.
   */
  unchanged(): void {
    if (this.#refusal) this.#lastError = this.#refusal
    else this.confirmed()
  }

  get consecutiveFailures(): number {
    return this.#failures
  }

  status(next?: { at: number; delayMs: number }): BundleSourceStatus {
    return {
      origin: this.origin,
      running: this.running,
      consecutiveFailures: this.#failures,
      ...(this.#lastSuccessAt && { lastSuccessAt: this.#lastSuccessAt }),
      ...(this.#lastLoadAt && { lastLoadAt: this.#lastLoadAt }),
      ...(this.#lastError && { lastError: { ...this.#lastError } }),
      ...(this.#etag !== undefined && { etag: this.#etag }),
      ...(this.#digest !== undefined && { digest: this.#digest }),
      ...(next && { nextAttemptAt: new Date(next.at), nextDelayMs: next.delayMs }),
    }
  }
}
