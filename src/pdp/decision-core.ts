import { createPrivateKey } from 'node:crypto'
import { access, readFile } from 'node:fs/promises'
import { DecisionLog } from '../audit/decision-log.js'
import { storeBundleBytes } from '../bundle/bundle-store.js'
import { loadBundle } from '../bundle/load-bundle.js'
import type { BundleVerification } from '../bundle/verify-bundle-signature.js'
import type { EvaluationClock } from '../engine/evaluation-clock.js'
import { PolicyEngine } from '../engine/policy-engine.js'
import { McpPolicyError, toMcpPolicyError } from '../errors.js'
import { devIssuerConfig, loadOrCreateDevKey } from '../identity/dev-token.js'
import type { IdentityConfig } from '../identity/identity-config.js'
import { RevocationList } from '../identity/revocation-list.js'
import { maxTokenLifetimes } from '../identity/token-policy.js'
import { TokenVerifier } from '../identity/token-verifier.js'
import { loadArgumentAnalyzers } from '../normalize/argument-analysis/analyze-arguments.js'
import { RequestNormalizer } from '../normalize/request-normalizer.js'
import { openStateStore } from '../state/open-state-store.js'
import type { StateStore } from '../state/state-store.js'
import type { BundleSource } from './bundle-source.js'
import { DecisionService } from './decision-service.js'
import { FileBundleSource } from './file-bundle-source.js'
import { HttpBundleSource } from './http-bundle-source.js'
import type { PdpConfig } from './pdp-config.js'
import { PdpMetrics } from './pdp-metrics.js'

/** What a decision core needs of the configuration: the PDP's and the gateway's share it. */
export type DecisionCoreConfig = Pick<
  PdpConfig,
  'bundle' | 'identity' | 'devKeyDir' | 'normalize' | 'log' | 'limits' | 'bundleStore' | 'state'
>

/** An opened decision core: the engine with its bundle source, the identity, the log, the service. */
export interface DecisionCore {
  service: DecisionService
  metrics: PdpMetrics
  log: DecisionLog | undefined
  /** The identity configuration in force (the dev issuer when none was given). */
  identity: IdentityConfig
  /** The state store (`config.state`, in-memory by default), open until {@link DecisionCore.close}. */
  state: StateStore
  /** The revocations every token is checked against; a revocation receiver writes here. */
  revocations: RevocationList
  /** Loads new bundle bytes (verified, atomic swap); a bad bundle leaves the old one serving. */
  loadBundleBytes(bytes: Uint8Array, origin: string): Promise<void>
  /**
   * Facts for readiness endpoints, which answer without caller authentication on the gateway (and
   * on a PDP without `callerAuth`): the bundle (name, revision, digest), the last bundle error's
   * code and time, the bundle source's kind, health and digest, the log. Never a file path, a URL
   * or an error message (they name both): those are the operator's, in the configuration.
   */
  status(): Record<string, unknown>
  /** Stops watching or polling for bundles (first step of a drain). */
  stopBundleSource(): Promise<void>
  /** Stops the bundle source, then flushes and fsyncs the log. */
  close(): Promise<void>
}

/** Options for {@link openDecisionCore}. */
export interface OpenDecisionCoreOptions {
  /** Worker id: in the log's chain id and labels, and metric labels. */
  worker: string
  /** Chain id prefix: `<chain>-<worker>-<time>`. */
  chain: string
  /**
   * Start with these bundle bytes and watch no bundle source: whoever opened the core hands it
   * every later bundle through `loadBundleBytes` (the gateway's decision workers, fed by the
   * gateway's main thread, which alone watches the source and writes the bundle store).
   */
  bundle?: { bytes: Uint8Array; origin: string }
  /**
   * Called with every bundle once it serves here (the first one included), before the source
   * counts it loaded: the gateway's main thread hands it on to its decision workers. Must not throw.
   */
  onBundle?: (bytes: Uint8Array, origin: string) => Promise<void>
  /**
   * Where the engine publishes each evaluation while it runs (a gateway decision worker's clock,
   * read by the pool, which terminates the worker past the evaluation deadline).
   */
  clock?: EvaluationClock
}

/**
 * Opens what every enforcement point built on the engine shares — the PDP (`serve`) and the MCP
 * gateway (`gateway`): the policy engine with its bundle loaded (refusing to start without one when
 * the bundle is a file), the bundle source that reloads it, the token verifier with its shared
 * revocations (the state store of `config.state`, loaded before the first decision), this
 * process's decision-log chain, metrics, and the {@link DecisionService} joining them.
 *
 * @throws McpPolicyError bundle (`ERR_BUNDLE_*`), log (`ERR_LOG_*`), identity
 *   (`ERR_IDENTITY_CONFIG_INVALID`) and state (`ERR_STATE_CONFIG_INVALID`) errors.
 */
export async function openDecisionCore(
  config: DecisionCoreConfig,
  options: OpenDecisionCoreOptions,
): Promise<DecisionCore> {
  const { worker } = options
  const identity: IdentityConfig = config.identity ?? {
    issuers: [devIssuerConfig(await loadOrCreateDevKey(config.devKeyDir))],
  }
  const verification = await bundleVerification(config)
  // The SQL parser's WebAssembly compiles here, once, so no request waits for it.
  await loadArgumentAnalyzers()
  const engine = new PolicyEngine({
    maxInputBytes: config.limits.maxBodyBytes,
    clock: options.clock,
    // A gateway decision worker (with a clock) is stopped by its pool past the deadline instead.
    deadlineMs: options.clock ? 0 : config.limits.evaluationDeadlineMs,
  })
  const log = config.log
    ? await DecisionLog.open({
        dir: config.log.dir,
        chain: `${options.chain}-${worker}-${Date.now().toString(36)}`,
        durability: config.log.durability,
        rotateBytes: config.log.rotateBytes,
        signingKey: config.log.signingKeyFile ? await readSigningKey(config.log.signingKeyFile) : undefined,
        labels: { worker },
      })
    : undefined
  const metrics = new PdpMetrics({ worker, logBacklog: () => log?.backlog ?? 0 })
  // Revocations are read before the first decision: a restarted worker must not serve a token
  // revoked while it was down. An unreachable Redis is no startup failure: tokens of issuers with
  // `revocation: required` are refused until it is back.
  const state = await openStateStore(config.state)
  // Resolved once the verifier has validated the configuration (a bad duration is its error).
  let lifetimes: ((issuer: string) => number | undefined) | undefined
  const revocations = new RevocationList(state, {
    maxTokenLifetime: (issuer) => lifetimes?.(issuer),
    skewSeconds: identity.clockSkewSeconds ?? 60,
  })
  const closeState = async () => {
    revocations.close()
    await state.close()
  }
  let verifier: TokenVerifier
  try {
    verifier = new TokenVerifier(identity, { revocations, events: metrics.identityEvents() })
    lifetimes = maxTokenLifetimes(identity)
    await revocations.start()
  } catch (err) {
    await closeState()
    await log?.close()
    throw err
  }
  metrics.identitySources({
    introspectionCache: () => verifier.introspectionCacheStats(),
    state: () => ({ backend: state.backend, available: state.available }),
    revocations: () => ({ available: revocations.available, entries: revocations.size }),
  })
  const service = new DecisionService({
    engine,
    normalizer: new RequestNormalizer(config.normalize, verifier),
    log,
    observe: (path, allow, reasons, seconds) => metrics.decision(path, allow, reasons, seconds),
  })

  let lastBundleError: { code: string; message: string; at: string } | undefined
  const loadBundleBytes = async (bytes: Uint8Array, origin: string) => {
    try {
      const bundle = await loadBundle(bytes, { verification })
      // Threads of one process would race over the store's temporary file: the opener stores.
      if (!options.bundle) await storeBundleBytes(config.bundleStore, bytes)
      const ref = await engine.load(bundle)
      metrics.bundleLoaded(ref)
      lastBundleError = undefined
    } catch (err) {
      const error = toMcpPolicyError(err, 'ERR_BUNDLE_CORRUPT', `bundle from ${origin}`)
      lastBundleError = { code: error.code, message: error.message, at: new Date().toISOString() }
      metrics.bundleFailed(error.code)
      throw error
    }
    await options.onBundle?.(bytes, origin)
  }
  if (options.bundle) {
    try {
      await loadBundleBytes(options.bundle.bytes, options.bundle.origin)
    } catch (err) {
      await closeState()
      await log?.close()
      throw err
    }
  }
  // A file source must yield a bundle at startup (a typo in the path should not start a PDP that
  // never gets ready); a bundle service may be down at startup: the PDP starts not ready and polls.
  // A source that names no bundle at all (an empty file path) is a missing bundle, not a PDP that
  // starts and never gets ready.
  if (!options.bundle && !config.bundle.url) await readBundleFile(config.bundle.file ?? '')
  const source: BundleSource = options.bundle
    ? new HandedBundleSource(options.bundle.origin)
    : config.bundle.url
      ? new HttpBundleSource(config.bundle.url, {
          pollIntervalMs: (config.bundle.pollIntervalSeconds ?? 30) * 1000,
          bearerToken: config.bundle.token,
          allowPlainHttp: config.bundle.allowPlainHttp,
        })
      : new FileBundleSource(config.bundle.file!)
  await source.start((bytes, meta) => loadBundleBytes(bytes, meta.origin))
  if (!config.bundle.url && !engine.bundle) {
    await source.stop()
    await closeState()
    await log?.close()
    throw new McpPolicyError(
      lastBundleError?.code === 'ERR_BUNDLE_NOT_FOUND' ? 'ERR_BUNDLE_NOT_FOUND' : 'ERR_BUNDLE_CORRUPT',
      lastBundleError?.message ?? `no bundle could be loaded from ${config.bundle.file}`,
    )
  }
  let sourceStopped: Promise<void> | undefined
  const stopBundleSource = () => {
    sourceStopped ??= source.stop()
    return sourceStopped
  }
  return {
    service,
    metrics,
    log,
    identity,
    state,
    revocations,
    loadBundleBytes,
    status: () => {
      const bundle = engine.bundle
      const from = source.status()
      return {
        bundle: bundle ? { name: bundle.name, revision: bundle.revision, digest: bundle.digest } : null,
        last_bundle_error: lastBundleError ? { code: lastBundleError.code, at: lastBundleError.at } : null,
        bundle_source: {
          kind: options.bundle ? 'handed' : config.bundle.url ? 'http' : 'file',
          running: from.running,
          consecutiveFailures: from.consecutiveFailures,
          ...(from.digest !== undefined && { digest: from.digest }),
          ...(from.lastSuccessAt && { lastSuccessAt: from.lastSuccessAt }),
          ...(from.lastLoadAt && { lastLoadAt: from.lastLoadAt }),
          ...(from.lastError && { lastError: { code: from.lastError.code, at: from.lastError.at } }),
          ...(from.nextAttemptAt && { nextAttemptAt: from.nextAttemptAt, nextDelayMs: from.nextDelayMs }),
        },
        log: log ? { chain: log.chain, backlog: log.backlog } : null,
        state: { backend: state.backend, available: state.available },
        revocations: { available: revocations.available, entries: revocations.size },
        evaluation: { deadlineMs: config.limits.evaluationDeadlineMs, deadlineStops: engine.deadlineStops },
      }
    },
    stopBundleSource,
    async close() {
      await stopBundleSource()
      await log?.close()
      await closeState()
    },
  }
}

/** The source of a core whose opener hands it every bundle: nothing to watch, nothing to stop. */
class HandedBundleSource implements BundleSource {
  readonly #origin: string
  #running = false

  constructor(origin: string) {
    this.#origin = origin
  }

  async start(): Promise<void> {
    this.#running = true
  }

  async stop(): Promise<void> {
    this.#running = false
  }

  status() {
    return { origin: this.#origin, running: this.#running, consecutiveFailures: 0 }
  }
}

async function readBundleFile(path: string): Promise<void> {
  try {
    await access(path)
  } catch (err) {
    throw new McpPolicyError(
      'ERR_BUNDLE_NOT_FOUND',
      `cannot read bundle ${path}: ${(err as Error).message} (build it with mcp-policy build)`,
      { cause: err },
    )
  }
}

async function bundleVerification(config: DecisionCoreConfig): Promise<BundleVerification | undefined> {
  const keys = config.bundle.verificationKeys
  if (!keys?.length) return undefined
  const entries = await Promise.all(
    keys.map(
      async (k) =>
        [k.keyId, { key: await readFile(k.file, 'utf8'), algorithm: k.algorithm ?? 'RS256' }] as const,
    ),
  )
  return { keys: Object.fromEntries(entries) }
}

async function readSigningKey(path: string) {
  try {
    return createPrivateKey(await readFile(path, 'utf8'))
  } catch (err) {
    throw new McpPolicyError('ERR_LOG_KEY_INVALID', `cannot read checkpoint signing key ${path}`, {
      cause: err,
    })
  }
}
