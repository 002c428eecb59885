import { createRequire } from 'node:module'
import type { LoadedPolicy } from '@open-policy-agent/opa-wasm'
import { FUEL_IMPORT, FUEL_PER_TICK } from '../fuel-instrumentation.js'
import { parseRegoValue, serializeRegoValue } from './rego-value.js'

/** How a host builtin is called across the WebAssembly boundary. */
export interface HostCall {
  /** `json`: arguments as JSON values (sets as arrays). `rego`: exact Rego values (see `rego-value.ts`). */
  readonly values: 'json' | 'rego'
  readonly call: (...args: unknown[]) => unknown
}

// The SDK's LoadedPolicy (data loading, evaluation) is reused around an instance made here.
const { LoadedPolicy: LoadedPolicyClass } = createRequire(import.meta.url)('@open-policy-agent/opa-wasm') as {
  LoadedPolicy: new (
    instance: WebAssembly.Instance,
    memory: WebAssembly.Memory,
    minorVersion: number,
  ) => LoadedPolicy
}

interface PolicyExports {
  opa_malloc(size: number): number
  opa_json_dump(addr: number): number
  opa_value_dump(addr: number): number
  opa_value_parse(addr: number, len: number): number
  builtins(): number
  opa_wasm_abi_version?: WebAssembly.Global
  opa_wasm_abi_minor_version?: WebAssembly.Global
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/**
 * Instantiates a policy module with the engine's own host-builtin dispatch and returns the SDK's
 * `LoadedPolicy` around it.
 *
 * The opa-wasm SDK dispatches builtins itself, and looks in its own JavaScript table (`sprintf`,
 * `regex.split`, `yaml.*`) before the custom builtins it is given, moving every value through
 * `JSON.parse`/`JSON.stringify`. That makes its answers impossible to correct from outside and
 * loses what JSON cannot carry: integers beyond 2^53, a number's text (`100.0` is a float to
 * `sprintf`), sets, non-string keys. Here every builtin the module imports is answered from
 * `builtins` (this engine's table, and nothing else), and a builtin that asks for `rego` values
 * gets them through `opa_value_dump`/`opa_value_parse`, as OPA's own Go SDK does. Answers always
 * go back as Rego value text, so a host builtin can return exact numbers and sets.
 *
 * @throws whatever `WebAssembly.Instance` throws, or an Error for an unsupported ABI.
 */
export function instantiatePolicy(
  module: WebAssembly.Module,
  memoryDescriptor: WebAssembly.MemoryDescriptor,
  builtins: ReadonlyMap<string, HostCall>,
  tick: () => number = () => FUEL_PER_TICK,
): LoadedPolicy {
  const memory = new WebAssembly.Memory(memoryDescriptor)
  let exports: PolicyExports | undefined
  const byId: (HostCall | undefined)[] = []
  const names: string[] = []

  const cString = (addr: number): string => {
    const bytes = new Uint8Array(memory.buffer)
    return decoder.decode(bytes.subarray(addr, bytes.indexOf(0, addr)))
  }
  const dispatch = (id: number, addrs: number[]): number => {
    const builtin = byId[id]
    if (builtin === undefined || exports === undefined) {
      // Same text as the SDK: the engine classifies it as ERR_ENGINE_BUILTIN_MISSING.
      throw new Error(`not implemented: built-in function ${id}: ${names[id]}`)
    }
    const ex = exports
    const args = addrs.map((addr) =>
      builtin.values === 'rego'
        ? parseRegoValue(cString(ex.opa_value_dump(addr)))
        : JSON.parse(cString(ex.opa_json_dump(addr))),
    )
    const result = builtin.call(...args)
    if (result === undefined) return 0
    const bytes = encoder.encode(serializeRegoValue(result))
    const addr = ex.opa_malloc(bytes.length)
    new Uint8Array(memory.buffer).set(bytes, addr)
    const value = ex.opa_value_parse(addr, bytes.length)
    if (value === 0) throw new Error(`the module could not parse the answer of builtin ${names[id]}`)
    return value
  }

  const instance = new WebAssembly.Instance(module, {
    env: {
      memory,
      opa_abort: (addr: number) => {
        // The engine turns it into ERR_ENGINE_TRAP carrying the module's message.
        throw new Error(cString(addr))
      },
      opa_println: (addr: number) => {
        // stderr, never stdout: stdout may be an MCP stdio channel.
        process.stderr.write(`${cString(addr)}\n`)
      },
      // Called by a module instrumented for the deadline (fuel-instrumentation.ts); others ignore it.
      [FUEL_IMPORT]: tick,
      opa_builtin0: (id: number, _ctx: number) => dispatch(id, []),
      opa_builtin1: (id: number, _ctx: number, a: number) => dispatch(id, [a]),
      opa_builtin2: (id: number, _ctx: number, a: number, b: number) => dispatch(id, [a, b]),
      opa_builtin3: (id: number, _ctx: number, a: number, b: number, c: number) => dispatch(id, [a, b, c]),
      opa_builtin4: (id: number, _ctx: number, a: number, b: number, c: number, d: number) =>
        dispatch(id, [a, b, c, d]),
    },
  })
  exports = instance.exports as unknown as PolicyExports
  const major = exports.opa_wasm_abi_version?.value
  if (major !== 1) throw new Error(`unsupported OPA WebAssembly ABI version ${major}`)
  const minor = Number(exports.opa_wasm_abi_minor_version?.value ?? 0)
  const ids = JSON.parse(cString(exports.opa_json_dump(exports.builtins()))) as Record<string, number>
  for (const [name, id] of Object.entries(ids)) {
    names[id] = name
    byId[id] = builtins.get(name)
  }
  return new LoadedPolicyClass(instance, memory, minor)
}
