import { builtinTable } from '../engine/builtins/builtin-table.js'
import { McpPolicyError } from '../errors.js'
import { runOpa } from '../toolchain/opa.js'
import { OPA_VERSION } from '../toolchain/opa-version.js'

/**
 * The parts of an OPA capabilities document this project reads.
 *
 * @internal
 */
export interface OpaCapabilities {
  builtins: { name: string; [key: string]: unknown }[]
  [key: string]: unknown
}

/**
 * OPA's capabilities for the pinned version, narrowed to the builtins this engine implements
 * (`builtinTable`). Passed to `opa build`, it makes a policy that calls anything else fail at build
 * time instead of at decision time.
 *
 * @internal
 *
 * @example
 * ```ts
 * const caps = await engineCapabilities(await resolveOpa())
 * await writeFile('capabilities.json', JSON.stringify(caps))
 * ```
 */
export async function engineCapabilities(opa: string): Promise<OpaCapabilities> {
  return narrowToEngine(await opaCapabilities(opa))
}

/** OPA's full capabilities document for the pinned version (every builtin OPA knows). */
export async function opaCapabilities(opa: string): Promise<OpaCapabilities> {
  const { stdout } = await runOpa(opa, ['capabilities', '--version', `v${OPA_VERSION}`])
  return JSON.parse(stdout) as OpaCapabilities
}

/** Narrows OPA's capabilities to the engine's builtin table. */
export function narrowToEngine(all: OpaCapabilities): OpaCapabilities {
  const builtins = all.builtins.filter((b) => builtinTable.has(b.name))
  const known = new Set(all.builtins.map((b) => b.name))
  const unknown = [...builtinTable.keys()].filter((name) => !known.has(name))
  if (unknown.length > 0) {
    // Our table naming a builtin OPA does not know means the table was written for another OPA.
    throw new McpPolicyError(
      'ERR_TOOLCHAIN_OPA_FAILED',
      `OPA v${OPA_VERSION} does not know the builtins ${unknown.join(', ')} listed by the engine`,
    )
  }
  return { ...all, builtins }
}
