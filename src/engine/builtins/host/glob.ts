import type { HostBuiltin } from '../host-builtin.js'

/** gobwas/glob's `QuoteMeta`: a backslash before each of `* ? \ [ ] { }`. */
export const globQuoteMeta = (s: string): string => s.replace(/[*?\\[\]{}]/g, '\\$&')

/** `glob.*` builtins not in OPA's WebAssembly module (OPA `topdown/glob.go`). */
export const globBuiltins: readonly HostBuiltin[] = [
  {
    name: 'glob.quote_meta',
    impl: (s) => (typeof s === 'string' ? globQuoteMeta(s) : undefined),
  },
]
