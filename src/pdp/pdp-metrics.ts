import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Reason } from '../engine/decision.js'
import type { BundleRef } from '../engine/policy-engine.js'

/**
 * The PDP's Prometheus metrics, in a registry of its own (never prom-client's global one, so two
 * PDPs in one process — tests, embedding apps — do not collide). In cluster mode each worker
 * serves its own numbers, labelled with its `worker` id; sum them in the query.
 */
export class PdpMetrics {
  readonly registry = new Registry()
  readonly #decisions: Counter<'path' | 'result' | 'reason'>
  readonly #latency: Histogram<'path'>
  readonly #bundle: Gauge<'name' | 'revision' | 'digest'>
  readonly #bundleFailures: Counter<'code'>
  readonly #httpErrors: Counter<'code'>

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
