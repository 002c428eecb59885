import type { DecisionLog } from '../audit/decision-log.js'
import { McpPolicyError, type McpPolicyErrorCode, toMcpPolicyError } from '../errors.js'
import { durationSeconds } from '../identity/duration.js'
import type { RevocationList } from '../identity/revocation-list.js'
import { ReplayGuard } from './replay-guard.js'
import {
  type RevocationOutcome,
  type RevocationSignal,
  recordRevocationSignal,
  revocationForLog,
  type SignalDelivery,
  type SignalReceiver,
} from './revocation-record.js'
import { verifySecurityEventToken } from './security-event-token.js'
import { setErrorCode } from './set-error-code.js'
import type { SsfConfig } from './ssf-config.js'
import { eventName, ssfEventPlan } from './ssf-event-revocations.js'
import { SsfPoller } from './ssf-poller.js'
import { SsfTransmitter, type SsfTransmitterOptions } from './ssf-transmitter.js'

/** How a received signal ended, as counted in metrics. */
export type SignalOutcome = 'revoked' | 'ignored' | 'replayed' | 'refused' | 'unavailable'

/** Told of every signal a receiver handled (metrics). Must not throw. */
export type SignalObserver = (
  receiver: SignalReceiver,
  event: string,
  outcome: SignalOutcome,
  code: McpPolicyErrorCode | '',
) => void

/** What a receiver needs of the PDP around it. */
export interface SignalReceiverOptions {
  /** Where revocations go (every worker and replica sees them). */
  revocations: RevocationList
  /** Where accepted signals are recorded; omitted, nothing is logged. */
  log?: DecisionLog
  /** The identity configuration's clock skew. Default 60. */
  skewSeconds?: number
  /** The token issuers configured in `identity`: the only ones a signal may revoke for. */
  tokenIssuers: readonly string[]
  observe?: SignalObserver
}

/** What became of one SET. */
export type SsfReceipt =
  | { outcome: 'revoked' | 'ignored'; event: string; jti: string }
  /** Applied before; `settled` is false while another process is still applying it (not to be acknowledged yet). */
  | { outcome: 'replayed'; event: string; jti: string; settled: boolean }

const DEFAULT_MAX_SET_BYTES = 64 * 1024

/**
 * The OpenID Shared Signals Framework receiver of `mcp-policy serve`: verifies each SET against its
 * transmitter (see `verifySecurityEventToken`), refuses a replayed `jti` across every worker and
 * replica, turns the event into revocations (see `ssfEventPlan`), and records it in the decision
 * log (`mcp-policy/revocation`). SETs come pushed (`POST /ssf/events`, RFC 8935) or polled by an
 * {@link SsfPoller} per transmitter with poll delivery (RFC 8936).
 *
 * A SET is acknowledged only once its revocations are in the shared store and it is logged: an
 * error before that (store or log unavailable) releases the `jti`, so a redelivery is applied.
 *
 * @throws McpPolicyError `ERR_PDP_CONFIG_INVALID` for a transmitter listed twice, a push
 *   credential shared by two transmitters, a `tokenIssuers` entry that is not an identity issuer,
 *   an insecure URL or an unsupported algorithm.
 * @example
 * ```ts
 * const receiver = new SsfReceiver(config.ssf, { revocations: core.revocations, log: core.log, tokenIssuers })
 * const transmitter = receiver.transmitterForPush(req.headers.authorization)
 * if (transmitter) await receiver.receive(body, transmitter, 'push')
 * ```
 */
export class SsfReceiver {
  readonly transmitters: readonly SsfTransmitter[]
  /** Largest SET accepted, bytes. */
  readonly maxSetBytes: number
  readonly #revocations: RevocationList
  readonly #log: DecisionLog | undefined
  readonly #skew: number
  readonly #maxAge: number
  readonly #guard: ReplayGuard
  readonly #observe: SignalObserver
  readonly #pollers: SsfPoller[] = []

  constructor(
    config: SsfConfig,
    options: SignalReceiverOptions,
    transmitterOptions: SsfTransmitterOptions = {},
  ) {
    this.#revocations = options.revocations
    this.#log = options.log
    this.#skew = options.skewSeconds ?? 60
    this.#observe = options.observe ?? (() => {})
    this.maxSetBytes = config.maxSetBytes ?? DEFAULT_MAX_SET_BYTES
    this.#maxAge = durationSeconds(config.maxEventAge ?? '1d', 'ssf.maxEventAge', {
      code: 'ERR_PDP_CONFIG_INVALID',
      prefix: '',
    })
    this.#guard = new ReplayGuard(options.revocations.store, 'ssf-jti')
    const issuers = new Set<string>()
    const transmitters: SsfTransmitter[] = []
    for (const entry of config.transmitters) {
      if (issuers.has(entry.issuer))
        throw new McpPolicyError('ERR_PDP_CONFIG_INVALID', `ssf: transmitter ${entry.issuer} is listed twice`)
      issuers.add(entry.issuer)
      const transmitter = new SsfTransmitter(entry, transmitterOptions)
      for (const issuer of transmitter.tokenIssuers)
        if (!options.tokenIssuers.includes(issuer))
          throw new McpPolicyError(
            'ERR_PDP_CONFIG_INVALID',
            `ssf: transmitter ${entry.issuer}: token issuer ${issuer} is not in identity.issuers (set tokenIssuers to the issuers whose tokens its events concern)`,
          )
      for (const header of entry.push?.authorizationHeaders ?? [])
        if (transmitters.some((other) => other.acceptsPush(header)))
          throw new McpPolicyError(
            'ERR_PDP_CONFIG_INVALID',
            `ssf: transmitter ${entry.issuer} shares a push authorization header with another transmitter`,
          )
      transmitters.push(transmitter)
    }
    this.transmitters = transmitters
  }

  /** True when some transmitter delivers by push (the `/ssf/events` endpoint is open). */
  get acceptsPush(): boolean {
    return this.transmitters.some((t) => t.config.push !== undefined)
  }

  /** The transmitter whose push credential `authorization` is, or undefined. */
  transmitterForPush(authorization: string | undefined): SsfTransmitter | undefined {
    if (typeof authorization !== 'string' || authorization === '') return undefined
    // Every transmitter is compared, so timing does not say which one (or whether one) matched.
    let found: SsfTransmitter | undefined
    for (const transmitter of this.transmitters)
      if (transmitter.acceptsPush(authorization)) found ??= transmitter
    return found
  }

  /** Starts one poller per transmitter with poll delivery. */
  start(onPollError?: (transmitter: string, error: McpPolicyError) => void): void {
    for (const transmitter of this.transmitters) {
      if (!transmitter.config.poll) continue
      const poller = new SsfPoller(transmitter, (token) => this.receive(token, transmitter, 'poll'), {
        maxSetBytes: this.maxSetBytes,
        onError: (error) => onPollError?.(transmitter.issuer, error),
      })
      poller.start()
      this.#pollers.push(poller)
    }
  }

  /** Stops the pollers (a poll in flight is aborted; its SETs are delivered again later). */
  async close(): Promise<void> {
    await Promise.all(this.#pollers.splice(0).map((poller) => poller.stop()))
  }

  /**
   * Verifies, applies and records one SET from `transmitter`.
   *
   * @throws McpPolicyError `ERR_SSF_SET_INVALID`, `ERR_SSF_SIGNATURE_INVALID`,
   *   `ERR_SSF_ISSUER_MISMATCH`, `ERR_SSF_AUDIENCE_MISMATCH` (refused for good);
   *   `ERR_SSF_TRANSMITTER_UNAVAILABLE`, `ERR_STATE_UNAVAILABLE`, `ERR_LOG_WRITE_FAILED` (not applied: deliver again).
   */
  async receive(token: string, transmitter: SsfTransmitter, delivery: SignalDelivery): Promise<SsfReceipt> {
    let set: Awaited<ReturnType<typeof verifySecurityEventToken>>
    try {
      set = await verifySecurityEventToken(token, {
        issuer: transmitter.issuer,
        audience: transmitter.audience,
        keys: transmitter.keys,
        algorithms: transmitter.algorithms,
        maxBytes: this.maxSetBytes,
        maxAgeSeconds: this.#maxAge,
        skewSeconds: this.#skew,
      })
    } catch (err) {
      const error = toMcpPolicyError(err, 'ERR_SSF_SIGNATURE_INVALID')
      this.#observe('ssf', 'unknown', transient(error.code) ? 'unavailable' : 'refused', error.code)
      throw error
    }
    const event = eventName(set.type)
    const ttlMs = (this.#maxAge + 2 * this.#skew) * 1000
    let claim: Awaited<ReturnType<ReplayGuard['claim']>>
    try {
      claim = await this.#guard.claim(set.issuer, set.jti, ttlMs)
    } catch (err) {
      const error = toMcpPolicyError(err, 'ERR_STATE_UNAVAILABLE')
      this.#observe('ssf', event, 'unavailable', error.code)
      throw error
    }
    if (claim !== 'fresh') {
      this.#observe('ssf', event, 'replayed', 'ERR_SSF_SET_REPLAYED')
      return { outcome: 'replayed', event, jti: set.jti, settled: claim === 'done' }
    }
    try {
      const plan = ssfEventPlan(set, transmitter.tokenIssuers)
      let outcome: RevocationOutcome
      if (plan.action === 'revoke') {
        const revoked = []
        for (const request of plan.revocations)
          revoked.push(await this.#revocations.revoke({ ...request, event: plan.event }))
        outcome = { outcome: 'revoked', revocations: revoked.map(revocationForLog) }
      } else {
        outcome = { outcome: 'ignored', reason: plan.reason, message: plan.message }
      }
      const signal: RevocationSignal = {
        schema: 'mcp-policy/revocation/v1',
        receiver: 'ssf',
        delivery,
        issuer: set.issuer,
        jti: set.jti,
        iat: set.iat,
        event,
        event_type: set.type.slice(0, 512),
        subject: set.subject ?? null,
        occurred_at: set.occurredAt,
        ...(set.txn !== undefined && { txn: set.txn.slice(0, 256) }),
      }
      await recordRevocationSignal(this.#log, signal, outcome)
      await this.#guard.settle(set.issuer, set.jti, ttlMs)
      this.#observe('ssf', event, outcome.outcome, '')
      return { outcome: outcome.outcome, event, jti: set.jti }
    } catch (err) {
      await this.#guard.release(set.issuer, set.jti)
      const error = toMcpPolicyError(err, 'ERR_STATE_UNAVAILABLE')
      this.#observe('ssf', event, transient(error.code) ? 'unavailable' : 'refused', error.code)
      throw error
    }
  }
}

function transient(code: McpPolicyErrorCode): boolean {
  return setErrorCode(code) === undefined
}
