/**
 * Answers of non-deterministic builtins for one evaluation, in the shape of OPA's decision-log
 * `nd_builtin_cache`: builtin name → JSON array of arguments → value.
 *
 * @example
 * ```ts
 * const cache: NdBuiltinCache = { 'time.now_ns': { '[]': 1767225600000000000 } }
 * ```
 */
export type NdBuiltinCache = Record<string, Record<string, unknown>>
