import { setTimeout as sleep } from 'node:timers/promises'
import { McpPolicyError, toMcpPolicyError } from '../errors.js'
import { backoffDelay } from '../pdp/backoff.js'
import { setErrorCode } from './set-error-code.js'
import type { SsfReceipt } from './ssf-receiver.js'
import type { SsfTransmitter } from './ssf-transmitter.js'
import { requestTransmitter } from './transmitter-request.js'

/** Options of an {@link SsfPoller}. */
export interface SsfPollerOptions {
  /** Largest SET accepted, bytes: bounds the size of one poll answer with `maxEvents`. */
  maxSetBytes: number
  /** Told of every failed poll (it is retried with backoff). Must not throw. */
  onError?: (error: McpPolicyError) => void
  /** Backoff after failed polls, ms. Default 1000 to 60000. */
  backoff?: { minMs: number; maxMs: number }
}

/**
 * RFC 8936 poll delivery from one transmitter: a loop of `POST {maxEvents, returnImmediately, ack,
 * setErrs}` to the stream's poll endpoint, each SET of an answer handed to the receiver. A SET is
 * acknowledged (in the next poll) once applied or found applied before; refused for good (bad
 * signature, wrong audience…), it is reported in `setErrs` with its RFC 8935 error code; when it
 * could not be applied now (store or keys unavailable, or another worker is still applying it) it
 * is neither, so the transmitter delivers it again.
 *
 * Polls wait for events (`returnImmediately: false`, bounded by `waitSeconds`); a transmitter
 * that answers an empty poll at once is asked again after `intervalSeconds`, one with more
 * events (`moreAvailable`) at once. A failed poll is retried after an exponential backoff with
 * jitter, its acknowledgements sent again with the next one.
 *
 * Every PDP process polls on its own: the replay check makes a SET polled by two of them apply
 * once, and each acknowledges it.
 *
 * @example
 * ```ts
 * const poller = new SsfPoller(transmitter, (set) => receiver.receive(set, transmitter, 'poll'), { maxSetBytes: 65536 })
 * poller.start()
 * await poller.stop()
 * ```
 */
export class SsfPoller {
  readonly #transmitter: SsfTransmitter
  readonly #receive: (token: string) => Promise<SsfReceipt>
  readonly #options: SsfPollerOptions
  readonly #stop = new AbortController()
  #loop: Promise<void> | undefined

  constructor(
    transmitter: SsfTransmitter,
    receive: (token: string) => Promise<SsfReceipt>,
    options: SsfPollerOptions,
  ) {
    this.#transmitter = transmitter
    this.#receive = receive
    this.#options = options
  }

  /** Starts polling (once). */
  start(): void {
    this.#loop ??= this.#run()
  }

  /** Stops polling: a poll in flight is aborted. */
  async stop(): Promise<void> {
    this.#stop.abort()
    await this.#loop
  }

  async #run(): Promise<void> {
    const poll = this.#transmitter.config.poll!
    const maxEvents = poll.maxEvents ?? 100
    const waitMs = (poll.waitSeconds ?? 30) * 1000
    const intervalMs = (poll.intervalSeconds ?? 5) * 1000
    const backoff = this.#options.backoff ?? { minMs: 1_000, maxMs: 60_000 }
    const signal = this.#stop.signal
    let endpoint: URL | undefined
    let ack: string[] = []
    let setErrs: Record<string, { err: string; description: string }> = {}
    let failures = 0
    while (!signal.aborted) {
      try {
        endpoint ??= await this.#transmitter.pollEndpoint(signal)
        const started = Date.now()
        const answer = await requestTransmitter(endpoint, `transmitter ${this.#transmitter.issuer}: poll`, {
          method: 'POST',
          authorization: poll.authorizationHeader,
          json: {
            maxEvents,
            returnImmediately: waitMs === 0,
            ...(ack.length > 0 && { ack }),
            ...(Object.keys(setErrs).length > 0 && { setErrs }),
          },
          // The transmitter holds a long poll up to its own limit: waitSeconds bounds it here.
          timeoutMs: waitMs + 5_000,
          maxBytes: maxEvents * (this.#options.maxSetBytes + 1024) + 64 * 1024,
          signal,
        })
        ack = []
        setErrs = {}
        failures = 0
        const sets = answer.sets
        if (sets !== undefined && (sets === null || typeof sets !== 'object' || Array.isArray(sets)))
          throw new McpPolicyError(
            'ERR_SSF_TRANSMITTER_UNAVAILABLE',
            `transmitter ${this.#transmitter.issuer}: poll answered "sets" that is not an object`,
          )
        const entries = Object.entries((sets ?? {}) as Record<string, unknown>).slice(0, maxEvents)
        for (const [jti, token] of entries) {
          if (signal.aborted) break
          const verdict = await this.#apply(token)
          if (verdict === 'ack') ack.push(jti)
          else if (verdict !== 'later') setErrs[jti] = verdict
        }
        if (answer.moreAvailable === true && entries.length > 0) continue
        if (entries.length === 0 && Date.now() - started < Math.min(1_000, waitMs || 1_000))
          await sleep(intervalMs, undefined, { signal }).catch(() => {})
      } catch (err) {
        if (signal.aborted) break
        failures++
        // An endpoint read from the stream configuration is read again: the stream may have moved.
        if (poll.endpoint === undefined) endpoint = undefined
        this.#options.onError?.(toMcpPolicyError(err, 'ERR_SSF_TRANSMITTER_UNAVAILABLE'))
        await sleep(backoffDelay(failures, backoff, Math.random), undefined, { signal }).catch(() => {})
      }
    }
  }

  async #apply(token: unknown): Promise<'ack' | 'later' | { err: string; description: string }> {
    if (typeof token !== 'string')
      return { err: 'invalid_request', description: 'the SET is not a string (a compact JWS)' }
    try {
      const receipt = await this.#receive(token)
      return receipt.outcome === 'replayed' && !receipt.settled ? 'later' : 'ack'
    } catch (err) {
      const error = toMcpPolicyError(err, 'ERR_SSF_SIGNATURE_INVALID')
      const code = setErrorCode(error.code)
      return code === undefined ? 'later' : { err: code, description: error.message }
    }
  }
}
