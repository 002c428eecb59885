import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { opaCapabilities } from '../../src/bundle/capabilities.js'
import { builtinTable } from '../../src/engine/builtins/builtin-table.js'
import { loadBundle } from '../../src/index.js'
import { buildPolicy } from '../helpers/build-policy.js'
import { opaBinary } from '../helpers/opa-binary.js'

/** The builtin names a compiled policy imports from the host, read from the module's own `builtins()` export. */
async function hostImportsOf(archivePath: string): Promise<string[]> {
  const { wasm } = await loadBundle(await readFile(archivePath))
  const memory = new WebAssembly.Memory({ initial: 5 })
  const noop = () => 0
  const { instance } = (await WebAssembly.instantiate(wasm as Uint8Array<ArrayBuffer>, {
    env: {
      memory,
      opa_abort: noop,
      opa_println: noop,
      opa_builtin0: noop,
      opa_builtin1: noop,
      opa_builtin2: noop,
      opa_builtin3: noop,
      opa_builtin4: noop,
    },
  })) as unknown as WebAssembly.WebAssemblyInstantiatedSource
  const exports = instance.exports as Record<string, (...args: number[]) => number>
  const address = exports.opa_json_dump!(exports.builtins!())
  const bytes = new Uint8Array(memory.buffer)
  let end = address
  while (bytes[end] !== 0) end++
  return Object.keys(JSON.parse(Buffer.from(bytes.subarray(address, end)).toString()))
}

async function policyCalling(names: string[]) {
  const capabilities = await opaCapabilities(await opaBinary())
  const decls = new Map(capabilities.builtins.map((b) => [b.name, b.decl as { args?: unknown[] }]))
  // Rego v1 refuses deprecated builtins (set_diff, re_match, …) at compile time; nothing to check there.
  const deprecated = new Set(capabilities.builtins.filter((b) => b.deprecated).map((b) => b.name))
  names = names.filter((name) => !deprecated.has(name))
  // Arguments come from input, so the optimizer cannot fold a call away at build time.
  const rules = names.map(
    (name, i) => `r${i} := ${name}(${(decls.get(name)?.args ?? []).map((_, a) => `input.a${a}`).join(', ')})`,
  )
  return buildPolicy({
    rego: {
      'policy.rego': `package mcp\n\ndecision := {"allow": false, "reasons": [{"code": "c", "message": "m"}]}\n\n${rules.join('\n\n')}\n`,
    },
    manifest: { metadata: { entrypoints: names.map((_, i) => `mcp/r${i}`) } },
  })
}

const callable = (provider: string) =>
  [...builtinTable]
    .filter(([name, p]) => p === provider && !/^(internal\.|eq$|assign$|walk$)/.test(name))
    .map(([name]) => name)

describe('the builtin table agrees with what OPA compiles', () => {
  it('every builtin listed as WASM-native needs no host call', async () => {
    const native = callable('wasm')
    expect(native.length).toBeGreaterThan(80)
    const built = await policyCalling(native)
    expect(await hostImportsOf(built.path)).toEqual([])
  })

  it('every host builtin is imported from the host, so the engine must provide it', async () => {
    const hosted = callable('host')
    const built = await policyCalling(hosted)
    expect((await hostImportsOf(built.path)).sort()).toEqual([...hosted].sort())
  })

  it('a policy calling a builtin outside the table fails at build time, naming it', async () => {
    const failure = buildPolicy({
      rego: {
        'policy.rego':
          'package mcp\n\ndecision := {"allow": true, "reasons": [], "r": http.send({"method": "GET", "url": input.u})}\n',
      },
    })
    await expect(failure).rejects.toMatchObject({ code: 'ERR_BUILD_UNSUPPORTED_BUILTIN' })
    await expect(failure).rejects.toThrow(/http\.send/)
  })

  it('a call to an undefined user function is a build failure, not an unsupported builtin', async () => {
    const failure = buildPolicy({ rego: { 'policy.rego': 'package mcp\n\ndecision := my_helper(input)\n' } })
    await expect(failure).rejects.toMatchObject({ code: 'ERR_BUILD_FAILED' })
  })
})
