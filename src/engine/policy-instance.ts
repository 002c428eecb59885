import type { LoadedPolicy } from '@open-policy-agent/opa-wasm'
import type { Bundle } from '../bundle/bundle.js'
import { McpPolicyError, toMcpPolicyError } from '../errors.js'
import { hostBuiltinsByName } from './builtins/builtin-table.js'
import { type HostCall, instantiatePolicy } from './builtins/host-abi.js'
import type { HostBuiltin } from './builtins/host-builtin.js'
import { serializeRegoValue } from './builtins/rego-value.js'
import { deadlineAt, fuelTick, instrumentFuel } from './fuel-instrumentation.js'
import type { NdBuiltinCache } from './nd-builtin-cache.js'

/** WebAssembly memory bounds for one policy instance, in 64 KiB pages. */
export interface MemoryLimits {
  /** Default 5 pages, as the SDK. */
  initialPages?: number
  /** Default 2048 pages (128 MiB): a runaway policy traps instead of eating the host. */
  maxPages?: number
}

/** How to answer non-deterministic builtins in one evaluation. */
export interface NdOptions {
  /** Answer from this recorded cache (replay) instead of computing fresh values. */
  replay?: NdBuiltinCache
  /** On replay, what to do when the record has no answer: fail (default, audit fidelity) or compute. */
  onReplayMiss?: 'fail' | 'compute'
}

interface EvaluationState {
  recorded: NdBuiltinCache
  replay: NdBuiltinCache | undefined
  onReplayMiss: 'fail' | 'compute'
  /** When the evaluation must have ended (`performance.now()`), with a deadline. */
  deadline: { at: number; ms: number } | undefined
}

/** Options for {@link PolicyInstance.create}. */
export interface PolicyInstanceOptions {
  memory?: MemoryLimits
  /**
   * Instrument the module so that an evaluation stops `ERR_ENGINE_DEADLINE` past this many ms
   * (plus 1 s per MiB of input): see {@link instrumentFuel}. 0 or absent: no deadline.
   */
  deadlineMs?: number
}

/**
 * One instantiated policy module with its data loaded: the SDK's `LoadedPolicy` plus this
 * engine's host builtins and per-evaluation record of non-deterministic answers. Not shared across
 * threads; evaluation is synchronous, so one instance serves one evaluation at a time.
 */
export class PolicyInstance {
  readonly bundle: Bundle
  readonly entrypoints: ReadonlySet<string>
  #policy: LoadedPolicy
  #state: EvaluationState | undefined
  #poisoned = false
  readonly #module: WebAssembly.Module
  readonly #memory: MemoryLimits
  readonly #deadlineMs: number

  private constructor(
    bundle: Bundle,
    module: WebAssembly.Module,
    policy: LoadedPolicy,
    memory: MemoryLimits,
    deadlineMs: number,
  ) {
    this.bundle = bundle
    this.#module = module
    this.#policy = policy
    this.#memory = memory
    this.#deadlineMs = deadlineMs
    this.entrypoints = new Set(Object.keys(policy.entrypoints))
  }

  /**
   * Compiles and instantiates a bundle's module and loads its data.
   *
   * @throws McpPolicyError `ERR_ENGINE_INSTANTIATE`.
   */
  static async create(bundle: Bundle, options: PolicyInstanceOptions = {}): Promise<PolicyInstance> {
    const memory = options.memory ?? {}
    const deadlineMs = options.deadlineMs ?? 0
    const wasm = deadlineMs > 0 ? await instrumentFuel(bundle.wasm) : bundle.wasm
    let module: WebAssembly.Module
    try {
      module = await WebAssembly.compile(wasm as Uint8Array<ArrayBuffer>)
    } catch (err) {
      throw toMcpPolicyError(err, 'ERR_ENGINE_INSTANTIATE', 'policy.wasm does not compile')
    }
    const holder: { instance?: PolicyInstance } = {}
    const policy = instantiate(module, memory, bundle.data, () =>
      holder.instance ? holder.instance.#state : undefined,
    )
    const instance = new PolicyInstance(bundle, module, policy, memory, deadlineMs)
    holder.instance = instance
    return instance
  }

  /**
   * Evaluates an entrypoint over serialized input JSON and returns the SDK's result set, plus the
   * non-deterministic builtin answers used. Synchronous: one evaluation at a time per instance.
   *
   * @throws McpPolicyError `ERR_ENGINE_*`.
   */
  evaluate(
    entrypoint: string,
    input: string | undefined,
    nd: NdOptions = {},
  ): { resultSet: unknown; ndBuiltinCache: NdBuiltinCache } {
    if (this.#poisoned) {
      this.#policy = instantiate(this.#module, this.#memory, this.bundle.data, () => this.#state)
      this.#poisoned = false
    }
    if (!this.entrypoints.has(entrypoint)) {
      throw new McpPolicyError(
        'ERR_ENGINE_ENTRYPOINT_UNKNOWN',
        `entrypoint ${entrypoint} is not in bundle ${this.bundle.name} (has: ${[...this.entrypoints].join(', ')})`,
      )
    }
    const state: EvaluationState = {
      recorded: {},
      replay: nd.replay,
      onReplayMiss: nd.onReplayMiss ?? 'fail',
      deadline: this.#deadlineMs > 0 ? deadlineAt(this.#deadlineMs, input?.length ?? 0) : undefined,
    }
    this.#state = state
    try {
      const resultSet = evaluateDirect(this.#policy, entrypoint, input)
      return { resultSet, ndBuiltinCache: state.recorded }
    } catch (err) {
      // A trap can leave the module's globals half-written: never evaluate on it again.
      this.#poisoned = true
      throw classifyEvaluationError(err)
    } finally {
      this.#state = undefined
    }
  }
}

/** The value of an SDK result set (`[{result}]`), or undefined when the entrypoint produced none. */
export function firstResult(resultSet: unknown): unknown {
  if (!Array.isArray(resultSet) || resultSet.length === 0) return undefined
  return (resultSet[0] as { result?: unknown }).result
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * The SDK's `evaluate` for ABI ≥ 1.2 without its per-call copies: the input JSON is UTF-8-encoded
 * straight into module memory (no intermediate buffer) and the result's terminating NUL is found
 * with a native `indexOf` instead of a JavaScript byte loop. A CPU profile of the default bundle put
 * those two at ~13 % of a decision (the module's own JSON parse of the input is ~55 %). Uses only
 * fields the SDK's type declarations publish; falls back to the SDK for older ABIs.
 * `test/engine/evaluate-direct.test.ts` checks it agrees with the SDK's own evaluate.
 */
export function evaluateDirect(policy: LoadedPolicy, entrypoint: string, json: string | undefined): unknown {
  const entrypointId = (policy.entrypoints as Record<string, number>)[entrypoint]
  if (!(policy.minorVersion >= 2) || entrypointId === undefined) {
    return policy.evaluate(
      json === undefined ? undefined : (encoder.encode(json).buffer as ArrayBuffer),
      entrypoint,
    )
  }
  const memory = policy.mem
  const exports = (policy.wasmInstance as WebAssembly.Instance).exports as unknown as WasmPolicyExports
  let inputAddr = 0
  let inputLen = 0
  if (json !== undefined) {
    inputAddr = policy.dataHeapPtr as number
    // UTF-8 takes at most 3 bytes per UTF-16 code unit: grow first so encodeInto never truncates.
    const shortfall = inputAddr + json.length * 3 - memory.buffer.byteLength
    if (shortfall > 0) memory.grow(Math.ceil(shortfall / 65536))
    inputLen = encoder.encodeInto(json, new Uint8Array(memory.buffer, inputAddr)).written
  }
  const resultAddr = exports.opa_eval(
    0,
    entrypointId,
    policy.dataAddr,
    inputAddr,
    inputLen,
    // The heap starts after the data and the input, as in the SDK. Never at inputAddr + inputLen
    // when there is no input: that is 0, and the evaluation would overwrite the module's memory.
    (policy.dataHeapPtr as number) + inputLen,
    0,
  )
  const bytes = new Uint8Array(memory.buffer)
  return JSON.parse(decoder.decode(bytes.subarray(resultAddr, bytes.indexOf(0, resultAddr))))
}

interface WasmPolicyExports {
  opa_eval(
    reserved: number,
    entrypoint: number,
    data: number,
    input: number,
    inputLength: number,
    heap: number,
    format: number,
  ): number
}

function instantiate(
  module: WebAssembly.Module,
  memory: MemoryLimits,
  data: unknown,
  currentState: () => EvaluationState | undefined,
): LoadedPolicy {
  const builtins = new Map<string, HostCall>()
  // The evaluation's clock for builtins that need one: time.now_ns, recorded and replayed.
  const nowNs = wrapBuiltin(hostBuiltinsByName.get('time.now_ns')!, currentState)
  for (const builtin of hostBuiltinsByName.values()) {
    const call = wrapBuiltin(builtin, currentState)
    builtins.set(builtin.name, {
      values: builtin.values ?? 'json',
      call: builtin.clock ? (...args) => call(...args, nowNs) : call,
    })
  }
  let policy: LoadedPolicy
  try {
    // Synchronous, so that re-instantiation after a trap keeps evaluation synchronous.
    policy = instantiatePolicy(
      module,
      { initial: memory.initialPages ?? 5, maximum: memory.maxPages ?? 2048 },
      builtins,
      fuelTick(() => currentState()?.deadline),
    )
  } catch (err) {
    throw toMcpPolicyError(err, 'ERR_ENGINE_INSTANTIATE', 'policy.wasm does not instantiate')
  }
  try {
    policy.setData(data ?? {})
  } catch (err) {
    throw toMcpPolicyError(err, 'ERR_ENGINE_INSTANTIATE', 'bundle data does not load into the policy')
  }
  return policy
}

export function wrapBuiltin(
  builtin: HostBuiltin,
  currentState: () => EvaluationState | undefined,
): (...args: unknown[]) => unknown {
  const { name, impl } = builtin
  if (!builtin.nondeterministic) {
    return (...args) => {
      try {
        return impl(...args)
      } catch (err) {
        throw toMcpPolicyError(err, 'ERR_ENGINE_BUILTIN_FAILED', `builtin ${name}`)
      }
    }
  }
  return (...args) => {
    const state = currentState()
    // Exact values (RegoNumber, sets) key by their Rego text.
    const key = builtin.values === 'rego' ? serializeRegoValue(args) : JSON.stringify(args)
    const recorded = state?.recorded[name]
    // OPA answers a non-deterministic builtin once per query for the same arguments.
    if (recorded && Object.hasOwn(recorded, key)) return recorded[key]
    let value: unknown
    const replayed = state?.replay?.[name]
    if (replayed && Object.hasOwn(replayed, key)) {
      value = replayed[key]
    } else if (state?.replay && state.onReplayMiss === 'fail') {
      throw new McpPolicyError(
        'ERR_ENGINE_ND_CACHE_MISS',
        `replay has no recorded answer for ${name}(${key.slice(1, -1)})`,
      )
    } else {
      try {
        value = impl(...args)
      } catch (err) {
        throw toMcpPolicyError(err, 'ERR_ENGINE_BUILTIN_FAILED', `builtin ${name}`)
      }
    }
    if (state && value !== undefined) {
      state.recorded[name] ??= {}
      state.recorded[name][key] = value
    }
    return value
  }
}

function classifyEvaluationError(err: unknown): McpPolicyError {
  if (err instanceof McpPolicyError) return err
  const message = typeof err === 'object' && err && 'message' in err ? String(err.message) : String(err)
  if (message.startsWith('not implemented: built-in function')) {
    return toMcpPolicyError(err, 'ERR_ENGINE_BUILTIN_MISSING')
  }
  return toMcpPolicyError(err, 'ERR_ENGINE_TRAP', 'policy evaluation failed')
}
