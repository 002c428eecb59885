import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { McpPolicyError } from '../errors.js'
import { packageRoot } from '../package-root.js'
import { runOpa } from '../toolchain/opa.js'

/** What {@link checkPolicy} found: files `opa fmt` would change, and `opa check` errors. */
export interface PolicyCheck {
  unformatted: string[]
  /** OPA's `check` output when the policies do not compile or type-check; undefined when clean. */
  errors?: string
}

/**
 * `mcp-policy check`: `opa fmt --list` (style) and `opa check --strict --schema` against input
 * document v1 (a policy reading a field the input cannot have is an error, not a silent deny).
 *
 * @example
 * ```ts
 * const { unformatted, errors } = await checkPolicy(await resolveOpa(), { regoDir: 'rego' })
 * ```
 */
export async function checkPolicy(
  opa: string,
  options: { regoDir: string; schema?: string },
): Promise<PolicyCheck> {
  const schema = options.schema ?? join(packageRoot(), 'rego', 'schemas', 'input.json')
  if (!existsSync(schema)) throw new McpPolicyError('ERR_CLI_USAGE', `schema ${schema} does not exist`)
  if (!existsSync(options.regoDir))
    throw new McpPolicyError('ERR_CLI_USAGE', `policy directory ${options.regoDir} does not exist`)
  let unformatted: string[]
  try {
    const { stdout } = await runOpa(opa, ['fmt', '--list', options.regoDir])
    unformatted = stdout.split('\n').filter((line) => line.trim() !== '')
  } catch (err) {
    // `opa fmt` fails on a file it cannot parse: that is a finding (exit 1), reported as such.
    if (!(err instanceof McpPolicyError) || err.code !== 'ERR_TOOLCHAIN_OPA_FAILED') throw err
    return { unformatted: [], errors: err.message.replace(/^opa fmt failed: /, '') }
  }
  try {
    await runOpa(opa, ['check', '--strict', '--schema', schema, options.regoDir])
    return { unformatted }
  } catch (err) {
    if (!(err instanceof McpPolicyError) || err.code !== 'ERR_TOOLCHAIN_OPA_FAILED') throw err
    return { unformatted, errors: err.message.replace(/^opa check failed: /, '') }
  }
}
