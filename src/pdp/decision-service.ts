import { randomUUID } from 'node:crypto'
import { type DecisionRecord, REJECTED_PATH } from '../audit/decision-event.js'
import type { DecisionLog } from '../audit/decision-log.js'
import { type SensitiveNames, sensitiveNames, sensitivePointers } from '../audit/sensitive-names.js'
import { CanonicalText } from '../canonical-json.js'
import type { Decision, Reason, ResponseJudgement } from '../engine/decision.js'
import {
  type BundleRef,
  DECISION_ENTRYPOINT,
  type DecisionOutcome,
  type PolicyEngine,
  RESPONSE_ENTRYPOINT,
} from '../engine/policy-engine.js'
import { McpPolicyError, toMcpPolicyError } from '../errors.js'
import {
  type AnalysisDeclarations,
  analysisDeclarations,
} from '../normalize/argument-analysis/analysis-declarations.js'
import { analyzeTool } from '../normalize/argument-analysis/analyze-arguments.js'
import {
  type ToolInputSchemas,
  toolInputSchemas,
  validateTool,
} from '../normalize/argument-validation/tool-input-schemas.js'
import { credentialPointers, maskCredentialText } from '../normalize/credential-mask.js'
import { presentedCredentials } from '../normalize/http-envelope.js'
import type { InputDocument } from '../normalize/input-document.js'
import type { McpMessage } from '../normalize/mcp-message.js'
import { checkValueDepth } from '../normalize/parse-message.js'
import type { RequestEnvelope, RequestNormalizer } from '../normalize/request-normalizer.js'
import type { DecidedMessage } from './decision-port.js'

export { REJECTED_PATH }

/** What the service logs for one decision: a decision-log record, with the bundle as the engine names it. */
type LogEntry = Omit<DecisionRecord, 'bundles' | 'decision_id'> & { decision_id: string; bundle?: BundleRef }

/** What `POST /v1/mcp/decide` answers: the policy's decision and the id it is logged under. */
export interface McpDecisionResponse extends Decision {
  decision_id: string
}

/** What `POST /v1/mcp/response` answers. */
export interface McpResponseJudgement extends ResponseJudgement {
  decision_id: string
}

/** Observes every decision (metrics). */
export type DecisionObserver = (
  path: string,
  allow: boolean,
  reasons: readonly Reason[],
  seconds: number,
) => void

/**
 * Options of one {@link DecisionService.decideMessage} or {@link DecisionService.judgeResponse}:
 * `job`, the caller's number for it, which the engine publishes on its `EvaluationClock` while
 * evaluating (so the gateway's decision pool names whose evaluation passed the deadline).
 *
 * @internal
 */
export interface DecisionJobOptions {
  job?: number
}

/** What {@link DecisionService} derives from one bundle's data document, each part on first use. */
interface PerBundle {
  data: unknown
  analysis?: AnalysisDeclarations
  schemas?: ToolInputSchemas
  sensitive?: SensitiveNames
}

/**
 * The PDP's decision core, independent of HTTP: normalize → decide → log. Every failure (bad
 * message, bad token, policy error, log write failure in `sync`/`batch` mode) is a deny carrying
 * a stable reason code, and every decision — rejections included — goes to the log before it is
 * returned, so nothing is decided unlogged.
 *
 * @example
 * ```ts
 * const engine = await PolicyEngine.fromBundleFile('bundles/default.tar.gz')
 * const normalizer = new RequestNormalizer(
 *   { servers: { github: { resource: 'https://mcp.example.com/github' } } },
 *   new TokenVerifier({ issuers: [{ issuer: 'https://idp.example.com', jwksUri: 'https://idp.example.com/jwks' }] }),
 * )
 * const log = await DecisionLog.open({ dir: 'decision-logs', durability: 'sync' })
 * const service = new DecisionService({ engine, normalizer, log })
 * const { allow, status, reasons, decision_id } = await service.decideMcp({ message: body, headers, server: 'github' })
 * ```
 */
export class DecisionService {
  readonly #engine: PolicyEngine
  readonly #normalizer: RequestNormalizer
  readonly #log: DecisionLog | undefined
  readonly #observe: DecisionObserver
  readonly #maxResultDepth: number
  // The input documents this service's normalizer built: credentials are masked in them already.
  // Any other input (the OPA API, AuthZEN, a `request` a caller sends) is scanned before logging.
  readonly #normalized = new WeakSet<object>()
  // What the serving bundle's data declares, each read on first use and kept while it serves:
  // argument analyzers, tools' input schemas (compiled on first use), and the argument names the
  // log erases at any depth. A new bundle (another data document) starts afresh.
  #perBundle: PerBundle = { data: undefined }

  constructor(options: {
    engine: PolicyEngine
    normalizer: RequestNormalizer
    log?: DecisionLog
    observe?: DecisionObserver
    /** Deepest tool result `judgeResponse` accepts (nesting of arrays and objects). Default 64. */
    maxResultDepth?: number
  }) {
    this.#engine = options.engine
    this.#normalizer = options.normalizer
    this.#log = options.log
    this.#observe = options.observe ?? (() => {})
    this.#maxResultDepth = options.maxResultDepth ?? 64
  }

  /** The engine (its bundle, entrypoints). */
  get engine(): PolicyEngine {
    return this.#engine
  }

  /** Normalizes an MCP message with its HTTP envelope and decides it at `mcp/decision`. */
  async decideMcp(facts: RequestEnvelope): Promise<McpDecisionResponse> {
    return (await this.decideMessage(facts)).response
  }

  /**
   * As {@link decideMcp}, and hands back the input document it decided and the message as parsed
   * (both absent when the message could not be normalized): an enforcement point forwards that
   * message and judges the request's result against the input later.
   */
  async decideMessage(facts: RequestEnvelope, options: DecisionJobOptions = {}): Promise<DecidedMessage> {
    const started = process.hrtime.bigint()
    const decisionId = randomUUID()
    let input: InputDocument
    let message: McpMessage
    try {
      ;({ input, message } = await this.#normalizer.normalizeMessage(facts, {
        analysis: this.argumentAnalysis(),
        validation: this.argumentSchemas(),
      }))
    } catch (err) {
      const error = withoutCredentials(toMcpPolicyError(err, 'ERR_NORMALIZE_MESSAGE_INVALID'), facts)
      const response = await this.#finish(started, {
        decision_id: decisionId,
        path: REJECTED_PATH,
        input: rejectedInput(facts, error),
        result: denial(error),
        nd_builtin_cache: {},
      })
      return { response }
    }
    this.#normalized.add(input)
    return { response: await this.#decide(decisionId, started, input, true, options.job), input, message }
  }

  /**
   * Sets `mcp.tool.analysis` of an input document the PDP built itself from stated facts (AuthZEN)
   * as the normalizer does for a message: by the serving bundle's declarations, replacing any
   * analysis the document held.
   */
  async analyzeToolArguments(input: InputDocument): Promise<void> {
    if (input.mcp.tool) await analyzeTool(this.argumentAnalysis(), input.server.id, input.mcp.tool)
  }

  /**
   * Sets `mcp.tool.validation` of an input document the PDP built itself from stated facts
   * (AuthZEN) as the normalizer does for a message: against the serving bundle's declared input
   * schema, replacing any validation the document held.
   */
  validateToolArguments(input: InputDocument): void {
    if (input.mcp.tool) validateTool(this.argumentSchemas(), input.server.id, input.mcp.tool)
  }

  /**
   * Decides an input document the caller already built (OPA API, AuthZEN). The policy sees it as
   * sent; the log erases what holds a credential (`credentialPointers`), so such an event is masked.
   */
  async decideInput(input: unknown): Promise<McpDecisionResponse> {
    return this.#decide(randomUUID(), process.hrtime.bigint(), input, false)
  }

  /**
   * Denies, and logs as a rejection, a message the caller could not have decided at all (the
   * gateway's decision worker died holding it, or its decision queue was full): the same record a
   * message refused before evaluation gets, so nothing passes undecided or unlogged.
   */
  async refuse(facts: RequestEnvelope | undefined, error: McpPolicyError): Promise<McpDecisionResponse> {
    const refusal = withoutCredentials(error, facts)
    return this.#finish(process.hrtime.bigint(), {
      decision_id: randomUUID(),
      path: REJECTED_PATH,
      input: rejectedInput(facts, refusal),
      result: denial(refusal),
      nd_builtin_cache: {},
    })
  }

  /**
   * The argument analyzers the serving bundle declares (`analyze` in its data), read once per
   * bundle: pass them to `RequestNormalizer.normalize` when normalizing before `decideInput`.
   */
  argumentAnalysis(): AnalysisDeclarations {
    const derived = this.#derived()
    derived.analysis ??= analysisDeclarations(derived.data)
    return derived.analysis
  }

  /** What is derived from the serving bundle's data, reset when another bundle serves. */
  #derived(): PerBundle {
    const data = this.#engine.data
    if (this.#perBundle.data !== data) this.#perBundle = { data }
    return this.#perBundle
  }

  /**
   * The tools' input schemas the serving bundle declares (`input_schema` in its data), each
   * compiled the first time a call of its tool is validated and kept while the bundle serves:
   * pass them to `RequestNormalizer.normalize` when normalizing before `decideInput`.
   */
  argumentSchemas(): ToolInputSchemas {
    const derived = this.#derived()
    derived.schemas ??= toolInputSchemas(derived.data)
    return derived.schemas
  }

  /**
   * Decides an input document through its canonical JSON, made once: the engine evaluates that
   * text (instead of serializing the input itself) and the log writes it (instead of
   * canonicalizing the input again). Input that has no canonical JSON (a cycle, a NaN) is left to
   * the engine, which denies it with its own error code.
   */
  #decide(
    decisionId: string,
    started: bigint,
    input: unknown,
    normalized: boolean,
    job?: number,
  ): Promise<McpDecisionResponse> {
    let canonical: CanonicalText | undefined
    try {
      canonical = CanonicalText.of(input)
    } catch {
      canonical = undefined
    }
    const outcome: DecisionOutcome = canonical
      ? this.#engine.decideJson(canonical, { job })
      : this.#engine.decide(input, { job })
    return this.#finish(started, {
      decision_id: decisionId,
      path: DECISION_ENTRYPOINT,
      input,
      canonicalInput: canonical,
      result: outcome.decision,
      nd_builtin_cache: outcome.ndBuiltinCache,
      bundle: outcome.bundle,
      // The credential and sensitive-name pointers first: they never end at an array index, so
      // erasing them cannot shift what the policy's own pointers name.
      redact: [
        ...(normalized ? [] : credentialPointers(input)),
        ...this.#sensitiveMask(input, '', outcome.decision.obligations.redact),
        ...(outcome.decision.obligations.redact ?? []),
      ],
    })
  }

  /**
   * The pointers the log erases from `input` by the sensitive-name rule (`sensitivePointers`, at
   * any depth, whatever the outcome), less those the policy's own `redact` (`asked`) names or
   * contains: the policy's pointers are erased as asked, so the event's `erased` lists them and a
   * replay restores the obligation (see replay's `keepErasedMask`).
   */
  #sensitiveMask(input: unknown, prefix: string, asked: readonly string[] | undefined): string[] {
    const derived = this.#derived()
    derived.sensitive ??= sensitiveNames(derived.data)
    const found = sensitivePointers(input, derived.sensitive, prefix)
    if (!asked || asked.length === 0) return found
    return found.filter((p) => !asked.some((a) => p === a || p.startsWith(`${a}/`)))
  }

  /**
   * Judges a tool result at `mcp/response`. The request is either an input document the caller
   * holds (`request`) or the original message and envelope, normalized again here.
   */
  async judgeResponse(
    body: {
      request?: unknown
      facts?: RequestEnvelope
      result: unknown
      destination?: unknown
      /** The request's own `redact` obligation, when the caller decided the request already. */
      requestRedact?: readonly string[]
    },
    options: DecisionJobOptions = {},
  ): Promise<McpResponseJudgement> {
    const started = process.hrtime.bigint()
    const decisionId = randomUUID()
    const reject = async (refusal: McpPolicyError): Promise<McpResponseJudgement> => {
      const error = withoutCredentials(refusal, body.facts)
      const judgement: ResponseJudgement = {
        allow: false,
        redactions: [],
        reasons: [{ code: error.code, message: error.message }],
      }
      await this.#record({
        decision_id: decisionId,
        path: REJECTED_PATH,
        input: rejectedInput(body.facts, error),
        result: judgement,
        nd_builtin_cache: {},
      })
      this.#observe(REJECTED_PATH, false, judgement.reasons, seconds(started))
      return { decision_id: decisionId, ...judgement }
    }
    // A tool result may carry JSON from anywhere (a fetched page as structuredContent), and the
    // policy walks it: its depth is bounded as a request body's is.
    try {
      checkValueDepth(body.result, this.#maxResultDepth)
    } catch (err) {
      return reject(toMcpPolicyError(err, 'ERR_NORMALIZE_TOO_DEEP'))
    }
    let request = body.request
    if (request === undefined) {
      try {
        request = await this.#normalizer.normalize(body.facts ?? { message: undefined }, {
          analysis: this.argumentAnalysis(),
          validation: this.argumentSchemas(),
        })
      } catch (err) {
        return reject(toMcpPolicyError(err, 'ERR_NORMALIZE_MESSAGE_INVALID'))
      }
      this.#normalized.add(request as object)
    }
    // A request the caller built is logged without what holds a credential (as `decideInput`).
    const callerBuilt =
      request !== null && typeof request === 'object' && !this.#normalized.has(request)
        ? credentialPointers(request, '/request')
        : []
    const input: Record<string, unknown> = { request, result: body.result }
    if (body.destination !== undefined) input.destination = body.destination
    const outcome = this.#engine.judgeResponse(input, { job: options.job })
    let judgement = outcome.judgement
    const requestMask = this.#requestMask(request, body.requestRedact, options.job)
    const withheld = withheldFromLog(judgement)
    try {
      await this.#record({
        decision_id: decisionId,
        path: RESPONSE_ENTRYPOINT,
        input,
        result: judgement,
        nd_builtin_cache: outcome.ndBuiltinCache,
        bundle: outcome.bundle,
        // Sensitive names before the result's own pointers, which may end at an array index.
        redact: [
          ...callerBuilt,
          ...credentialPointers({ destination: body.destination }),
          ...this.#sensitiveMask(request, '/request', requestMask),
          ...(withheld.includes('/result') ? [] : this.#sensitiveMask({ result: body.result }, '', withheld)),
          ...withheld,
          ...requestMask,
        ],
      })
    } catch (err) {
      const error = toMcpPolicyError(err, 'ERR_LOG_WRITE_FAILED')
      judgement = { allow: false, redactions: [], reasons: [{ code: error.code, message: error.message }] }
    }
    this.#observe(RESPONSE_ENTRYPOINT, judgement.allow, judgement.reasons, seconds(started))
    return { decision_id: decisionId, ...judgement }
  }

  /**
   * Evaluates any compiled entrypoint (the OPA REST API). `mcp/decision` and `mcp/response` go
   * through the checked paths; others return their raw value (undefined when the policy has none).
   *
   * @throws McpPolicyError `ERR_ENGINE_ENTRYPOINT_UNKNOWN` for a path that is not an entrypoint;
   *   `ERR_LOG_WRITE_FAILED` when the decision cannot be logged.
   */
  async evaluatePath(path: string, input: unknown): Promise<{ decision_id: string; result: unknown }> {
    if (path === DECISION_ENTRYPOINT) {
      const response = await this.decideInput(input)
      const { decision_id, ...decision } = response
      return { decision_id, result: decision }
    }
    if (path === RESPONSE_ENTRYPOINT) {
      const judged = await this.judgeResponse(input as { request?: unknown; result: unknown })
      const { decision_id, ...judgement } = judged
      return { decision_id, result: judgement }
    }
    if (!this.#engine.entrypoints.includes(path)) {
      throw new McpPolicyError(
        'ERR_ENGINE_ENTRYPOINT_UNKNOWN',
        `${path} is not an entrypoint of the loaded bundle (entrypoints: ${this.#engine.entrypoints.join(', ')})`,
      )
    }
    const started = process.hrtime.bigint()
    const decisionId = randomUUID()
    const evaluation = this.#engine.evaluate(path, input)
    await this.#record({
      decision_id: decisionId,
      path,
      input,
      result: evaluation.result,
      nd_builtin_cache: evaluation.ndBuiltinCache,
      bundle: evaluation.bundle,
      redact: [...credentialPointers(input), ...this.#sensitiveMask(input, '', undefined)],
    })
    this.#observe(path, true, [], seconds(started))
    return { decision_id: decisionId, result: evaluation.result }
  }

  /** Logs a decision and returns it, or a deny when it cannot be logged. */
  async #finish(started: bigint, entry: LogEntry & { result: Decision }): Promise<McpDecisionResponse> {
    let final = entry.result
    try {
      await this.#record(entry)
    } catch (err) {
      // Fail closed: a decision that cannot be recorded is not given.
      final = denial(toMcpPolicyError(err, 'ERR_LOG_WRITE_FAILED'))
    }
    this.#observe(entry.path, final.allow, final.reasons, seconds(started))
    return { decision_id: entry.decision_id, ...final }
  }

  /**
   * The pointers (under `/request`) the log must erase from the request a tool result answers: the
   * decision's own `redact` obligation for that request, so a response event masks the same
   * arguments its request event does. A caller that decided the request passes that obligation;
   * otherwise the request is decided here. When it cannot be decided, every argument goes.
   */
  #requestMask(request: unknown, known: readonly string[] | undefined, job?: number): string[] {
    let redact = known
    if (redact === undefined) {
      const outcome = this.#engine.decide(request, { job })
      if (outcome.error) return ALL_REQUEST_ARGUMENTS
      redact = outcome.decision.obligations.redact ?? []
    }
    return redact.map((pointer) => `/request${pointer}`)
  }

  async #record({ bundle, ...record }: LogEntry): Promise<void> {
    if (!this.#log) return
    const ref = bundle ?? this.#engine.bundle
    await this.#log.append({
      ...record,
      bundles: ref ? { [ref.name]: { revision: ref.revision, digest: ref.digest } } : {},
    })
  }
}

function denial(error: McpPolicyError): Decision {
  return {
    allow: false,
    status: error.status,
    reasons: [{ code: error.code, message: error.message }],
    obligations: {},
  }
}

/**
 * What is logged for a request refused before evaluation: the reason and the few envelope facts
 * that identify it — never the raw message or headers, which may hold a token or oversized junk.
 * The server id and method are masked as the normalizer masks metadata, then cut to 256
 * characters, as Unicode text (a lone surrogate becomes U+FFFD).
 */
function rejectedInput(facts: RequestEnvelope | undefined, error: McpPolicyError): Record<string, unknown> {
  const input: Record<string, unknown> = { error: { code: error.code } }
  const known = presentedCredentials(facts?.headers)
  // Masked before it is cut: a cut token would no longer look like one.
  const fact = (text: string): string =>
    maskCredentialText(text.toWellFormed(), known).slice(0, 256).toWellFormed()
  if (typeof facts?.server === 'string') input.server = fact(facts.server)
  const message = facts?.message
  if (message && typeof message === 'object' && !Array.isArray(message)) {
    const method = (message as Record<string, unknown>).method
    if (typeof method === 'string') input.method = fact(method)
  }
  return input
}

/**
 * The refusal with its message masked as metadata is: a message may quote what it refused (a
 * path, a server id, a header name), and it reaches the log and the caller.
 */
function withoutCredentials(error: McpPolicyError, facts: RequestEnvelope | undefined): McpPolicyError {
  const message = maskCredentialText(error.message.toWellFormed(), presentedCredentials(facts?.headers))
  // No cause: the original message is what must not travel on.
  return message === error.message ? error : new McpPolicyError(error.code, message)
}

/** Every argument container of a request: erased from a response's log event when the request cannot be decided. */
const ALL_REQUEST_ARGUMENTS = [
  '/request/mcp/tool/arguments',
  '/request/mcp/tool/analysis',
  '/request/mcp/prompt/arguments',
  '/request/mcp/params/arguments',
]

/**
 * What of a judged tool result must not reach the log: the strings a redaction replaced (the
 * secret itself), or the whole result when it was blocked, and whatever of the result the policy's
 * `log_redact` names (the reference policy: the whole result, unless
 * `mcp_data.masking.log_tool_results` is true). Only pointers into the result count there: the
 * request is masked by its own decision, and the judgement always stays, so the record still
 * proves what was decided; replay counts such events as withheld.
 */
function withheldFromLog(judgement: ResponseJudgement): string[] {
  const asked = (judgement.log_redact ?? []).filter((p) => p === '/result' || p.startsWith('/result/'))
  if (!judgement.allow) return ['/result', ...asked]
  // Pointers erase in order, each from what the ones before left, and erasing an array element
  // shifts the ones after it: the highest index goes first, or a redacted string in the same
  // array (two e-mail addresses in one list) would move under an erased index and stay logged.
  return [...judgement.redactions.map((r) => `/result${r.path}`), ...asked].sort(laterIndexFirst)
}

/**
 * Orders JSON pointers so that erasing them in turn never shifts one still to come: within one
 * array a higher index comes first, and a member's pointer before its container's.
 */
function laterIndexFirst(a: string, b: string): number {
  const x = a.split('/')
  const y = b.split('/')
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const [s, t] = [x[i]!, y[i]!]
    if (s === t) continue
    if (/^(0|[1-9]\d*)$/.test(s) && /^(0|[1-9]\d*)$/.test(t)) return Number(t) - Number(s)
    return s < t ? -1 : 1
  }
  return y.length - x.length
}

function seconds(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9
}
