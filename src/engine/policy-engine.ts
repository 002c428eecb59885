import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import type { Bundle } from '../bundle/bundle.js'
import { type LoadBundleOptions, loadBundle } from '../bundle/load-bundle.js'
import { CanonicalText } from '../canonical-json.js'
import { McpPolicyError, toMcpPolicyError } from '../errors.js'
import { readSchema } from '../schemas.js'
import type { Decision, ResponseJudgement } from './decision.js'
import type { EvaluationClock } from './evaluation-clock.js'
import type { NdBuiltinCache } from './nd-builtin-cache.js'
import { firstResult, type MemoryLimits, type NdOptions, PolicyInstance } from './policy-instance.js'
import { checkIsJson, checkJsonSize, serializeInput } from './serialize-input.js'

/** The bundle a decision was made with, as the decision log names it. */
export interface BundleRef {
  name: string
  revision: string
  digest: string
}

/** Options for {@link PolicyEngine}. */
export interface PolicyEngineOptions {
  /** WebAssembly memory bounds per instance. */
  memory?: MemoryLimits
  /** Largest serialized input accepted, in bytes. Default 1 MiB. */
  maxInputBytes?: number
  /**
   * Where each evaluation's job and start are published while it runs, for a thread that stops
   * this one past a deadline (the gateway's decision pool). Default: none.
   *
   * @internal
   */
  clock?: EvaluationClock
  /**
   * Longest one evaluation may run, in ms (growing by 1 s per MiB of input): past it the evaluation
   * fails `ERR_ENGINE_DEADLINE` (a deny). Each bundle's module is instrumented at load so that the
   * loops compiled from the policy's rules count their iterations and check the clock every 1,000
   * (`fuel-instrumentation.ts`): a runaway rule is stopped in this thread. 0 or absent: no
   * deadline. What it costs is in `docs/benchmarks.md` (evaluation deadline).
   */
  deadlineMs?: number
}

/** Options for one evaluation. */
export interface EvaluateOptions extends NdOptions {
  /**
   * The caller's job number (positive), published on the engine's {@link EvaluationClock} while
   * this evaluation runs.
   *
   * @internal
   */
  job?: number
}

/** A raw evaluation: the value at the entrypoint (undefined when the policy produced none). */
export interface Evaluation {
  result: unknown
  ndBuiltinCache: NdBuiltinCache
  bundle: BundleRef
  metrics: { timer_eval_ns: number }
}

/** The outcome of {@link PolicyEngine.decide}: always a valid decision; `error` says why it is a fail-closed deny. */
export interface DecisionOutcome {
  decision: Decision
  error?: McpPolicyError
  ndBuiltinCache: NdBuiltinCache
  bundle?: BundleRef
  metrics: { timer_eval_ns: number }
}

/** The outcome of {@link PolicyEngine.judgeResponse}. */
export interface ResponseOutcome {
  judgement: ResponseJudgement
  error?: McpPolicyError
  ndBuiltinCache: NdBuiltinCache
  bundle?: BundleRef
  metrics: { timer_eval_ns: number }
}

/** The entrypoint judging MCP requests. */
export const DECISION_ENTRYPOINT = 'mcp/decision'
/** The entrypoint judging tool results. */
export const RESPONSE_ENTRYPOINT = 'mcp/response'

/**
 * The decision engine: evaluates a compiled policy bundle with opa-wasm and this project's host
 * builtins. Holds no module-level state, so each worker thread can own one. Swapping bundles is
 * atomic: an evaluation runs entirely on the instance it started with.
 *
 * @example
 * ```ts
 * const engine = await PolicyEngine.fromBundleFile('bundles/default.tar.gz')
 * const { decision } = engine.decide(input)
 * if (!decision.allow) console.log(decision.reasons)
 * ```
 */
export class PolicyEngine {
  #current: PolicyInstance | undefined
  #deadlineStops = 0
  readonly #options: PolicyEngineOptions
  readonly #maxInputBytes: number
  readonly #validateDecision: ValidateFunction
  readonly #validateResponse: ValidateFunction

  constructor(options: PolicyEngineOptions = {}) {
    this.#options = options
    this.#maxInputBytes = options.maxInputBytes ?? 1024 * 1024
    const ajv = new Ajv2020({ allErrors: false, strict: true })
    this.#validateDecision = ajv.compile(readSchema('decision'))
    this.#validateResponse = ajv.compile(readSchema('response'))
  }

  /**
   * Loads a bundle file and returns an engine serving it.
   *
   * @throws McpPolicyError `ERR_BUNDLE_*` or `ERR_ENGINE_INSTANTIATE`.
   */
  static async fromBundleFile(
    path: string,
    options: PolicyEngineOptions & LoadBundleOptions = {},
  ): Promise<PolicyEngine> {
    const engine = new PolicyEngine(options)
    await engine.load(await loadBundle(path, options))
    return engine
  }

  /**
   * Instantiates a bundle and makes it current. The previous bundle keeps serving until the new one
   * is fully ready; if instantiation fails, the previous one stays current.
   *
   * @throws McpPolicyError `ERR_ENGINE_INSTANTIATE` or `ERR_ENGINE_ENTRYPOINT_UNKNOWN`.
   */
  async load(bundle: Bundle): Promise<BundleRef> {
    const instance = await PolicyInstance.create(bundle, {
      memory: this.#options.memory,
      deadlineMs: this.#options.deadlineMs,
    })
    if (!instance.entrypoints.has(DECISION_ENTRYPOINT)) {
      throw new McpPolicyError(
        'ERR_ENGINE_ENTRYPOINT_UNKNOWN',
        `bundle ${bundle.name} has no ${DECISION_ENTRYPOINT} entrypoint`,
      )
    }
    this.#current = instance
    return refOf(bundle)
  }

  /** How many evaluations were stopped at the deadline ({@link PolicyEngineOptions.deadlineMs}). */
  get deadlineStops(): number {
    return this.#deadlineStops
  }

  /** The bundle currently serving, if any. */
  get bundle(): BundleRef | undefined {
    return this.#current ? refOf(this.#current.bundle) : undefined
  }

  /**
   * The merged data document of the bundle currently serving (`undefined` without one): what the
   * normalizer reads its argument analyzers from (`analysisDeclarations`).
   */
  get data(): unknown {
    return this.#current?.bundle.data
  }

  /** Entrypoints of the current bundle. */
  get entrypoints(): readonly string[] {
    return this.#current ? [...this.#current.entrypoints] : []
  }

  /**
   * Evaluates an entrypoint and returns its value (undefined when the policy produced none).
   *
   * @throws McpPolicyError `ERR_ENGINE_*`, `ERR_INPUT_*`.
   */
  evaluate(entrypoint: string, input: unknown, options: EvaluateOptions = {}): Evaluation {
    return this.#evaluateJson(entrypoint, serializeInput(input, this.#maxInputBytes), options)
  }

  /**
   * Like {@link evaluate} for input that is already JSON text, skipping `JSON.stringify`. A
   * {@link CanonicalText} (made by `canonicalJson`, so JSON) is evaluated as it is: the PDP makes
   * one per input, for the engine and the log. A plain string is first checked to be JSON:
   * OPA's module evaluates text it cannot parse as if there were no input at all, which a policy
   * like `allow if not input.blocked` would allow.
   *
   * @throws McpPolicyError `ERR_ENGINE_*`, `ERR_INPUT_TOO_LARGE`, `ERR_INPUT_UNSERIALIZABLE` (text
   * that is not JSON).
   */
  evaluateJson(entrypoint: string, json: string | CanonicalText, options: EvaluateOptions = {}): Evaluation {
    const text = json instanceof CanonicalText ? json.json : json
    checkJsonSize(text, this.#maxInputBytes)
    if (typeof json === 'string') checkIsJson(text)
    return this.#evaluateJson(entrypoint, text, options)
  }

  #evaluateJson(entrypoint: string, serialized: string | undefined, options: EvaluateOptions): Evaluation {
    const instance = this.#current
    if (!instance) throw new McpPolicyError('ERR_ENGINE_NO_BUNDLE', 'no bundle is loaded')
    const start = process.hrtime.bigint()
    const clock = this.#options.clock
    let evaluated: ReturnType<PolicyInstance['evaluate']>
    try {
      if (clock) {
        clock.begin(options.job ?? -1, start, serialized?.length ?? 0)
        try {
          evaluated = instance.evaluate(entrypoint, serialized, options)
        } finally {
          clock.end()
        }
      } else evaluated = instance.evaluate(entrypoint, serialized, options)
    } catch (err) {
      if (err instanceof McpPolicyError && err.code === 'ERR_ENGINE_DEADLINE') this.#deadlineStops++
      throw err
    }
    const { resultSet, ndBuiltinCache } = evaluated
    const timer_eval_ns = Number(process.hrtime.bigint() - start)
    return {
      result: firstResult(resultSet),
      ndBuiltinCache,
      bundle: refOf(instance.bundle),
      metrics: { timer_eval_ns },
    }
  }

  /**
   * Judges an input document at `mcp/decision`. Never throws: every failure (no bundle, trap,
   * missing builtin, undefined or malformed result, bad input) is a deny whose single reason
   * carries the `ERR_*` code.
   */
  decide(input: unknown, options: EvaluateOptions = {}): DecisionOutcome {
    return this.#decide(() => this.evaluate(DECISION_ENTRYPOINT, input, options))
  }

  /** {@link decide} for input that is already JSON text (see {@link evaluateJson}). Never throws. */
  decideJson(json: string | CanonicalText, options: EvaluateOptions = {}): DecisionOutcome {
    return this.#decide(() => this.evaluateJson(DECISION_ENTRYPOINT, json, options))
  }

  #decide(run: () => Evaluation): DecisionOutcome {
    let evaluation: Evaluation | undefined
    try {
      evaluation = run()
      const decision = this.#checkDecision(evaluation.result)
      return {
        decision,
        ndBuiltinCache: evaluation.ndBuiltinCache,
        bundle: evaluation.bundle,
        metrics: evaluation.metrics,
      }
    } catch (err) {
      const error = toMcpPolicyError(err, 'ERR_ENGINE_TRAP')
      return {
        decision: {
          allow: false,
          status: error.status,
          reasons: [{ code: error.code, message: error.message }],
          obligations: {},
        },
        error,
        ndBuiltinCache: evaluation?.ndBuiltinCache ?? {},
        bundle: evaluation?.bundle ?? this.bundle,
        metrics: evaluation?.metrics ?? { timer_eval_ns: 0 },
      }
    }
  }

  /**
   * Judges a tool result at `mcp/response`. Never throws; failures deny like {@link decide}.
   */
  judgeResponse(input: unknown, options: EvaluateOptions = {}): ResponseOutcome {
    let evaluation: Evaluation | undefined
    try {
      evaluation = this.evaluate(RESPONSE_ENTRYPOINT, input, options)
      const judgement = this.#checkResponse(evaluation.result)
      return {
        judgement,
        ndBuiltinCache: evaluation.ndBuiltinCache,
        bundle: evaluation.bundle,
        metrics: evaluation.metrics,
      }
    } catch (err) {
      const error = toMcpPolicyError(err, 'ERR_ENGINE_TRAP')
      return {
        judgement: { allow: false, redactions: [], reasons: [{ code: error.code, message: error.message }] },
        error,
        ndBuiltinCache: evaluation?.ndBuiltinCache ?? {},
        bundle: evaluation?.bundle ?? this.bundle,
        metrics: evaluation?.metrics ?? { timer_eval_ns: 0 },
      }
    }
  }

  #checkDecision(result: unknown): Decision {
    if (result === undefined)
      throw new McpPolicyError('ERR_DECISION_UNDEFINED', `${DECISION_ENTRYPOINT} is undefined`)
    if (!this.#validateDecision(result)) {
      throw new McpPolicyError(
        'ERR_DECISION_MALFORMED',
        `${DECISION_ENTRYPOINT}: ${describeAjvErrors(this.#validateDecision)}`,
      )
    }
    const raw = result as Partial<Decision> & Pick<Decision, 'allow' | 'reasons'>
    const status = raw.status ?? (raw.allow ? 200 : 403)
    // A decision that allows with an error status (or denies with a success one) is a policy bug.
    if (raw.allow !== status < 400) {
      throw new McpPolicyError(
        'ERR_DECISION_MALFORMED',
        `${DECISION_ENTRYPOINT}: allow=${raw.allow} contradicts status ${status}`,
      )
    }
    return { allow: raw.allow, status, reasons: raw.reasons, obligations: raw.obligations ?? {} }
  }

  #checkResponse(result: unknown): ResponseJudgement {
    if (result === undefined)
      throw new McpPolicyError('ERR_DECISION_UNDEFINED', `${RESPONSE_ENTRYPOINT} is undefined`)
    if (!this.#validateResponse(result)) {
      throw new McpPolicyError(
        'ERR_DECISION_MALFORMED',
        `${RESPONSE_ENTRYPOINT}: ${describeAjvErrors(this.#validateResponse)}`,
      )
    }
    const raw = result as Partial<ResponseJudgement> & Pick<ResponseJudgement, 'allow' | 'reasons'>
    const judgement: ResponseJudgement = {
      allow: raw.allow,
      redactions: raw.redactions ?? [],
      reasons: raw.reasons,
    }
    // Kept as the policy returned it: the log records the judgement, and replay compares with it.
    if (raw.log_redact !== undefined) judgement.log_redact = raw.log_redact
    return judgement
  }
}

function refOf(bundle: Bundle): BundleRef {
  return { name: bundle.name, revision: bundle.revision, digest: bundle.digest }
}

function describeAjvErrors(validate: ValidateFunction): string {
  const [first] = validate.errors ?? []
  return first
    ? `${first.instancePath || '/'} ${first.message ?? 'is invalid'}`
    : 'does not match the decision schema'
}
