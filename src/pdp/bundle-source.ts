import type { McpPolicyErrorCode } from '../errors.js'

/** What a {@link BundleSource} says about the bytes it hands over. */
export interface BundleMeta {
  /** Where the bytes came from: the file path or the URL. */
  origin: string
  /** The HTTP `ETag` the bundle was served with, when there was one. */
  etag?: string
  /** `sha256:<hex>` of the archive bytes, the same digest {@link loadBundle} reports. */
  digest: string
  /** When the bytes were read or received. */
  fetchedAt: Date
}

/**
 * Called with every new bundle a source finds. Resolving means the bundle now serves; rejecting
 * (corrupt archive, bad signature, no entrypoint) means it was refused: the source records the
 * error in {@link BundleSourceStatus} and keeps going, and the caller keeps its previous bundle.
 */
export type OnBundle = (bytes: Uint8Array, meta: BundleMeta) => Promise<void>

/** The last error of a bundle source: a stable code for machines, a message for people. */
export interface BundleSourceError {
  code: McpPolicyErrorCode
  message: string
  at: Date
}

/** A snapshot of a bundle source's health, for `/health/ready` and metrics. */
export interface BundleSourceStatus {
  /** The file path or URL. */
  origin: string
  /** Between `start()` and `stop()`. */
  running: boolean
  /** The last time the source's current content was confirmed to be the bundle serving (loaded, 304, unchanged). */
  lastSuccessAt?: Date
  /** The last time a bundle from this source was accepted by `onBundle`. */
  lastLoadAt?: Date
  /**
   * Why the source is failing, while it is: a fetch or read error, or the refusal of the newest
   * bundle by `onBundle`. Cleared once the source's current content serves again.
   */
  lastError?: BundleSourceError
  /** Failed attempts in a row (fetch errors and refused bundles); 0 when healthy. */
  consecutiveFailures: number
  /** `ETag` of the bundle serving, when the source is HTTP and the server sent one. */
  etag?: string
  /** `sha256:<hex>` of the bundle serving from this source. */
  digest?: string
  /** When the next attempt is due, if one is scheduled (HTTP polling and backoff). */
  nextAttemptAt?: Date
  /** The delay chosen before that attempt: the poll interval, or a backoff delay after fetch failures. */
  nextDelayMs?: number
}

/**
 * Where a PDP gets its bundles: a watched file or an OPA bundle service. A source only delivers
 * bytes; parsing, verification and the atomic swap happen in `onBundle` (typically
 * `engine.load(await loadBundle(bytes, {verification}))`), so a bad bundle never replaces a good one.
 *
 * @example
 * ```ts
 * const engine = new PolicyEngine()
 * const source: BundleSource = new FileBundleSource('bundles/default.tar.gz')
 * await source.start(async (bytes) => {
 *   await engine.load(await loadBundle(bytes))
 * })
 * console.log(source.status())
 * await source.stop()
 * ```
 */
export interface BundleSource {
  /**
   * Makes the first attempt (resolving once `onBundle` has settled for it, whatever the outcome),
   * then keeps watching or polling until {@link stop}. Failures never reject: they show in
   * {@link status}.
   *
   * @throws McpPolicyError `ERR_BUNDLE_SOURCE_INVALID` when started twice or the source cannot be set up at all.
   */
  start(onBundle: OnBundle): Promise<void>
  /** Stops watching or polling, aborts a fetch in flight and waits for a running `onBundle` to settle. */
  stop(): Promise<void>
  /** The source's current health. */
  status(): BundleSourceStatus
}
