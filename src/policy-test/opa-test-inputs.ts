import { cp, mkdir, mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

/**
 * Copies what the WebAssembly test harness compiles — every `.rego` under the policy directory,
 * and the bundle's `data.json` — into a fresh directory for `opa test`. Not the directories
 * themselves: `opa test` would also load their other JSON and YAML files (schemas, decision
 * cases) as data, which the harness never does. The caller removes the directory.
 * Internal: not exported from the package.
 *
 * @returns The directory, and where each policy file was copied from (`policy/<path>` → original).
 * @example
 * ```ts
 * const { dir } = await stageOpaTestInputs('rego', 'bundles/default')
 * await runOpa(opa, ['test', dir])
 * ```
 */
export async function stageOpaTestInputs(
  regoDir: string,
  bundleDir: string,
): Promise<{ dir: string; policyDir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-opa-test-'))
  const policyDir = join(dir, 'policy')
  for (const entry of await readdir(regoDir, { recursive: true })) {
    if (!entry.endsWith('.rego')) continue
    await mkdir(dirname(join(policyDir, entry)), { recursive: true })
    await cp(join(regoDir, entry), join(policyDir, entry))
  }
  await cp(join(bundleDir, 'data.json'), join(dir, 'data.json')).catch(() => undefined)
  return { dir, policyDir }
}
