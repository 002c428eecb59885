import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Reason } from '../engine/decision.js'
import type { BundleRef } from '../engine/policy-engine.js'
import type { CacheStats } from '../identity/cache-stats.js'
import type {
  IdentityEvents,
  IntrospectionOutcome,
  RevocationUnavailableAction,
} from '../identity/identity-events.js'

/**
 * What the identity metrics read when scraped.
 *
 * @internal
 */
export interface IdentityMetricSources {
  introspectionCache: () => CacheStats
  /** The state store's backend and whether it is available. */
  state: () => { backend: string; available: boolean }
  /** Revocations held in this process's view, and whether the view can be trusted. */
  revocations: () => { available: boolean; entries: number }
}

/**
 * The PDP's Prometheus metrics, in a registry of its own (never prom-client's global one, so two
 * PDPs in one process — tests, embedding apps — do not collide). In cluster mode each worker
 * serves its own numbers, labelled with its `worker` id; sum them in the query.
 *
 * @internal
 */
export class PdpMetrics {
  readonly registry = new Registry()
  readonly #decisions: Counter<'path' | 'result' | 'reason'>
  readonly #latency: Histogram<'path'>
  readonly #bundle: Gauge<'name' | 'revision' | 'digest'>
  readonly #bundleFailures: Counter<'code'>
  readonly #httpErrors: Counter<'code'>
  readonly #introspections: Counter<'issuer' | 'outcome'>
  readonly #revocationUnavailable: Counter<'issuer' | 'action'>
  readonly #revoked: Counter<'issuer' | 'kind'>
  readonly #signals: Counter<'receiver' | 'event' | 'outcome' | 'code'>
  #identity: IdentityMetricSources | undefined

  constructor(options: { worker?: string; logBacklog?: () => number } = {}) {
    if (options.worker) this.registry.setDefaultLabels({ worker: options.worker })
    const registers = [this.registry]
    this.#decisions = new Counter({
      name: 'mcp_policy_decisions_total',
      help: 'Decisions by entrypoint, result (allow/deny) and first reason code',
      labelNames: ['path', 'result', 'reason'],
      registers,
    })
    this.#latency = new Histogram({
      name: 'mcp_policy_decision_duration_seconds',
      help: 'Time from request parsed to decision logged',
      labelNames: ['path'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers,
    })
    this.#bundle = new Gauge({
      name: 'mcp_policy_bundle_info',
      help: 'The bundle serving decisions (value 1)',
      labelNames: ['name', 'revision', 'digest'],
      registers,
    })
    this.#bundleFailures = new Counter({
      name: 'mcp_policy_bundle_load_failures_total',
      help: 'Bundles refused (corrupt, unsigned, bad signature, unreachable); the previous one keeps serving',
      labelNames: ['code'],
      registers,
    })
    this.#httpErrors = new Counter({
      name: 'mcp_policy_http_errors_total',
      help: 'Requests answered with an error (bad body, oversized, unauthorized, timeout)',
      labelNames: ['code'],
      registers,
    })
    const backlog = options.logBacklog
    new Gauge({
      name: 'mcp_policy_log_backlog',
      help: 'Decision log events appended but not yet written',
      registers,
      collect() {
        this.set(backlog?.() ?? 0)
      },
    })
    this.#introspections = new Counter({
      name: 'mcp_policy_introspection_requests_total',
      help: 'RFC 7662 introspection requests by issuer and outcome (active, inactive, unavailable_denied, unavailable_local)',
      labelNames: ['issuer', 'outcome'],
      registers,
    })
    this.#revocationUnavailable = new Counter({
      name: 'mcp_policy_revocation_unavailable_total',
      help: 'Tokens checked while the revocation state could not be read: denied (revocation: required) or verified_locally (optional)',
      labelNames: ['issuer', 'action'],
      registers,
    })
    this.#revoked = new Counter({
      name: 'mcp_policy_tokens_revoked_total',
      help: 'Tokens refused because a revocation of their subject, session or jti matched',
      labelNames: ['issuer', 'kind'],
      registers,
    })
    this.#signals = new Counter({
      name: 'mcp_policy_security_events_total',
      help: 'Revocation signals received (SSF SETs, back-channel logout tokens) by receiver, event, outcome (revoked, ignored, replayed, refused, unavailable) and error code',
      labelNames: ['receiver', 'event', 'outcome', 'code'],
      registers,
    })
    const identity = () => this.#identity
    new Counter({
      name: 'mcp_policy_introspection_cache_lookups_total',
      help: 'Introspection answer cache lookups by result (hit, miss)',
      labelNames: ['result'],
      registers,
      collect() {
        const stats = identity()?.introspectionCache()
        this.reset()
        this.inc({ result: 'hit' }, stats?.hits ?? 0)
        this.inc({ result: 'miss' }, stats?.misses ?? 0)
      },
    })
    new Gauge({
      name: 'mcp_policy_state_store_available',
      help: 'Whether the shared state store (revocations) can be read and its change feed delivers (1) or not (0)',
      labelNames: ['backend'],
      registers,
      collect() {
        const state = identity()?.state()
        this.reset()
        if (state) this.set({ backend: state.backend }, state.available ? 1 : 0)
      },
    })
    new Gauge({
      name: 'mcp_policy_revocations',
      help: 'Revocations held in this worker (subjects, sessions, tokens not yet past their TTL)',
      registers,
      collect() {
        this.set(identity()?.revocations().entries ?? 0)
      },
    })
  }

  /**
   * The callbacks a `TokenVerifier` reports introspections and revocation checks through.
   *
   * @example
   * ```ts
   * const verifier = new TokenVerifier(identity, { revocations, events: metrics.identityEvents() })
   * ```
   */
  identityEvents(): IdentityEvents {
    return {
      introspection: (issuer: string, outcome: IntrospectionOutcome) =>
        this.#introspections.inc({ issuer, outcome }),
      revocationUnavailable: (issuer: string, action: RevocationUnavailableAction) =>
        this.#revocationUnavailable.inc({ issuer, action }),
      revoked: (issuer, kind) => this.#revoked.inc({ issuer, kind }),
    }
  }

  /**
   * Counts one revocation signal (see `SignalObserver`): `event` is the short event name
   * (`caep:session-revoked`, `oidc:backchannel-logout`, `unknown`), `code` the error code of a
   * refusal or failure ('' otherwise).
   */
  signal(receiver: string, event: string, outcome: string, code: string): void {
    this.#signals.inc({ receiver, event, outcome, code })
  }

  /** Where the identity gauges read from when scraped. */
  identitySources(sources: IdentityMetricSources): void {
    this.#identity = sources
  }

  /** Counts one decision and its latency. */
  decision(path: string, allow: boolean, reasons: readonly Reason[], seconds: number): void {
    this.#decisions.inc({
      path,
      result: allow ? 'allow' : 'deny',
      reason: allow ? '' : (reasons[0]?.code ?? ''),
    })
    this.#latency.observe({ path }, seconds)
  }

  /** Records the bundle now serving. */
  bundleLoaded(bundle: BundleRef): void {
    this.#bundle.reset()
    this.#bundle.set({ name: bundle.name, revision: bundle.revision, digest: bundle.digest }, 1)
  }

  /** Counts a refused bundle. */
  bundleFailed(code: string): void {
    this.#bundleFailures.inc({ code })
  }

  /** Counts an error answer. */
  httpError(code: string): void {
    this.#httpErrors.inc({ code })
  }
}
