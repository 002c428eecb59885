import { McpPolicyError, toMcpPolicyError } from '../errors.js'

/**
 * What the deadline grows by per MiB of JSON input: a tool result of megabytes is scanned in time
 * that grows with its size; the deadline stops pathological rules, not big messages the limits
 * already admit. Shared with the gateway's decision pool, so both allow the same.
 */
export const DEADLINE_MS_PER_MIB = 1_000

/**
 * When an evaluation over `inputChars` of JSON starting now must have ended (`performance.now()`
 * time) and the deadline it was given: `deadlineMs` + 1 s per MiB.
 */
export function deadlineAt(deadlineMs: number, inputChars: number): { at: number; ms: number } {
  const ms = deadlineMs + (inputChars / (1024 * 1024)) * DEADLINE_MS_PER_MIB
  return { at: performance.now() + ms, ms }
}

/**
 * How many iterations of the policy's loops run between two calls of {@link FUEL_IMPORT}: the
 * clock is read every few to few hundred microseconds of evaluation (an iteration of a rule's loop
 * takes tens of nanoseconds and up), at one `performance.now()` per 1,000 iterations.
 */
export const FUEL_PER_TICK = 1_000

/** The import an instrumented module calls when its fuel runs out: `env.mcp_policy_tick() → i32`. */
export const FUEL_IMPORT = 'mcp_policy_tick'

/** Functions OPA's planner emits for the policy's rules and entrypoints. */
const PLANNED = /^(g\d+\.|eval$)/
const FUEL_GLOBAL = 'mcp_policy_fuel'
const TICK_FUNCTION = 'mcp_policy_tick'

type Binaryen = typeof import('binaryen').default
type BinaryenModule = InstanceType<Binaryen['Module']>

/**
 * Instruments a compiled policy so that a runaway rule can be stopped in the thread that runs it.
 * WebAssembly evaluation is synchronous and nothing outside it can interrupt it cheaply, so the
 * module counts for itself: every iteration of a loop compiled from the policy's rules takes one
 * unit of fuel from a global, and when the fuel is gone the module calls the host
 * ({@link FUEL_IMPORT}), which reads the clock and either answers new fuel or throws past the
 * evaluation's deadline (the evaluation then fails like a trap, and the instance is replaced). A
 * loop can run at most {@link FUEL_PER_TICK} iterations past the deadline. Those loops are enough:
 * Rego has no recursion (OPA refuses recursive rules), so a policy runs long by iterating; one
 * call into OPA's runtime (parsing, comparing, a set union) is bounded by the data it works on,
 * which the 128 MiB memory bounds. The runtime's own loops (the input's JSON parse above all) are
 * left alone: counting them too cost +36 % per decision of the reference policy, these +0.8 %.
 *
 * Rewritten with Binaryen (the WebAssembly toolchain library): every such loop body is prefixed
 * with a decrement of the fuel global and a branch to the host call. It takes about a second for
 * the reference bundle, once per bundle load, only when a deadline is configured. Decisions do not
 * change: the check reads and writes only its own global.
 *
 * @throws McpPolicyError `ERR_ENGINE_INSTANTIATE` when the module cannot be read or rewritten
 *   (fail closed: with a deadline configured, a module that cannot be given one is not served).
 * @example
 * ```ts
 * const module = await WebAssembly.compile(await instrumentFuel(bundle.wasm))
 * // instantiate with env.mcp_policy_tick: () => { if (late()) throw …; return FUEL_PER_TICK }
 * ```
 * @internal
 */
export async function instrumentFuel(wasm: Uint8Array): Promise<Uint8Array> {
  const { default: binaryen } = await import('binaryen')
  let module: BinaryenModule | undefined
  try {
    module = binaryen.readBinary(wasm)
    // The features OPA's modules use, and none that Node 20's V8 cannot read back.
    module.setFeatures(
      binaryen.Features.MVP |
        binaryen.Features.MutableGlobals |
        binaryen.Features.BulkMemory |
        binaryen.Features.SignExt |
        binaryen.Features.NontrappingFPToInt,
    )
    if (module.getGlobal(FUEL_GLOBAL)) throw new Error(`the module already defines ${FUEL_GLOBAL}`)
    module.addGlobal(FUEL_GLOBAL, binaryen.i32, true, module.i32.const(FUEL_PER_TICK))
    module.addFunctionImport(TICK_FUNCTION, 'env', FUEL_IMPORT, binaryen.none, binaryen.i32)
    const functions = Array.from({ length: module.getNumFunctions() }, (_, i) =>
      binaryen.getFunctionInfo(module!.getFunctionByIndex(i)),
    ).filter((f) => !f.module && f.body)
    // The functions OPA compiles from the policy's rules (`g0.data.…`, named in the module's name
    // section), where its iteration is; a module without them named gets every loop counted.
    const planned = functions.filter((f) => PLANNED.test(f.name))
    const fields = childFields(binaryen)
    for (const f of planned.length > 0 ? planned : functions) fuelLoops(binaryen, module, fields, f.body)
    if (!module.validate()) throw new Error('the rewritten module does not validate')
    return module.emitBinary()
  } catch (err) {
    throw toMcpPolicyError(
      err,
      'ERR_ENGINE_INSTANTIATE',
      'policy.wasm cannot be instrumented for the deadline',
    )
  } finally {
    module?.dispose()
  }
}

/**
 * The fields holding child expressions, for every expression kind OPA's modules contain (leaves
 * have none). A kind not listed stops the rewrite: a loop under it would go uncounted.
 */
function childFields(binaryen: Binaryen): Map<number, readonly string[]> {
  return new Map<number, readonly string[]>([
    [binaryen.BlockId, ['children']],
    [binaryen.IfId, ['condition', 'ifTrue', 'ifFalse']],
    [binaryen.LoopId, ['body']],
    [binaryen.BreakId, ['condition', 'value']],
    [binaryen.SwitchId, ['condition', 'value']],
    [binaryen.CallId, ['operands']],
    [binaryen.CallIndirectId, ['target', 'operands']],
    [binaryen.LocalSetId, ['value']],
    [binaryen.GlobalSetId, ['value']],
    [binaryen.LoadId, ['ptr']],
    [binaryen.StoreId, ['ptr', 'value']],
    [binaryen.UnaryId, ['value']],
    [binaryen.BinaryId, ['left', 'right']],
    [binaryen.SelectId, ['ifTrue', 'ifFalse', 'condition']],
    [binaryen.DropId, ['value']],
    [binaryen.ReturnId, ['value']],
    [binaryen.MemoryGrowId, ['delta']],
    [binaryen.MemoryCopyId, ['dest', 'source', 'size']],
    [binaryen.MemoryFillId, ['dest', 'value', 'size']],
    [binaryen.ConstId, []],
    [binaryen.LocalGetId, []],
    [binaryen.GlobalGetId, []],
    [binaryen.NopId, []],
    [binaryen.UnreachableId, []],
    [binaryen.MemorySizeId, []],
  ])
}

/** Prefixes the body of every loop under `root` with the fuel check. */
function fuelLoops(
  binaryen: Binaryen,
  module: BinaryenModule,
  fields: ReadonlyMap<number, readonly string[]>,
  root: number,
): void {
  const i32 = binaryen.i32
  const fuel = () => module.global.get(FUEL_GLOBAL, i32)
  const pending = [root]
  while (pending.length > 0) {
    const expr = pending.pop()!
    const id = binaryen.getExpressionId(expr)
    const names = fields.get(id)
    if (!names) throw new Error(`expression kind ${id} is not walked`)
    // Leaves are not read (binaryen.js has no info accessor for some of them, e.g. unreachable).
    if (names.length === 0) continue
    const info = binaryen.getExpressionInfo(expr) as unknown as Record<string, unknown>
    for (const name of names) {
      const child = info[name]
      if (Array.isArray(child)) pending.push(...(child as number[]).filter((c) => c !== 0))
      else if (typeof child === 'number' && child !== 0) pending.push(child)
    }
    if (id !== binaryen.LoopId) continue
    const body = info.body as number
    // Its own statements, fresh for each loop (Binaryen's IR is a tree: nothing may be shared).
    const check = [
      module.global.set(FUEL_GLOBAL, module.i32.sub(fuel(), module.i32.const(1))),
      module.if(module.i32.eqz(fuel()), module.global.set(FUEL_GLOBAL, module.call(TICK_FUNCTION, [], i32))),
    ]
    // binaryen.js has Loop.setBody; its type declarations omit the expression classes.
    const loops = (binaryen as unknown as { Loop: { setBody(loop: number, body: number): void } }).Loop
    loops.setBody(expr, module.block(null, [...check, body], binaryen.getExpressionType(body)))
  }
}

/**
 * The host side of {@link FUEL_IMPORT}: new fuel while `deadlineAt()` (a `performance.now()` time,
 * or undefined outside a deadline) has not passed; past it, throws `ERR_ENGINE_DEADLINE`.
 */
export function fuelTick(deadlineAt: () => { at: number; ms: number } | undefined): () => number {
  return () => {
    const deadline = deadlineAt()
    if (deadline && performance.now() > deadline.at)
      throw new McpPolicyError(
        'ERR_ENGINE_DEADLINE',
        `the policy evaluation ran past its ${Math.round(deadline.ms)} ms deadline and was stopped`,
      )
    return FUEL_PER_TICK
  }
}
