/**
 * Builtins that OPA's WebAssembly module implements itself, so a policy using them needs no
 * host call. Transcribed from `builtinsFunctions` in OPA's `internal/compiler/wasm/wasm.go` at the
 * pinned OPA version (see `src/toolchain/opa-version.ts`); `test/engine/builtin-table.test.ts`
 * checks it against a real `opa build -t wasm`, so a drift on an OPA upgrade fails a test.
 */
export const wasmNativeBuiltinNames: readonly string[] = [
  // operators the planner compiles away
  'eq',
  'assign',
  // arithmetic, comparison, sets
  'plus',
  'minus',
  'mul',
  'div',
  'rem',
  'abs',
  'round',
  'ceil',
  'floor',
  'equal',
  'neq',
  'gt',
  'gte',
  'lt',
  'lte',
  'and',
  'or',
  'set_diff',
  'intersection',
  'union',
  'internal.member_2',
  'internal.member_3',
  'internal.template_string',
  // aggregates
  'count',
  'sum',
  'product',
  'max',
  'min',
  'sort',
  'all',
  'any',
  // arrays, objects, graphs
  'array.concat',
  'array.flatten',
  'array.reverse',
  'array.slice',
  'object.filter',
  'object.get',
  'object.keys',
  'object.remove',
  'object.union',
  'object.union_n',
  'json.filter',
  'json.remove',
  'walk',
  'graph.reachable',
  'numbers.range',
  // types
  'is_number',
  'is_string',
  'is_boolean',
  'is_array',
  'is_set',
  'is_object',
  'is_null',
  'type_name',
  'to_number',
  // bits
  'bits.or',
  'bits.and',
  'bits.negate',
  'bits.xor',
  'bits.lsh',
  'bits.rsh',
  // encoding
  'base64.is_valid',
  'base64.decode',
  'base64.encode',
  'base64url.encode',
  'base64url.decode',
  'json.marshal',
  'json.unmarshal',
  'json.is_valid',
  // net
  'net.cidr_contains',
  'net.cidr_overlap',
  'net.cidr_intersects',
  // strings
  'concat',
  'format_int',
  'indexof',
  'substring',
  'lower',
  'upper',
  'contains',
  'startswith',
  'endswith',
  'strings.reverse',
  'split',
  'replace',
  'strings.replace_n',
  'trim',
  'trim_left',
  'trim_prefix',
  'trim_right',
  'trim_suffix',
  'trim_space',
  // regex and glob (RE2 compiled into the module)
  'glob.match',
  're_match',
  'regex.is_valid',
  'regex.match',
  'regex.find_all_string_submatch_n',
]

/**
 * Builtins that the compiler rewrites into constants before planning, so they never reach the
 * WebAssembly module at all (METADATA annotations read by policies for their reason messages).
 */
export const compileTimeBuiltinNames: readonly string[] = ['rego.metadata.rule', 'rego.metadata.chain']
