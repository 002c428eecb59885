import { Agent, type Dispatcher, request } from 'undici'
import { McpPolicyError } from '../errors.js'
import { type BackoffBounds, backoffDelay } from './backoff.js'
import type { BundleSource, BundleSourceStatus, OnBundle } from './bundle-source.js'
import { SourceState } from './source-state.js'

/** Options for {@link HttpBundleSource}. */
export interface HttpBundleSourceOptions {
  /** Time between polls while the server answers. Default 60 s (OPA's `max_delay_seconds` order). */
  pollIntervalMs?: number
  /** Retry delays after failures: exponential from `minMs` to `maxMs`, with jitter. Default 1 s to 120 s. */
  backoff?: Partial<BackoffBounds>
  /** Deadline of one fetch, headers and body together. Default 30 s. */
  timeoutMs?: number
  /** Sent as `Authorization: Bearer <token>` (OPA's `credentials.bearer`). */
  bearerToken?: string
  /** More request headers. */
  headers?: Record<string, string>
  /** Largest bundle accepted; a larger body is cut off and fails with `ERR_BUNDLE_TOO_LARGE`. Default 64 MiB. */
  maxBytes?: number
  /**
   * Allow `http:` to a host other than loopback. Off by default: a bundle (and a bearer token)
   * in clear text can be read and swapped on the path; turn on only with signed bundles and no
   * credentials.
   */
  allowPlainHttp?: boolean
  /** The undici dispatcher to use (TLS options, a proxy). Default: a private Agent closed on `stop()`. */
  dispatcher?: Dispatcher
  /** Source of jitter in [0, 1). Default `Math.random`; tests pin it. */
  random?: () => number
}

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * Polls an OPA bundle service (`GET <service>/bundles/<name>`) the way OPA does: `If-None-Match`
 * with the last `ETag`, 304 means nothing changed, 200 hands the body to `onBundle`; failures
 * retry with exponential backoff and jitter. Fetches have a deadline and a body size cap, and a
 * failure of any kind leaves the previous bundle serving.
 *
 * @example
 * ```ts
 * const source = new HttpBundleSource('https://bundles.example.com/bundles/mcp.tar.gz', {
 *   pollIntervalMs: 30_000,
 *   bearerToken: process.env.BUNDLE_TOKEN,
 * })
 * await source.start(async (bytes) => {
 *   await engine.load(await loadBundle(bytes, { verification }))
 * })
 * ```
 */
export class HttpBundleSource implements BundleSource {
  readonly #url: URL
  readonly #pollIntervalMs: number
  readonly #backoff: BackoffBounds
  readonly #timeoutMs: number
  readonly #maxBytes: number
  readonly #headers: Record<string, string>
  readonly #random: () => number
  readonly #givenDispatcher: Dispatcher | undefined
  #ownDispatcher: Agent | undefined
  readonly #state: SourceState
  #onBundle: OnBundle | undefined
  // The ETag last received with a 200, whether its bundle was accepted or refused: asking again
  // for a refused bundle would only download and refuse it again.
  #etag: string | undefined
  #timer: NodeJS.Timeout | undefined
  #next: { at: number; delayMs: number } | undefined
  #inFlight: Promise<void> | undefined
  #abort: AbortController | undefined
  // Backoff answers fetch failures only; a refused bundle is polled for a fix at the normal pace.
  #lastAttemptFailedToFetch = false

  /** @throws McpPolicyError `ERR_BUNDLE_SOURCE_INVALID` for a bad URL, scheme or bound. */
  constructor(url: string, options: HttpBundleSourceOptions = {}) {
    this.#url = parseUrl(url, options.allowPlainHttp ?? false)
    this.#pollIntervalMs = options.pollIntervalMs ?? 60_000
    this.#backoff = { minMs: options.backoff?.minMs ?? 1_000, maxMs: options.backoff?.maxMs ?? 120_000 }
    this.#timeoutMs = options.timeoutMs ?? 30_000
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024
    const positive = [this.#pollIntervalMs, this.#backoff.minMs, this.#timeoutMs, this.#maxBytes]
    if (!positive.every((n) => Number.isFinite(n) && n > 0) || this.#backoff.maxMs < this.#backoff.minMs) {
      throw new McpPolicyError(
        'ERR_BUNDLE_SOURCE_INVALID',
        `bundle source ${this.#url.href}: pollIntervalMs, backoff, timeoutMs and maxBytes must be positive, backoff.maxMs >= backoff.minMs`,
      )
    }
    this.#headers = {
      ...options.headers,
      accept: 'application/vnd.openpolicyagent.bundles, application/gzip, application/octet-stream',
      // The archive is gzip already; a transfer encoding on top would only need undoing.
      'accept-encoding': 'identity',
      ...(options.bearerToken !== undefined && { authorization: `Bearer ${options.bearerToken}` }),
    }
    this.#random = options.random ?? Math.random
    this.#givenDispatcher = options.dispatcher
    this.#state = new SourceState(this.#url.href)
  }

  async start(onBundle: OnBundle): Promise<void> {
    if (this.#onBundle)
      throw new McpPolicyError('ERR_BUNDLE_SOURCE_INVALID', `${this.#url.href}: already started`)
    this.#onBundle = onBundle
    if (!this.#givenDispatcher) this.#ownDispatcher = new Agent()
    this.#state.running = true
    await this.#attempt()
  }

  async stop(): Promise<void> {
    this.#state.running = false
    clearTimeout(this.#timer)
    this.#timer = undefined
    this.#next = undefined
    this.#abort?.abort(new Error('bundle source stopped'))
    await this.#inFlight
    const own = this.#ownDispatcher
    this.#ownDispatcher = undefined
    await own?.close()
  }

  status(): BundleSourceStatus {
    return this.#state.status(this.#next)
  }

  #attempt(): Promise<void> {
    this.#next = undefined
    this.#inFlight = this.#poll().finally(() => {
      this.#inFlight = undefined
      this.#schedule()
    })
    return this.#inFlight
  }

  #schedule(): void {
    if (!this.#state.running) return
    const failures = this.#state.consecutiveFailures
    const delay =
      failures > 0 && this.#lastAttemptFailedToFetch
        ? backoffDelay(failures, this.#backoff, this.#random)
        : this.#pollIntervalMs
    this.#next = { at: Date.now() + delay, delayMs: delay }
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.#attempt()
    }, delay)
    // The source alone must not keep a process alive (the server it feeds does that).
    this.#timer.unref()
  }

  async #poll(): Promise<void> {
    this.#lastAttemptFailedToFetch = false
    let fetched: { bytes: Uint8Array; etag: string | undefined } | 'not-modified'
    try {
      fetched = await this.#fetch()
    } catch (err) {
      if (!this.#state.running) return
      this.#lastAttemptFailedToFetch = true
      this.#state.failed(err, 'ERR_BUNDLE_FETCH_FAILED')
      return
    }
    if (!this.#state.running || !this.#onBundle) return
    if (fetched === 'not-modified') {
      this.#state.unchanged()
      return
    }
    this.#etag = fetched.etag
    await this.#state.deliver(this.#onBundle, fetched.bytes, fetched.etag)
  }

  async #fetch(): Promise<{ bytes: Uint8Array; etag: string | undefined } | 'not-modified'> {
    const abort = new AbortController()
    this.#abort = abort
    // One deadline for headers and body together: undici's own timeouts are per phase and idle-based,
    // so a server trickling a byte at a time would never trip them.
    const deadline = setTimeout(
      () => abort.abort(new Error(`no complete answer within ${this.#timeoutMs} ms`)),
      this.#timeoutMs,
    )
    try {
      const response = await request(this.#url, {
        method: 'GET',
        dispatcher: this.#givenDispatcher ?? this.#ownDispatcher,
        signal: abort.signal,
        headers: {
          ...this.#headers,
          ...(this.#etag !== undefined && { 'if-none-match': this.#etag }),
        },
      })
      const { statusCode, body } = response
      // The body is destroyed on purpose when it is too large; that error is already handled here.
      body.on('error', () => {})
      if (statusCode === 304) {
        await body.dump()
        return 'not-modified'
      }
      if (statusCode !== 200) {
        await body.dump()
        throw new McpPolicyError(
          statusCode === 404 ? 'ERR_BUNDLE_NOT_FOUND' : 'ERR_BUNDLE_FETCH_FAILED',
          `GET ${this.#url.href} answered HTTP ${statusCode}`,
        )
      }
      const declared = Number(response.headers['content-length'])
      if (Number.isFinite(declared) && declared > this.#maxBytes) {
        body.destroy()
        throw this.#tooLarge(`declares ${declared} bytes`)
      }
      const chunks: Buffer[] = []
      let total = 0
      for await (const chunk of body as AsyncIterable<Buffer>) {
        total += chunk.byteLength
        // Counted as it streams: a chunked or lying response is cut off at the cap, never buffered whole.
        if (total > this.#maxBytes) {
          body.destroy()
          throw this.#tooLarge(`sent more than ${this.#maxBytes} bytes`)
        }
        chunks.push(chunk)
      }
      const etag = response.headers.etag
      return { bytes: Buffer.concat(chunks, total), etag: typeof etag === 'string' ? etag : undefined }
    } catch (err) {
      if (err instanceof McpPolicyError) throw err
      const reason = abort.signal.aborted ? String((abort.signal.reason as Error)?.message) : describe(err)
      throw new McpPolicyError('ERR_BUNDLE_FETCH_FAILED', `GET ${this.#url.href} failed: ${reason}`, {
        cause: err,
      })
    } finally {
      clearTimeout(deadline)
      this.#abort = undefined
    }
  }

  #tooLarge(detail: string): McpPolicyError {
    return new McpPolicyError(
      'ERR_BUNDLE_TOO_LARGE',
      `GET ${this.#url.href} ${detail}, limit ${this.#maxBytes}`,
    )
  }
}

function parseUrl(url: string, allowPlainHttp: boolean): URL {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch (err) {
    throw new McpPolicyError('ERR_BUNDLE_SOURCE_INVALID', `bundle URL ${url} is not a URL`, { cause: err })
  }
  const plainOk = allowPlainHttp || loopbackHosts.has(parsed.hostname)
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && plainOk)) {
    throw new McpPolicyError(
      'ERR_BUNDLE_SOURCE_INVALID',
      `bundle URL ${parsed.href} must be https (http only on a loopback host, or with allowPlainHttp)`,
    )
  }
  if (parsed.username || parsed.password) {
    throw new McpPolicyError(
      'ERR_BUNDLE_SOURCE_INVALID',
      'bundle URL must not carry credentials; use bearerToken or headers',
    )
  }
  return parsed
}

function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : ''
    return `${code ? `${code} ` : ''}${err.message}${cause}`
  }
  return String(err)
}
