/**
 * A builtin function the engine provides to policy WebAssembly from JavaScript ("host builtin"),
 * because OPA's WASM module does not carry it natively.
 *
 * Semantics follow OPA's topdown implementation in non-strict mode: when OPA would raise a
 * builtin error (wrong type, unparsable value), the host builtin returns `undefined`, which the
 * policy sees as an undefined expression. Arguments arrive as plain JSON values (Rego sets arrive
 * as JSON arrays, as the WASM ABI dumps them).
 */
export interface HostBuiltin {
  /** The Rego name, e.g. `time.parse_rfc3339_ns`. */
  readonly name: string
  /**
   * True for builtins whose answer is not a function of their arguments (`time.now_ns`,
   * `uuid.rfc4122`, `rand.intn`). The engine records their answers per evaluation in the
   * `nd_builtin_cache` and answers them from a recorded cache on replay.
   */
  readonly nondeterministic?: boolean
  /** The implementation. Returns `undefined` where OPA would report a builtin error. */
  readonly impl: (...args: unknown[]) => unknown
}
