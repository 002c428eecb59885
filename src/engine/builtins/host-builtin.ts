/**
 * A builtin function the engine provides to policy WebAssembly from JavaScript ("host builtin"),
 * because OPA's WASM module does not carry it natively.
 *
 * Semantics follow OPA's topdown implementation in non-strict mode: when OPA would raise a
 * builtin error (wrong type, unparsable value), the host builtin returns `undefined`, which the
 * policy sees as an undefined expression. Arguments arrive as plain JSON values (Rego sets as
 * arrays) unless the builtin asks for exact Rego values (`values: 'rego'`).
 *
 * @internal
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
  /**
   * How arguments arrive. `json` (default): plain JSON values, numbers as doubles, sets as arrays.
   * `rego`: exact values (`rego-value.ts`): numbers as `RegoNumber` text, sets as
   * `RegoSet`, objects with non-string keys as `Map`. Either way the answer may hold `bigint`,
   * `RegoNumber`, `RegoSet`/`Set` and `Map`, which reach the policy exactly.
   */
  readonly values?: 'json' | 'rego'
  /**
   * True for builtins that read the evaluation's clock when the policy gives no time, as OPA's
   * `io.jwt.decode_verify` reads the query's time. They get one more argument, `now()`, answering
   * this evaluation's `time.now_ns()`: recorded in the `nd_builtin_cache` and replayed like it.
   */
  readonly clock?: boolean
  /** The implementation. Returns `undefined` where OPA would report a builtin error. */
  readonly impl: (...args: unknown[]) => unknown
}
