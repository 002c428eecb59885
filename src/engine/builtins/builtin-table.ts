import { hostBuiltins } from './host/index.js'
import type { HostBuiltin } from './host-builtin.js'
import { compileTimeBuiltinNames, wasmNativeBuiltinNames } from './native.js'

/**
 * Where a builtin is implemented.
 *
 * @internal
 */
export type BuiltinProvider = 'wasm' | 'compile-time' | 'host'

/**
 * The engine's builtin table: the one source of truth for what a policy may call. The build's
 * capabilities file is generated from it, and the engine instantiates WebAssembly with its host
 * part, so the two can never disagree.
 *
 * @internal
 */
export const builtinTable: ReadonlyMap<string, BuiltinProvider> = buildTable()

/**
 * Host builtins by name, as the engine dispatches them (`host-abi.ts`). Only these answer a
 * module's host calls: the opa-wasm SDK's own JavaScript builtins are never consulted.
 */
export const hostBuiltinsByName: ReadonlyMap<string, HostBuiltin> = new Map(
  hostBuiltins.map((b) => [b.name, b]),
)

function buildTable(): Map<string, BuiltinProvider> {
  const table = new Map<string, BuiltinProvider>()
  for (const name of wasmNativeBuiltinNames) table.set(name, 'wasm')
  for (const name of compileTimeBuiltinNames) table.set(name, 'compile-time')
  for (const builtin of hostBuiltins) {
    // A host builtin shadowing a native one would never be called: fail loudly at startup.
    if (table.has(builtin.name))
      throw new Error(`host builtin ${builtin.name} duplicates a ${table.get(builtin.name)} builtin`)
    table.set(builtin.name, 'host')
  }
  return table
}
